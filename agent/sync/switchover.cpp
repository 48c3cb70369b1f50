// SnapshotSync: the planned switchover without loss, and the recovery of one
// interrupted by an agent restart.
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include "sync/internal.hpp"
#include "sync/naming.hpp"

namespace haes {

namespace asio = boost::asio;
using nlohmann::json;

asio::awaitable<Result<std::string>> SnapshotSync::planned_switch(std::string target, Transition kind_t,
                                                                  std::string actor, std::string reason, bool dry_run) {
  const std::string kind(to_string(kind_t));
  const SyncOperation op = kind_t == Transition::kFailback ? SyncOperation::kFailback : SyncOperation::kSwitchover;
  // The refusals that waiting would not change come first.
  auto refusal = [&]() -> std::optional<Error> {
    if (auto h = sync::hold_refusal(state().sync_hold)) {
      return Error{h->code, kind + " refused: its final sync is needed and " + h->message};
    }
    const State& s = state();
    if (s.active == target) {
      return Error{ErrorCode::kAlreadyActive, target + " is already active (epoch " + std::to_string(s.epoch) + ")"};
    }
    return std::nullopt;
  };
  auto planned = [&]() -> Result<sync::Plan> {
    auto plan = make_plan(target, sync::RedTarget::kRefuse);
    if (!plan) {
      return Error{plan.error().code, kind + " refused: " + plan.error().message +
                                          (plan.error().code == ErrorCode::kSourceUnhealthy
                                               ? " (a planned move needs a healthy active cluster; in an "
                                                 "emergency: haesctl failover --to " +
                                                     target + ")"
                                               : "")};
    }
    return plan;
  };
  if (auto e = refusal()) {
    co_return *e;
  }
  if (dry_run) {
    auto plan = planned();
    if (!plan) {
      co_return plan.error();
    }
    const sync::Plan& p = *plan;
    std::string wait =
        busy_ ? "wait for the running " + std::string(to_string(status_.operation)) + " (" + step_ + ") to end, then "
              : "";
    co_return "dry run: would " + wait + "block writes on " + p.source + ", take a final snapshot, restore it on " +
        p.target + ", lift the write block on " + p.target + ", make " + p.target + " active (epoch " +
        std::to_string(p.epoch + 1) + "); " + p.source +
        " would become passive with writes blocked until the next sync";
  }
  const std::string who = kind + " to " + target + " by " + actor;
  auto waited = co_await wait_idle(op, who);
  if (!waited) {
    co_return waited.error();
  }
  Busy busy(*this, op);
  // The state may have moved while this waited.
  if (auto e = refusal()) {
    co_return *e;
  }
  auto plan = planned();
  if (!plan) {
    co_return plan.error();
  }
  const sync::Plan p = *plan;
  auto r = co_await run_planned_switch(p, kind_t, actor, reason);
  if (r && !waited->empty()) {
    co_return *waited + "\n" + *r;
  }
  co_return r;
}

asio::awaitable<Result<std::string>> SnapshotSync::run_planned_switch(sync::Plan p, Transition kind_t,
                                                                      std::string actor, std::string reason) {
  const std::string kind(to_string(kind_t));
  const SyncOperation op = kind_t == Transition::kFailback ? SyncOperation::kFailback : SyncOperation::kSwitchover;
  status_.last_attempt_at = now_sys();
  guard_for(p);
  if (auto r = co_await ensure_repositories(p); !r) {
    Error e{r.error().code, kind + " to " + p.target + " not started: " + r.error().message};
    co_await fail(op, actor, e);
    co_return e;
  }
  // Stored before the block, so that a restarted agent can undo it.
  const WriteBlock block{p.source, now_sys(), actor};
  if (auto m = co_await mark_write_block(block); !m) {
    Error e{m.error().code, kind + " to " + p.target + " not started: " + m.error().message};
    co_await fail(op, actor, e);
    co_return e;
  }
  // From here on, any failure unblocks the active cluster before returning.
  step("blocking writes on " + p.source);
  const auto blocked_at = std::chrono::steady_clock::now();
  spdlog::warn("{}: writes on {} are blocked from now until {} takes over", kind, p.source, p.target);
  if (auto r = co_await set_write_block(p.source, true); !r) {
    Error e = r.error();
    co_return co_await rollback(p, kind_t, actor, e);
  }
  const SysTime started_at = now_sys();
  const std::string name = sync::snapshot_name(p.epoch, started_at, p.source);
  auto info = co_await take_snapshot(p, name);
  if (!info) {
    Error e = info.error();
    co_return co_await rollback(p, kind_t, actor, e);
  }
  std::vector<std::string> indices = sync::string_list(sync::at(*info, "indices"));
  if (copying()) {
    if (auto r = co_await copy_repository(p, name); !r) {
      Error e = r.error();
      co_return co_await rollback(p, kind_t, actor, e);
    }
  }
  if (auto r = co_await restore(p, name, indices, /*write_block=*/false); !r) {
    Error e = r.error();
    co_return co_await rollback(p, kind_t, actor, e);
  }
  // The restore carried the source's write block (an index setting); lift
  // it on the target explicitly too, before it takes traffic.
  step("lifting the write block on " + p.target);
  if (auto r = co_await set_write_block(p.target, false); !r) {
    Error e = r.error();
    co_return co_await rollback(p, kind_t, actor, e);
  }
  // Not an ES write, but the same rule: roles and hold as planned.
  const sync::WriteIntent switching{SyncWrite::kRepository, p.target, "switching roles"};
  if (auto refused = guard().check(switching)) {
    Error e = *refused;
    co_return co_await rollback(p, kind_t, actor, e);
  }
  step("switching roles to " + p.target);
  auto sw = co_await switch_roles(p.target, kind_t, actor, reason);
  if (!sw) {
    Error e = sw.error();
    co_return co_await rollback(p, kind_t, actor, e);
  }
  const auto window = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - blocked_at);
  // The marker stays: the old active cluster, passive now, keeps its write
  // block until a sync replaces its indices (record_point clears it), or is
  // unblocked at once if it becomes active again before that (lift_if_active).
  status_.last_write_block = window;
  SyncPoint sp{name, p.source, p.target, p.epoch, started_at, now_sys()};
  (void)co_await record_point(sp, state().epoch);
  status_.last_result = SyncResult::kOk;
  status_.last_ok_at = now_sys();
  status_.last_error.clear();
  stats_.runs.inc(SyncResult::kOk);
  std::string msg = kind + " " + p.source + " -> " + p.target + " without loss: final snapshot " + name + " (" +
                    std::to_string(indices.size()) + " index(es)) restored on " + p.target +
                    "; writes were unavailable for " + format_duration(window) + "; " + p.source +
                    " is passive and keeps its write block until the next sync";
  spdlog::warn("{}", msg);
  const EventKind done = kind_t == Transition::kFailback ? EventKind::kFailbackSync : EventKind::kSwitchoverSync;
  co_await journal(done, state().epoch, actor, msg);
  co_return *sw + "\n" + msg;
}

