// SnapshotSync: the schedule, waiting for the running operation, the plan,
// the agent's side (store, journal), one sync.
#include "sync/snapshot_sync.hpp"

#include <algorithm>

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

SnapshotSync::SnapshotSync(asio::io_context& ctx, const Config& config, SyncContext context)
    // Snapshot and restore calls may wait long (wait_for_completion): each
    // passes its own timeout; 30 s bounds the short calls.
    : io_(ctx),
      config_(config),
      sync_(*config.sync),
      ctx_(std::move(context)),
      es_(ctx.get_executor(), config, std::chrono::seconds(30)),
      wake_(ctx) {}

SnapshotSync::~SnapshotSync() {
  stop();
  if (busy_ || !waiting_.empty()) {
    // The agent runs its io_context dry after stop() and before destroying
    // components: an operation still here would outlive this object.
    spdlog::critical("sync: destroyed while a {} was still running", to_string(status_.operation));
  }
}

void SnapshotSync::start() {
  const auto& s = *config_.sync;
  spdlog::info("snapshot sync every {} through repository {} ({}), indices {}", format_duration(s.interval),
               s.repository.name, to_string(s.repository.type),
               s.indices.empty() ? "*" : s.indices.front() + (s.indices.size() > 1 ? ",..." : ""));
  asio::co_spawn(io_, loop(), asio::detached);
}

void SnapshotSync::stop() {
  if (stopping_) {
    return;
  }
  stopping_ = true;
  wake_.cancel();
  for (auto* t : sleepers_) {
    t->cancel();
  }
  for (auto& w : waiting_) {
    w.timer->cancel();
  }
  children_.kill_all();
  es_.shutdown();
}

Error SnapshotSync::cancelled(const std::string& what) const {
  return Error{ErrorCode::kCancelled, what + ": the agent is stopping"};
}

void SnapshotSync::step(std::string what) {
  spdlog::debug("sync: {}", what);
  step_ = std::move(what);
  status_.step_since = now_sys();
  refresh_step();
}

void SnapshotSync::refresh_step() {
  status_.waiting.clear();
  std::string note;
  for (const auto& w : waiting_) {
    status_.waiting.push_back(w.shown);
    note += (note.empty() ? "" : "; ") + w.shown.who + " since " + format_time(w.shown.since);
  }
  status_.step = step_.empty() || note.empty() ? step_ : step_ + " [waiting for it: " + note + "]";
}

asio::awaitable<void> SnapshotSync::sleep(Duration d) {
  if (stopping_) {
    co_return;
  }
  asio::steady_timer t(io_, d);
  sleepers_.push_back(&t);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  std::erase(sleepers_, &t);
}

