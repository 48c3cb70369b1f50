// SnapshotSync: the planned switchover without loss, and the recovery of one
// interrupted by an agent restart.
#include "sync/snapshot_sync.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "sync/internal.hpp"
#include "sync/naming.hpp"

namespace haes {

namespace asio = boost::asio;
using nlohmann::json;
using namespace sync_detail;

asio::awaitable<Result<std::string>> SnapshotSync::planned_switch(std::string target, std::string kind,
                                                                  std::string actor, std::string reason,
                                                                  bool dry_run) {
  if (busy_) {
    co_return Error{"busy", "a " + status_.operation + " is running (" + status_.step + ", since " +
                                format_time(status_.step_since) + "); try again when it ends"};
  }
  if (auto h = held()) {
    co_return Error{h->code, kind + " refused: its final sync is needed and " + h->message};
  }
  const State& s0 = hooks_.state();
  if (s0.active == target) {
    co_return Error{"already_active", target + " is already active (epoch " + std::to_string(s0.epoch) + ")"};
  }
  auto plan = make_plan(target);
  if (!plan) {
    co_return Error{plan.error().code, kind + " refused: " + plan.error().message +
                                           (plan.error().code == "source_unhealthy"
                                                ? " (a planned move needs a healthy active cluster; in an "
                                                  "emergency: haesctl failover --to " + target + ")"
                                                : "")};
  }
  const Plan p = *plan;
  if (dry_run) {
    co_return "dry run: would block writes on " + p.source + ", take a final snapshot, restore it on " + p.target +
        ", lift the write block on " + p.target + ", make " + p.target + " active (epoch " +
        std::to_string(p.epoch + 1) + "); " + p.source + " would become passive with writes blocked until the next sync";
  }
  Busy busy(*this, kind);
  status_.last_attempt_at = now_sys();
  if (auto r = co_await ensure_repositories(p); !r) {
    Error e{r.error().code, kind + " to " + p.target + " not started: " + r.error().message};
    fail(kind, actor, e);
    co_return e;
  }
  // From here on, any failure unblocks the active cluster before returning.
  auto rollback = [&](Error e) -> asio::awaitable<Error> {
    step("rolling back: unblocking writes on " + p.source);
    auto u = co_await set_write_block(p.source, false);
    if (u) {
      (void)hooks_.mark_write_block(WriteBlock{});  // else kept: retried at the next sync
    }
    Error out{e.code, kind + " to " + p.target + " rolled back: " + e.message + "; " + p.source + " stays active, " +
                          (u ? "its writes are unblocked" : "BUT UNBLOCKING ITS WRITES FAILED: " + u.error().message +
                                                                 " — unblock by hand: PUT /<indices>/_settings "
                                                                 "{\"index.blocks.write\": false}")};
    fail(kind, actor, out);
    co_return out;
  };
  // Stored before the block, so that a restarted agent can undo it.
  if (auto m = hooks_.mark_write_block(WriteBlock{p.source, now_sys(), actor}); !m) {
    Error e{m.error().code, kind + " to " + p.target + " not started: " + m.error().message};
    fail(kind, actor, e);
    co_return e;
  }
  step("blocking writes on " + p.source);
  const auto blocked_at = std::chrono::steady_clock::now();
  spdlog::warn("{}: writes on {} are blocked from now until {} takes over", kind, p.source, p.target);
  if (auto r = co_await set_write_block(p.source, true); !r) {
    co_return co_await rollback(r.error());
  }
  const SysTime started_at = now_sys();
  const std::string name = sync::snapshot_name(p.epoch, started_at, p.source);
  auto info = co_await take_snapshot(p, name);
  if (!info) {
    co_return co_await rollback(info.error());
  }
  std::vector<std::string> indices = string_list(at(*info, "indices"));
  if (!still(p)) {
    co_return co_await rollback(roles_changed(p, "the restore"));
  }
  if (auto r = co_await restore(p, name, indices, /*unblock_writes=*/true); !r) {
    co_return co_await rollback(r.error());
  }
  // The restore carried the source's write block (an index setting); lift
  // it on the target explicitly too, before it takes traffic.
  step("lifting the write block on " + p.target);
  if (auto r = co_await set_write_block(p.target, false); !r) {
    co_return co_await rollback(r.error());
  }
  if (!still(p)) {
    co_return co_await rollback(roles_changed(p, "the switch"));
  }
  step("switching roles to " + p.target);
  auto sw = hooks_.switch_roles(p.target, kind, actor, reason);
  if (!sw) {
    co_return co_await rollback(sw.error());
  }
  const auto window = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - blocked_at);
  (void)hooks_.mark_write_block(WriteBlock{});
  status_.last_write_block = window;
  SyncPoint sp{name, p.source, p.target, p.epoch, started_at, now_sys()};
  (void)hooks_.record(sp, hooks_.state().epoch);
  status_.last_result = "ok";
  status_.last_ok_at = now_sys();
  status_.last_error.clear();
  ++status_.runs_ok;
  std::string msg = kind + " " + p.source + " -> " + p.target + " without loss: final snapshot " + name + " (" +
                    std::to_string(indices.size()) + " index(es)) restored on " + p.target +
                    "; writes were unavailable for " + format_duration(window) + "; " + p.source +
                    " is passive and keeps its write block until the next sync";
  spdlog::warn("{}", msg);
  hooks_.journal(Event{0, now_sys(), hooks_.state().epoch, kind + "_sync", actor, msg});
  co_return *sw + "\n" + msg;
}

asio::awaitable<void> SnapshotSync::recover_write_block() {
  const WriteBlock wb = hooks_.state().write_block;
  if (wb.cluster.empty() || busy_) {
    co_return;
  }
  const State& s = hooks_.state();
  std::string msg;
  if (wb.cluster == s.active) {
    auto r = co_await set_write_block(wb.cluster, false);
    if (!r) {
      spdlog::error("a planned switchover by {} blocked writes on {} at {} and did not end (agent restart?); "
                    "unblocking them failed: {} — will retry; or unblock by hand",
                    wb.by, wb.cluster, format_time(wb.since), r.error().message);
      co_return;
    }
    msg = "a planned switchover by " + wb.by + " blocked writes on " + wb.cluster + " at " + format_time(wb.since) +
          " and never ended (agent restarted or crashed); " + wb.cluster + " is still active: writes unblocked";
  } else {
    msg = "a planned switchover by " + wb.by + " from " + wb.cluster + " ended without clearing its marker; " +
          wb.cluster + " is passive and keeps its write block until the next sync";
  }
  if (auto c = hooks_.mark_write_block(WriteBlock{}); !c) {
    spdlog::error("clearing the write-block marker: {}", c.error().message);
    co_return;
  }
  spdlog::warn("{}", msg);
  hooks_.journal(Event{0, now_sys(), s.epoch, "write_block_lifted", "sync", msg});
}

}  // namespace haes
