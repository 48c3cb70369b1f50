#include "hooks/hook_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <vector>

#include <spdlog/spdlog.h>

extern char** environ;

namespace haes {

HookResult result_of(const HookOutcome& o) {
  if (o.timed_out) {
    return HookResult::kTimeout;
  }
  return o.exit_code == 0 ? HookResult::kOk : HookResult::kFailed;
}
namespace {

constexpr size_t kMaxOutput = 4096;

std::vector<std::string> hook_environment(const RoleChange& c) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "HAES_", 5) != 0) {
      env.emplace_back(*e);
    }
  }
  env.push_back("HAES_EVENT=" + std::string(to_string(c.transition)));
  env.push_back("HAES_OLD_ACTIVE=" + c.old_active);
  env.push_back("HAES_NEW_ACTIVE=" + c.new_active);
  env.push_back("HAES_EPOCH=" + std::to_string(c.epoch));
  env.push_back("HAES_REASON=" + c.reason);
  env.push_back("HAES_CHANGED_BY=" + c.changed_by);
  return env;
}

int64_t ms_left(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? left.count() : 0;
}

void record_exit(int status, HookOutcome& out) {
  if (WIFEXITED(status)) {
    out.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
  }
}

}  // namespace

HookRunner::HookRunner(std::string command, Duration timeout, DoneFn on_done)
    : command_(std::move(command)), timeout_(timeout), on_done_(std::move(on_done)) {
  if (!command_.empty()) {
    worker_ = std::thread([this] { run(); });
  }
}

HookRunner::~HookRunner() {
  if (!worker_.joinable()) {
    return;
  }
  queue_.lock()->stopping = true;
  wake_.notify_all();
  worker_.join();
}

void HookRunner::submit(RoleChange change) {
  if (command_.empty()) {
    return;
  }
  queue_.lock()->items.push_back(std::move(change));
  wake_.notify_all();
}

void HookRunner::run() {
  for (;;) {
    RoleChange change;
    {
      auto q = queue_.lock();
      wake_.wait(q.unique_lock(), [&] { return q->stopping || !q->items.empty(); });
      if (q->items.empty()) {
        return;  // stopping, and nothing left to run
      }
      change = std::move(q->items.front());
      q->items.pop_front();
    }
    HookOutcome out = execute(change);
    stats_.runs.inc(result_of(out));
    if (!out.started) {
      spdlog::error("on_role_change hook could not start for epoch {}: {}", change.epoch, out.output);
    } else if (out.timed_out) {
      spdlog::error("on_role_change hook killed after {} (epoch {}); output: {}", format_duration(timeout_),
                    change.epoch, out.output);
    } else if (out.exit_code != 0) {
      spdlog::error("on_role_change hook failed for epoch {}: exit {} signal {}; output: {}", change.epoch,
                    out.exit_code, out.signal, out.output);
    } else {
      spdlog::info("on_role_change hook done for epoch {} in {}", change.epoch, format_duration(out.took));
    }
    if (on_done_) {
      on_done_(change, out);
    }
  }
}

HookOutcome HookRunner::execute(const RoleChange& change) const {
  HookOutcome out;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + timeout_;

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    out.output = std::string("pipe: ") + std::strerror(errno);
    return out;
  }
  std::vector<std::string> env = hook_environment(change);
  std::vector<char*> envp;
  for (auto& e : env) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = command_;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    out.output = std::string("posix_spawn /bin/sh: ") + std::strerror(rc);
    return out;
  }
  out.started = true;

  // Read output until EOF or the deadline.
  bool eof = false;
  char buf[1024];
  while (!eof) {
    pollfd p{fds[0], POLLIN, 0};
    int64_t left = ms_left(deadline);
    if (left == 0) {
      break;
    }
    int n = poll(&p, 1, static_cast<int>(left));
    if (n <= 0) {
      continue;  // timeout re-checked above; EINTR retried
    }
    ssize_t got = read(fds[0], buf, sizeof buf);
    if (got <= 0) {
      eof = true;
    } else if (out.output.size() < kMaxOutput) {
      out.output.append(buf, std::min<size_t>(static_cast<size_t>(got), kMaxOutput - out.output.size()));
    }
  }
  close(fds[0]);

  // Wait for it to exit, at most until the deadline. waitid(WNOWAIT) leaves
  // the leader a zombie, so its process-group id cannot be reused while we
  // kill what the hook left running in its group; then reap it.
  for (;;) {
    siginfo_t info{};
    int r = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    bool exited = r == 0 && info.si_pid == pid;
    if (!exited && ms_left(deadline) > 0) {
      poll(nullptr, 0, 5);
      continue;
    }
    out.timed_out = !exited;
    kill(-pid, SIGKILL);
    int status = 0;
    if (waitpid(pid, &status, 0) == pid) {
      record_exit(status, out);
    }
    break;
  }
  out.took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start);
  while (!out.output.empty() && (out.output.back() == '\n' || out.output.back() == '\r')) {
    out.output.pop_back();
  }
  return out;
}

}  // namespace haes
