#include "sync/copy_plan.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <vector>

namespace haes::sync {

namespace {

std::string with_slash(const std::string& s) { return !s.empty() && s.back() == '/' ? s : s + "/"; }

// The number after `label` in rsync's --stats block; digits only (rsync
// groups thousands with ',' or '.', depending on its version and locale).
bool number_after(std::string_view out, std::string_view label, uint64_t& value) {
  const size_t at = out.find(label);
  if (at == std::string_view::npos) {
    return false;
  }
  size_t i = at + label.size();
  while (i < out.size() && out[i] == ' ') {
    ++i;
  }
  uint64_t v = 0;
  bool any = false;
  for (; i < out.size() && (std::isdigit(static_cast<unsigned char>(out[i])) || out[i] == ',' || out[i] == '.'); ++i) {
    if (std::isdigit(static_cast<unsigned char>(out[i]))) {
      v = v * 10 + static_cast<uint64_t>(out[i] - '0');
      any = true;
    }
  }
  if (any) {
    value = v;
  }
  return any;
}

// rsync(1) "EXIT VALUES".
std::string_view exit_meaning(int code) {
  switch (code) {
    case 1: return "syntax or usage error";
    case 2: return "protocol incompatibility";
    case 3: return "errors selecting input/output files, dirs";
    case 5: return "error starting client-server protocol";
    case 10: return "error in socket I/O";
    case 11: return "error in file I/O";
    case 12: return "error in rsync protocol data stream";
    case 20: return "received SIGUSR1 or SIGINT";
    case 23: return "partial transfer due to error";
    case 24: return "partial transfer due to vanished source files";
    case 30: return "timeout in data send/receive";
    case 35: return "timeout waiting for daemon connection";
    case 127: return "the program was not found or could not be run";
    case 255: return "the remote shell failed (ssh: host unreachable, authentication refused?)";
    default: return "";
  }
}

// What went wrong, from rsync's output: its last two lines that are not
// its generic trailers ("rsync error: … (code N) at …", "rsync: connection
// unexpectedly closed …"), which follow the real reason — the remote
// shell's ("Host key verification failed.", "Connection refused") or
// rsync's own ("rsync: [sender] change_dir … failed: No such file …").
// --stats' lines are skipped too. The last line when every line is generic.
std::string failure_reason(std::string_view out) {
  std::vector<std::string_view> lines;
  std::string_view last;
  while (!out.empty()) {
    const size_t nl = out.find('\n');
    std::string_view line = out.substr(0, nl);
    out = nl == std::string_view::npos ? std::string_view() : out.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
      line.remove_suffix(1);
    }
    if (line.empty() || line.find_first_not_of('@') == std::string_view::npos) {
      continue;
    }
    last = line;
    if (line.starts_with("rsync error:") || line.starts_with("rsync: connection unexpectedly closed")) {
      continue;
    }
    // --stats' report, printed before the trailer when files were sent.
    static constexpr std::string_view kStats[] = {
        "Number of ", "Total ", "Literal data:", "Matched data:", "File list ", "sent ", "total size is "};
    if (std::any_of(std::begin(kStats), std::end(kStats), [&](std::string_view p) { return line.starts_with(p); })) {
      continue;
    }
    lines.push_back(line);
  }
  if (lines.empty()) {
    return std::string(last);
  }
  std::string r;
  for (size_t i = lines.size() > 2 ? lines.size() - 2 : 0; i < lines.size(); ++i) {
    r += (r.empty() ? "" : " / ") + std::string(lines[i]);
  }
  return r;
}

}  // namespace

std::vector<SyncStep> sync_steps(bool copy) {
  if (!copy) {
    return {SyncStep::kSnapshot, SyncStep::kRestore, SyncStep::kRecordPoint, SyncStep::kRetention};
  }
  return {SyncStep::kSnapshot, SyncStep::kCopyBlobs,   SyncStep::kCopyRoot,  SyncStep::kVerifyCopy,
          SyncStep::kRestore,  SyncStep::kRecordPoint, SyncStep::kRetention, SyncStep::kCopyAfterRetention,
          SyncStep::kPrune};
}

Result<CopyRoute> copy_route(const Plan& p, const RepositoryCopyConfig& c) {
  auto from = c.locations.find(p.source);
  auto to = c.locations.find(p.target);
  if (from == c.locations.end() || to == c.locations.end()) {
    return Error{ErrorCode::kConfig, "sync.repository.copy.locations has no entry for " +
                                         (from == c.locations.end() ? p.source : p.target)};
  }
  return CopyRoute{p.source, p.target, with_slash(from->second), with_slash(to->second)};
}

std::string remote_shell(const RepositoryCopyConfig& c, const CopyRoute& r) {
  const bool remote = r.from.front() != '/' || r.to.front() != '/';
  if (!remote || c.io_timeout <= Duration::zero()) {
    return c.ssh_command;
  }
  const std::string shell = c.ssh_command.empty() ? std::string("ssh") : c.ssh_command;
  const std::string program = shell.substr(0, shell.find_first_of(" \t"));
  const auto slash = program.rfind('/');
  if ((slash == std::string::npos ? program : program.substr(slash + 1)) != "ssh") {
    return c.ssh_command;  // a wrapper: its keepalive is its own business (docs/sync.md)
  }
  const auto interval = std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(c.io_timeout / 3).count());
  return shell + " -o ServerAliveInterval=" + std::to_string(interval) + " -o ServerAliveCountMax=3";
}

