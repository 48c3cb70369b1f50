// SnapshotSync's repository copy (sync.repository.copy): rsync from the
// active cluster's repository into the passive cluster's, in the order
// copy_plan.hpp decides (blobs, root files, verification), then the
// snapshot as the passive cluster reads it. Runs rsync as a child process
// (child_process.hpp): the io_context thread never waits for it.
#include <spdlog/spdlog.h>

#include "sync/copy_plan.hpp"
#include "sync/internal.hpp"

namespace haes {

namespace asio = boost::asio;

asio::awaitable<Result<sync::RsyncStats>> SnapshotSync::run_rsync(CopyPhase phase, sync::CopyRoute route) {
  const auto& c = *sync_.repository.copy;
  std::vector<std::string> argv = sync::rsync_argv(c, phase, route);
  spdlog::debug("sync: rsync {} phase: {} -> {}", to_string(phase), route.from, route.to);
  // Named, not temporaries in the co_await (GCC 12).
  boost::asio::any_io_executor ex = io_.get_executor();
  auto out = co_await sync::run_child(ex, std::move(argv), c.timeout, &children_);
  if (stopping_) {
    co_return cancelled("copying the repository (" + std::string(to_string(phase)) + " phase)");
  }
  if (!out.started) {
    co_return Error{ErrorCode::kCopyFailed, "copying the repository from " + route.from_cluster + " to " +
                                                route.to_cluster + ": " + out.output +
                                                " (sync.repository.copy.rsync_command); nothing restored"};
  }
  if (!out.ok()) {
    co_return Error{ErrorCode::kCopyFailed,
                    sync::rsync_failure(phase, route, out.exit_code, out.signal, out.timed_out, out.output)};
  }
  auto stats = sync::parse_rsync_stats(out.output);
  spdlog::info("sync: rsync {} phase {} -> {}: {} file(s), {} byte(s), {} deleted, in {}", to_string(phase),
               route.from_cluster, route.to_cluster, stats.files, stats.bytes, stats.deleted,
               format_duration(out.took));
  co_return stats;
}

asio::awaitable<Result<void>> SnapshotSync::copy_repository(sync::Plan p, std::string snapshot) {
  const auto started = std::chrono::steady_clock::now();
  auto route = sync::copy_route(p, *sync_.repository.copy);
  if (!route) {
    co_return route.error();
  }
  if (!status_.copy) {
    status_.copy.emplace();
  }
  CopyStatus& cs = *status_.copy;
  cs.from = route->from_cluster;
  cs.to = route->to_cluster;
  cs.last_at = now_sys();
  cs.last_bytes = 0;
  cs.last_files = 0;
  auto failed = [&](const Error& e) {
    cs.last_error = e.message;
    cs.last_took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
    stats_.copy_runs.inc(SyncResult::kFailed);
  };
  // Blobs first, root files last: see copy_plan.hpp.
  for (CopyPhase phase : {CopyPhase::kBlobs, CopyPhase::kRoot}) {
    step("copying the repository from " + route->from_cluster + " to " + route->to_cluster + " (" +
         std::string(to_string(phase)) + ")");
    auto s = co_await run_rsync(phase, *route);
    if (!s) {
      failed(s.error());
      co_return s.error();
    }
    cs.last_bytes += s->bytes;
    cs.last_files += s->files;
    stats_.copy_bytes.inc(s->bytes);
    stats_.copy_files.inc(s->files);
  }
  step("verifying the copy on " + route->to_cluster);
  auto v = co_await run_rsync(CopyPhase::kVerify, *route);
  if (!v) {
    failed(v.error());
    co_return v.error();
  }
  if (auto j = sync::judge_verify(*v, *route); !j) {
    failed(j.error());
    co_return j.error();
  }
  // The snapshot as the passive cluster reads it (its snap-*.dat and the
  // root that names it must both be there).
  const sync::Read rd{p.target, "reading the copied snapshot " + snapshot,
                      "/_snapshot/" + sync_.repository.name + "/" + snapshot};
  auto a = co_await read(rd);
  if (auto j = sync::judge_copied_snapshot(a, snapshot, *route); !j) {
    failed(j.error());
    co_return j.error();
  }
  cs.last_error.clear();
  cs.last_took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
  stats_.copy_runs.inc(SyncResult::kOk);
  co_return Ok{};
}

asio::awaitable<void> SnapshotSync::copy_after_retention(sync::Plan p) {
  auto route = sync::copy_route(p, *sync_.repository.copy);
  if (!route) {
    co_return;
  }
  // Retention wrote a new root at the source: carry it (blobs first, as
  // always), then delete at the target what that root no longer names. The
  // passive cluster has finished restoring; the last synced snapshot is
  // never a retention victim.
  for (CopyPhase phase : {CopyPhase::kBlobs, CopyPhase::kRoot, CopyPhase::kPrune}) {
    step("copying the repository from " + route->from_cluster + " to " + route->to_cluster + " after retention (" +
         std::string(to_string(phase)) + ")");
    auto s = co_await run_rsync(phase, *route);
    if (!s) {
      spdlog::warn("sync: {} (after retention; the next sync copies again)", s.error().message);
      stats_.copy_runs.inc(SyncResult::kFailed);
      co_return;
    }
    stats_.copy_bytes.inc(s->bytes);
    stats_.copy_files.inc(s->files);
    if (status_.copy && phase == CopyPhase::kPrune) {
      status_.copy->last_deleted = s->deleted;
    }
  }
}

}  // namespace haes