asio::awaitable<Error> SnapshotSync::rollback(sync::Plan p, Transition kind_t, std::string actor, Error e) {
  const std::string kind(to_string(kind_t));
  const SyncOperation op = kind_t == Transition::kFailback ? SyncOperation::kFailback : SyncOperation::kSwitchover;
  std::string after;
  const State& s = state();
  if (s.active != p.source) {
    // Roles moved under the planned move (an emergency failover): the old
    // active cluster is passive now and keeps its block, as after a switchover.
    after = p.source + " is no longer active (active now " + (s.active.empty() ? "none" : s.active) +
            "): it keeps its write block until the next sync replaces its indices, or until it is active again";
  } else {
    step("rolling back: unblocking writes on " + p.source);
    auto u = co_await set_write_block(p.source, false);
    if (u) {
      const WriteBlock none;
      (void)co_await mark_write_block(none);  // else kept: retried at the next sync
      after = p.source + " stays active, its writes are unblocked";
    } else {
      after = p.source + " stays active, BUT UNBLOCKING ITS WRITES FAILED: " + u.error().message +
              (stopping_ ? " — the next start of the agent unblocks them (the write-block marker is kept)"
                         : " — retried at the next sync; or unblock by hand: PUT /<indices>/_settings "
                           "{\"index.blocks.write\": false}");
    }
  }
  Error out{e.code, kind + " to " + p.target + " rolled back: " + e.message + "; " + after};
  co_await fail(op, actor, out);
  co_return out;
}

void SnapshotSync::lift_if_active() {
  const WriteBlock& wb = state().write_block;
  if (lifting_ || busy_ || stopping_ || wb.cluster.empty() || wb.cluster != state().active) {
    return;
  }
  lifting_ = true;
  asio::co_spawn(
      io_,
      [this]() -> asio::awaitable<void> {
        co_await recover_write_block();
        lifting_ = false;
      },
      asio::detached);
}

asio::awaitable<void> SnapshotSync::recover_write_block() {
  const WriteBlock wb = state().write_block;
  if (wb.cluster.empty() || busy_ || !waiting_.empty() || stopping_) {
    co_return;
  }
  if (auto why = automatic_refused()) {
    spdlog::info(
        "sync: a write-block marker on {} stands; this agent may not run automatic work now ({}): the "
        "agent that may will lift it",
        wb.cluster, *why);
    co_return;
  }
  Busy busy(*this, SyncOperation::kSync);
  const uint64_t epoch = state().epoch;
  const std::string active = state().active;
  std::string msg;
  if (wb.cluster == active) {
    sync::Plan p;
    p.epoch = epoch;
    p.source = active;
    p.automatic = true;
    guard_for(p);
    step("unblocking writes on " + wb.cluster + " (left blocked by an interrupted planned switchover)");
    auto r = co_await set_write_block(wb.cluster, false);
    if (!r) {
      spdlog::error(
          "a planned switchover by {} blocked writes on {} at {} and did not end (agent restart?); "
          "unblocking them failed: {} — will retry; or unblock by hand",
          wb.by, wb.cluster, format_time(wb.since), r.error().message);
      co_return;
    }
    msg = wb.fence ? "writes on " + wb.cluster + " were blocked at " + format_time(wb.since) +
                         " when it was fenced; it is active again: writes unblocked"
                   : "a planned switchover by " + wb.by + " blocked writes on " + wb.cluster + " at " +
                         format_time(wb.since) + "; " + wb.cluster +
                         " is still active: writes unblocked (the switchover did not end: agent restarted or "
                         "crashed; or " +
                         wb.cluster + " became active again before a sync replaced its indices)";
  } else {
    co_return;  // passive: it keeps its block until a sync replaces its indices
  }
  const WriteBlock none;
  if (auto c = co_await mark_write_block(none); !c) {
    spdlog::error("clearing the write-block marker: {}", c.error().message);
    co_return;
  }
  spdlog::warn("{}", msg);
  const std::string actor = "sync";
  co_await journal(wb.fence ? EventKind::kUnfenceWrites : EventKind::kWriteBlockLifted, epoch, actor, msg);
}

}  // namespace haes
