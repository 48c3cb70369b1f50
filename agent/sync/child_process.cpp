#include "sync/child_process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace haes::sync {

namespace asio = boost::asio;

namespace {

constexpr size_t kMaxOutput = size_t{32} * 1024;

// The program's path: argv0 itself when it holds a '/', else the first
// executable PATH entry; "" when there is none.
std::string resolve(const std::string& argv0) {
  if (argv0.find('/') != std::string::npos) {
    return argv0;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  for (;;) {
    const size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + argv0;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string::npos) {
      return "";
    }
    start = colon + 1;
  }
}

void keep_tail(std::string& out, const char* data, size_t n) {
  out.append(data, n);
  if (out.size() > kMaxOutput) {
    out.erase(0, out.size() - kMaxOutput);
  }
}

}  // namespace

void Children::kill_all() const {
  for (pid_t pid : pids_) {
    ::kill(-pid, SIGTERM);
  }
}

asio::awaitable<ChildOutcome> run_child(asio::any_io_executor ex, std::vector<std::string> argv, Duration timeout,
                                        Children* children) {
  ChildOutcome out;
  const auto start = std::chrono::steady_clock::now();
  const std::string program = argv.empty() ? std::string() : resolve(argv[0]);
  if (program.empty()) {
    out.output = "cannot run \"" + (argv.empty() ? std::string() : argv[0]) + "\": not found in PATH";
    co_return out;
  }
  if (::access(program.c_str(), X_OK) != 0) {
    out.output = "cannot run \"" + program + "\": " + std::strerror(errno);
    co_return out;
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    out.output = std::string("pipe: ") + std::strerror(errno);
    co_return out;
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (auto& a : argv) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    out.output = std::string("fork: ") + std::strerror(err);
    co_return out;
  }
  if (pid == 0) {
    // The child: async-signal-safe calls only, then exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);  // the agent died before prctl
    }
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
    }
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::execv(program.c_str(), args.data());
    static const char kMsg[] = "exec failed\n";
    (void)!::write(2, kMsg, sizeof kMsg - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no race with the kill below
  ::close(fds[1]);
  out.started = true;
  if (children) {
    children->add(pid);
  }

  // The deadline: SIGTERM to the group, SIGKILL 2 s later (rsync saves its
  // partial files on SIGTERM).
  auto alive = std::make_shared<bool>(true);
  auto timed_out = std::make_shared<bool>(false);
  asio::steady_timer deadline(ex, timeout);
  std::function<void(const boost::system::error_code&)> on_deadline;
  on_deadline = [pid, alive, timed_out, &deadline, &on_deadline](const boost::system::error_code& ec) {
    if (ec || !*alive) {
      return;
    }
    ::kill(-pid, *timed_out ? SIGKILL : SIGTERM);
    if (!*timed_out) {
      *timed_out = true;
      deadline.expires_after(std::chrono::seconds(2));
      deadline.async_wait(on_deadline);
    }
  };
  deadline.async_wait(on_deadline);

  asio::posix::stream_descriptor pipe(ex, fds[0]);
  char buf[4096];
  for (;;) {
    boost::system::error_code ec;
    const size_t n = co_await pipe.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (n > 0) {
      keep_tail(out.output, buf, n);
    }
    if (ec) {
      break;  // EOF: every writer closed the pipe (or an error: stop reading)
    }
  }
  pipe.close();

  // Reap it. The output closed: it is exiting (a grandchild holding the
  // pipe would have kept us reading). waitid(WNOWAIT) leaves it a zombie, so
  // its group id cannot be reused while we kill what it left in its group
  // (ssh); then it is reaped. Bounded: after 10 s the group is killed.
  asio::steady_timer poll(ex);
  for (int i = 0;; ++i) {
    siginfo_t info{};
    const int r = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if ((r == 0 && info.si_pid == pid) || (r < 0 && errno != EINTR)) {
      break;
    }
    if (i == 1000) {
      ::kill(-pid, SIGKILL);
    }
    poll.expires_after(std::chrono::milliseconds(i < 50 ? 2 : 10));
    boost::system::error_code ec;
    co_await poll.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  *alive = false;
  deadline.cancel();
  ::kill(-pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (children) {
    children->remove(pid);
  }
  out.timed_out = *timed_out;
  if (WIFEXITED(status)) {
    out.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
  }
  out.took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start);
  co_return out;
}

}  // namespace haes::sync