std::vector<std::string> rsync_argv(const RepositoryCopyConfig& c, CopyPhase phase, const CopyRoute& r) {
  // -r -l -t: directories, symlinks as links, modification times (the quick
  // check of the blob phase compares size and time); -p: permissions. No -o
  // -g: files belong to whoever rsync writes as on the target (it must be
  // readable by the target's Elasticsearch).
  std::vector<std::string> a{c.rsync_command, "-rltp", "--stats", "--partial-dir=" + std::string(kPartialDir)};
  if (auto shell = remote_shell(c, r); !shell.empty()) {
    a.insert(a.end(), {"-e", std::move(shell)});
  }
  if (c.bandwidth_limit > 0) {
    a.push_back("--bwlimit=" + std::to_string(c.bandwidth_limit));
  }
  if (c.io_timeout > Duration::zero()) {
    // rsync counts whole seconds; 1500ms waits 2 s, never less than asked.
    const auto secs = std::chrono::ceil<std::chrono::seconds>(c.io_timeout).count();
    a.push_back("--timeout=" + std::to_string(secs));
  }
  // Anchored at the repository's top: shard-level index-* files
  // (indices/<id>/<shard>/index-*) are immutable blobs.
  const std::vector<std::string> only_root{"--include=/index-*", "--include=/index.latest", "--exclude=*"};
  switch (phase) {
    case CopyPhase::kBlobs: a.insert(a.end(), {"--exclude=/index-*", "--exclude=/index.latest"}); break;
    case CopyPhase::kRoot:
      a.insert(a.end(), {"--checksum", "--delete-after"});
      a.insert(a.end(), only_root.begin(), only_root.end());
      break;
    case CopyPhase::kVerify:
      a.insert(a.end(), {"--checksum", "--delete-after", "--dry-run"});
      a.insert(a.end(), only_root.begin(), only_root.end());
      break;
    case CopyPhase::kPrune: a.insert(a.end(), {"--delete-after", "--existing", "--ignore-existing"}); break;
  }
  a.push_back(r.from);
  a.push_back(r.to);
  return a;
}

RsyncStats parse_rsync_stats(std::string_view output) {
  RsyncStats s;
  s.found = number_after(output, "Number of regular files transferred:", s.files);
  s.found = number_after(output, "Total transferred file size:", s.bytes) && s.found;
  number_after(output, "Number of deleted files:", s.deleted);
  return s;
}

std::string rsync_failure(CopyPhase phase, const CopyRoute& r, int exit_code, int signal, bool timed_out,
                          std::string_view output) {
  std::string m = "copying the repository from " + r.from_cluster + " to " + r.to_cluster + " (" +
                  std::string(to_string(phase)) + " phase, " + r.from + " -> " + r.to + "): rsync ";
  if (timed_out) {
    m += "killed after sync.repository.copy.timeout";
  } else if (signal != 0) {
    m += "killed by signal " + std::to_string(signal);
  } else {
    m += "exited with " + std::to_string(exit_code);
    const auto meaning = exit_meaning(exit_code);
    if (!meaning.empty()) {
      m += " (" + std::string(meaning) + ")";
    }
  }
  const std::string why = failure_reason(output);
  if (!why.empty()) {
    m += ": " + why;
  }
  return m + "; nothing restored (" + r.to_cluster +
         "'s repository names only snapshots whose files are all there; the next sync resumes the copy)";
}

Result<void> judge_verify(const RsyncStats& s, const CopyRoute& r) {
  if (!s.found) {
    return Error{ErrorCode::kCopyFailed,
                 "verifying the copy to " + r.to_cluster + ": rsync printed no --stats report; nothing restored"};
  }
  if (s.files != 0 || s.deleted != 0) {
    return Error{ErrorCode::kCopyFailed,
                 "verifying the copy to " + r.to_cluster + ": the root files (index-N, index.latest) at " + r.to +
                     " differ from " + r.from_cluster + "'s (" + std::to_string(s.files) + " to send, " +
                     std::to_string(s.deleted) +
                     " to delete): the source changed during the copy, or something else writes the target; "
                     "nothing restored"};
  }
  return Ok{};
}

Result<void> judge_copied_snapshot(const Answer& a, const std::string& snapshot, const CopyRoute& r) {
  if (!a.ok()) {
    Error e = es_error("reading snapshot " + snapshot + " on " + r.to_cluster + " after the copy", a);
    e.code = ErrorCode::kCopyFailed;
    e.message += " (its repository copy is incomplete?); nothing restored";
    return e;
  }
  const json& list = at(a.body, "snapshots");
  const json& first = list.is_array() && !list.empty() ? list[0] : json();
  const std::string state = string_at(first, "state");
  if (string_at(first, "snapshot") != snapshot || state != "SUCCESS") {
    return Error{ErrorCode::kCopyFailed, "snapshot " + snapshot + " as " + r.to_cluster +
                                             " reads it after the copy is " + (state.empty() ? "missing" : state) +
                                             ": nothing restored"};
  }
  return Ok{};
}

}  // namespace haes::sync