asio::awaitable<void> SnapshotSync::loop() {
  // Let the monitor see both clusters before the first sync.
  const Duration first = std::max<Duration>(config_.failover.interval * 3, std::chrono::seconds(2));
  status_.next_at = now_sys() + first;
  wake_.expires_after(first);
  co_await recover_write_block();
  while (!stopping_) {
    boost::system::error_code ec;
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) {
      co_return;
    }
    Duration next = sync_.interval;
    const auto refused = automatic_refused();
    if (refused) {
      // Several agents: another runs the syncs. Look again soon, so that
      // this agent takes the schedule over within seconds if it leads.
      next = std::min<Duration>(sync_.interval, std::chrono::seconds(5));
    }
    if (refused && *refused != last_skip_) {
      spdlog::info("sync: scheduled syncs skipped: this agent may not run automatic work now ({})", *refused);
    }
    last_skip_ = refused.value_or("");
    const SyncPoint& point = state().last_sync;
    if (auto h = sync::hold_refusal(state().sync_hold)) {
      spdlog::info("sync: scheduled sync skipped: {}", h->message);
    } else if (refused) {
      // logged above when it changed
    } else if (ctx_.may_run_automatic && !point.snapshot.empty() && point.epoch == state().epoch &&
               now_sys() - point.finished_at < sync_.interval) {
      // Taking the schedule over from another agent that synced recently:
      // the next sync is due one interval after its last one.
      next = std::max<Duration>(sync_.interval - (now_sys() - point.finished_at), std::chrono::seconds(1));
      spdlog::info("sync: the last sync ({}) finished {} ago; the next is due in {}", point.snapshot,
                   format_duration(now_sys() - point.finished_at), format_duration(next));
    } else if (busy_ || !waiting_.empty()) {
      // An operator's operation (or the lifting of a stale write block)
      // runs, or waits to: it goes first, and the scheduled sync is tried
      // again shortly, not an interval later (a restarted agent's start-up
      // sync must not be lost to a collision).
      spdlog::info("sync: scheduled sync skipped: a {} is running or waiting; trying again in 2s",
                   to_string(status_.operation));
      next = std::min<Duration>(sync_.interval, std::chrono::seconds(2));
    } else {
      co_await recover_write_block();
      const std::string actor = "sync";
      bool ok = false;
      if (!busy_ && waiting_.empty() && !stopping_) {
        Busy busy(*this, SyncOperation::kSync);
        auto r = co_await run_sync(actor, true);
        ok = r.ok();
      }
      // Scheduled restore verification, after a successful sync.
      if (ok && sync_.verify_restore_interval.count() > 0 && !busy_ && waiting_.empty() && !stopping_ &&
          now_sys() - status_.last_verify_at >= sync_.verify_restore_interval) {
        Busy busy(*this, SyncOperation::kVerifyRestore);
        (void)co_await run_verify(actor, true);
      }
    }
    if (stopping_) {
      co_return;
    }
    status_.next_at = now_sys() + next;
    wake_.expires_after(next);
  }
}

asio::awaitable<Result<std::string>> SnapshotSync::wait_idle(SyncOperation op, std::string who) {
  if (stopping_) {
    co_return cancelled(who);
  }
  if (!busy_ && waiting_.empty()) {
    busy_ = true;
    status_.operation = op;
    co_return std::string();
  }
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + sync_.timeout;
  const size_t ahead = waiting_.size();
  const std::string running =
      std::string(to_string(status_.operation)) + " (" + step_ + ", since " + format_time(status_.step_since) + ")" +
      (ahead == 0 ? "" : " and the " + std::to_string(ahead) + " operation(s) waiting before this one");
  spdlog::info("sync: {} waits for the running {}", who, running);
  asio::steady_timer t(io_);
  waiting_.push_back(Waiting{&t, SyncWaiter{who, now_sys()}});
  refresh_step();
  Result<std::string> out = std::string();
  for (;;) {
    const auto v =
        sync::wait_verdict(stopping_, busy_, waiting_.front().timer == &t, std::chrono::steady_clock::now(), deadline);
    if (v == sync::WaitVerdict::kGo) {
      break;
    }
    if (v == sync::WaitVerdict::kCancelled) {
      out = cancelled(who);
      break;
    }
    if (v == sync::WaitVerdict::kGiveUp) {
      out = Error{ErrorCode::kBusy, who + " not started: waited sync.timeout " + format_duration(sync_.timeout) +
                                        " for the running " + running + " to end"};
      break;
    }
    t.expires_at(deadline);  // woken earlier when an operation ends, or by stop()
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  std::erase_if(waiting_, [&](const Waiting& w) { return w.timer == &t; });
  refresh_step();
  if (out) {
    busy_ = true;
    status_.operation = op;
    const auto waited = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
    out = "waited " + format_duration(waited) + " for the running " + running + " to end";
    spdlog::info("sync: {}: {}", who, *out);
  } else {
    // The next in line may be idle-waiting behind this one: let it look.
    for (auto& w : waiting_) {
      w.timer->cancel();
    }
  }
  co_return out;
}

Result<sync::Plan> SnapshotSync::make_plan(const std::string& target, sync::RedTarget red) const {
  std::vector<std::string> clusters;
  for (const auto& c : config_.clusters) {
    clusters.push_back(c.name);
  }
  return sync::plan_operation(state(), clusters, target, ctx_.latest_round(), red, left_red_.cluster);
}

sync::WriteGuard& SnapshotSync::guard_for(sync::Plan p) {
  guard_.emplace(es_, ctx_.pipeline, stats_, std::move(p), ctx_.may_run_automatic);
  return *guard_;
}

std::optional<std::string> SnapshotSync::automatic_refused() const {
  return ctx_.may_run_automatic ? ctx_.may_run_automatic() : std::nullopt;
}

asio::awaitable<sync::Answer> SnapshotSync::read(sync::Read r) {
  if (!guard_) {
    sync::Answer a;
    a.transport = Error{ErrorCode::kInternal, "a sync read (" + r.what + ") outside a planned operation: not sent"};
    co_return a;
  }
  auto a = co_await guard_->read(std::move(r));
  co_return a;
}

asio::awaitable<Result<sync::Answer>> SnapshotSync::write(sync::Write w) {
  if (!guard_) {
    co_return Error{ErrorCode::kInternal, "a sync write (" + w.intent.what + ") outside a planned operation: not sent"};
  }
  auto r = co_await guard_->write(std::move(w));
  co_return r;
}

asio::awaitable<void> SnapshotSync::fail(SyncOperation operation, std::string actor, Error e) {
  if (stopping_) {
    spdlog::info("{} stopped: {}", to_string(operation), e.message);
    co_return;
  }
  status_.last_result = SyncResult::kFailed;
  status_.last_error = e.message;
  status_.last_error_at = now_sys();
  stats_.runs.inc(SyncResult::kFailed);
  spdlog::error("{} failed: {}", to_string(operation), e.message);
  EventKind kind = operation == SyncOperation::kSwitchover      ? EventKind::kSwitchoverFailed
                   : operation == SyncOperation::kFailback      ? EventKind::kFailbackFailed
                   : operation == SyncOperation::kVerifyRestore ? EventKind::kVerifyRestoreFailed
                                                                : EventKind::kSyncFailed;
  co_await journal(kind, state().epoch, actor, e.message);
}

asio::awaitable<Result<void>> SnapshotSync::record_point(SyncPoint point, uint64_t epoch) {
  if (stopping_) {
    co_return cancelled("recording the sync point");
  }
  auto d = ctx_.controller.on_sync_point(state(), point, epoch);
  if (!d) {
    co_return d.error();
  }
  auto r = co_await ctx_.pipeline.apply(*d);
  if (r && !point.target.empty() && state().write_block.cluster == point.target && state().active != point.target &&
      !state().is_fenced(point.target)) {
    // The restore replaced the blocked indices of the passive cluster: its
    // write block went with them. (A fenced target keeps it: its indices
    // were restored blocked.)
    const WriteBlock none;
    if (auto m = co_await mark_write_block(none); m) {
      spdlog::info("sync: the restore replaced the write-blocked indices of {}: the block went with them",
                   point.target);
    }
  }
  co_return r;
}

asio::awaitable<Result<void>> SnapshotSync::mark_write_block(WriteBlock block) {
  if (stopping_) {
    co_return cancelled("recording the write-block marker");
  }
  Decision d = ctx_.controller.on_write_block(state(), block);
  auto r = co_await ctx_.pipeline.apply(std::move(d));
  co_return r;
}

asio::awaitable<Result<std::string>> SnapshotSync::switch_roles(std::string target, Transition kind, std::string actor,
                                                                std::string reason) {
  if (stopping_) {
    co_return cancelled("switching roles");
  }
  Command c;
  c.kind = kind == Transition::kFailback ? CommandKind::kFailback : CommandKind::kSwitchover;
  c.target = kind == Transition::kFailback ? "" : target;
  c.actor = actor;
  c.reason = reason;
  Decision d = ctx_.controller.on_command(state(), c, ctx_.latest_round(), now_sys());
  if (auto r = co_await ctx_.pipeline.apply(d); !r) {
    co_return r.error();
  }
  if (!d.ok) {
    co_return Error{d.code, d.reply};
  }
  co_return d.reply;
}

asio::awaitable<void> SnapshotSync::journal(EventKind kind, uint64_t epoch, std::string actor, std::string message) {
  if (stopping_) {
    co_return;
  }
  Change c;
  c.events.push_back(Event{0, now_sys(), epoch, kind, std::move(actor), std::move(message)});
  (void)co_await ctx_.pipeline.apply(std::move(c));
}

// ---- one sync ---------------------------------------------------------------

asio::awaitable<Result<std::string>> SnapshotSync::sync_now(std::string actor) {
  if (auto h = sync::hold_refusal(state().sync_hold)) {
    co_return *h;
  }
  const std::string who = "sync now by " + actor;
  auto waited = co_await wait_idle(SyncOperation::kSync, who);
  if (!waited) {
    co_return waited.error();
  }
  Busy busy(*this, SyncOperation::kSync);
  if (auto h = sync::hold_refusal(state().sync_hold)) {
    co_return *h;  // placed while this one waited
  }
  auto r = co_await run_sync(actor, false);
  if (r && !waited->empty()) {
    co_return *waited + "\n" + *r;
  }
  co_return r;
}

asio::awaitable<Result<std::string>> SnapshotSync::run_sync(std::string actor, bool automatic) {
  const auto t0 = std::chrono::steady_clock::now();
  status_.last_attempt_at = now_sys();
  auto plan = make_plan("", sync::RedTarget::kIfOurRestoreLeftIt);
  if (!plan) {
    co_await fail(SyncOperation::kSync, actor, plan.error());
    co_return plan.error();
  }
  plan->automatic = automatic;
  const sync::Plan p = *plan;
  guard_for(p);
  if (auto r = co_await ensure_repositories(p); !r) {
    co_await fail(SyncOperation::kSync, actor, r.error());
    co_return r.error();
  }
  co_await check_dangers(p);
  const SysTime started_at = now_sys();
  const std::string name = sync::snapshot_name(p.epoch, started_at, p.source);
  auto info = co_await take_snapshot(p, name);
  if (!info) {
    co_await fail(SyncOperation::kSync, actor, info.error());
    co_return info.error();
  }
  std::vector<std::string> indices = sync::string_list(sync::at(*info, "indices"));
  if (p.target_red) {
    if (auto r = co_await red_only_where_restored(p, indices); !r) {
      co_await fail(SyncOperation::kSync, actor, r.error());
      co_return r.error();
    }
  }
  if (copying()) {
    if (auto r = co_await copy_repository(p, name); !r) {
      co_await fail(SyncOperation::kSync, actor, r.error());
      co_return r.error();
    }
  }
  // A fenced target keeps its write block on the indices restored there
  // (sync/fence.hpp); any other target gets them as the snapshot has them.
  const std::optional<bool> block = state().is_fenced(p.target) ? std::optional<bool>(true) : std::nullopt;
  if (auto r = co_await restore(p, name, indices, block); !r) {
    co_await fail(SyncOperation::kSync, actor, r.error());
    co_return r.error();
  }
  SyncPoint sp{name, p.source, p.target, p.epoch, started_at, now_sys()};
  if (auto r = co_await record_point(sp, p.epoch); !r) {
    co_await fail(SyncOperation::kSync, actor, r.error());
    co_return r.error();
  }
  co_await retention(p);
  if (copying()) {
    co_await copy_after_retention(p);
  }
  status_.last_sync_took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - t0);
  status_.last_result = SyncResult::kOk;
  status_.last_ok_at = now_sys();
  status_.last_error.clear();
  stats_.runs.inc(SyncResult::kOk);
  std::string msg = "synced " + std::to_string(indices.size()) + " index(es) from " + p.source + " to " + p.target +
                    " with snapshot " + name + " in " + format_duration(status_.last_sync_took) + " (snapshot " +
                    format_duration(status_.last_snapshot_took) + ", restore " +
                    format_duration(status_.last_restore_took) + ")";
  if (copying() && status_.copy) {
    msg += "; copied " + std::to_string(status_.copy->last_files) + " file(s), " +
           std::to_string(status_.copy->last_bytes) + " byte(s) from " + status_.copy->from + "'s repository to " +
           status_.copy->to + "'s in " + format_duration(status_.copy->last_took);
  }
  spdlog::info("{}", msg);
  co_await journal(EventKind::kSync, p.epoch, actor, msg);
  co_return msg;
}

}  // namespace haes
