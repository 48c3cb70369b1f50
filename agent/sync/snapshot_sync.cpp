// SnapshotSync: the schedule, the plan and its epoch checks, one sync.
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

SnapshotSync::SnapshotSync(asio::io_context& ctx, const Config& config, SyncHooks hooks)
    : ctx_(ctx), config_(config), sync_(*config.sync), hooks_(std::move(hooks)),
      stopped_(std::make_shared<bool>(false)) {
  for (const auto& c : config_.clusters) {
    // Snapshot and restore calls may wait long (wait_for_completion): each
    // call passes its own timeout; this one bounds the short calls.
    clients_[c.name] = std::make_unique<es::ClusterClient>(ctx_.get_executor(), c, std::chrono::seconds(30),
                                                           16 * 1024 * 1024);
  }
}

SnapshotSync::~SnapshotSync() { stop(); }

void SnapshotSync::start() { asio::co_spawn(ctx_, loop(), asio::detached); }

void SnapshotSync::stop() {
  *stopped_ = true;
  if (wake_) {
    wake_->cancel();
  }
}

es::ClusterClient& SnapshotSync::client(const std::string& cluster) { return *clients_.at(cluster); }

void SnapshotSync::step(std::string what) {
  spdlog::debug("sync: {}", what);
  status_.step = std::move(what);
  status_.step_since = now_sys();
}

asio::awaitable<void> SnapshotSync::sleep(Duration d) {
  asio::steady_timer t(ctx_, d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> SnapshotSync::loop() {
  auto stopped = stopped_;
  wake_ = std::make_unique<asio::steady_timer>(ctx_);
  // Let the monitor see both clusters before the first sync.
  Duration first = std::max<Duration>(config_.failover.interval * 3, std::chrono::seconds(2));
  status_.next_at = now_sys() + first;
  wake_->expires_after(first);
  co_await recover_write_block();
  while (!*stopped) {
    boost::system::error_code ec;
    co_await wake_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (*stopped) {
      co_return;
    }
    if (auto h = held()) {
      spdlog::info("sync: scheduled sync skipped: {}", h->message);
    } else if (!busy_) {
      co_await recover_write_block();
      auto r = co_await run_sync("sync");
      // Scheduled restore verification, after a successful sync.
      if (r && sync_.verify_restore_interval.count() > 0 && !busy_ &&
          now_sys() - status_.last_verify_at >= sync_.verify_restore_interval) {
        (void)co_await verify_restore("sync");
      }
    }
    status_.next_at = now_sys() + sync_.interval;
    wake_->expires_after(sync_.interval);
  }
}

Result<SnapshotSync::Plan> SnapshotSync::make_plan(const std::string& target_wanted, bool allow_red_target) const {
  const State& s = hooks_.state();
  Plan p;
  p.epoch = s.epoch;
  p.source = s.active;
  if (p.source.empty()) {
    return Error{"no_active", "no cluster holds the active role: nothing to snapshot"};
  }
  if (!target_wanted.empty()) {
    p.target = target_wanted;
  } else {
    for (const auto& c : config_.clusters) {
      if (c.name != p.source) {
        p.target = c.name;
        break;
      }
    }
  }
  const HealthRound* round = hooks_.round();
  auto health_of = [&](const std::string& c) {
    const ClusterObservation* o = round ? round->find(c) : nullptr;
    return o ? o->health : Health::kUnknown;
  };
  if (!is_serving(health_of(p.source))) {
    return Error{"source_unhealthy", "the active cluster " + p.source + " is " +
                                         std::string(to_string(health_of(p.source))) +
                                         ": a snapshot now would fail or be partial; retrying next interval"};
  }
  // A passive cluster red in the very indices our failed restore left
  // behind is mended by the next restore: a sync plans it, and checks
  // which indices are red once it knows what it restores. Red for any
  // other reason (after a failover: the old active cluster, whose red
  // indices may hold the only copy of writes after the sync point), never.
  p.target_red = allow_red_target && health_of(p.target) == Health::kRed && left_red_.cluster == p.target;
  if (!is_serving(health_of(p.target)) && !p.target_red) {
    return Error{"target_unhealthy", "the passive cluster " + p.target + " is " +
                                         std::string(to_string(health_of(p.target))) +
                                         ": not restoring into it; retrying next interval"};
  }
  return p;
}

bool SnapshotSync::still(const Plan& p) const {
  const State& s = hooks_.state();
  return s.epoch == p.epoch && s.active == p.source && !s.sync_hold.held;
}

std::optional<Error> SnapshotSync::held() const {
  const SyncHold& h = hooks_.state().sync_hold;
  if (!h.held) {
    return std::nullopt;
  }
  return Error{"sync_held", "syncs are held by " + h.by + " since " + format_time(h.since) +
                                (h.reason.empty() ? "" : " (" + h.reason + ")") +
                                ": nothing is snapshotted or restored until 'haesctl sync release'"};
}

Error SnapshotSync::roles_changed(const Plan& p, const std::string& before) const {
  const State& s = hooks_.state();
  if (auto h = held(); h && s.epoch == p.epoch && s.active == p.source) {
    return Error{"sync_held", h->message + "; stopped before " + before + "; " + p.target + " was not touched"};
  }
  return Error{"roles_changed", "roles changed (epoch " + std::to_string(p.epoch) + " -> " + std::to_string(s.epoch) +
                                    ", active now " + (s.active.empty() ? "none" : s.active) + "): stopped before " +
                                    before + "; " + p.target + " was not touched"};
}

void SnapshotSync::fail(const std::string& operation, const std::string& actor, const Error& e) {
  status_.last_result = "failed";
  status_.last_error = e.message;
  status_.last_error_at = now_sys();
  ++status_.runs_failed;
  spdlog::error("{} failed: {}", operation, e.message);
  hooks_.journal(Event{0, now_sys(), hooks_.state().epoch, operation == "sync" ? "sync_failed" : operation + "_failed",
                       actor, e.message});
}

// ---- operations -------------------------------------------------------------

asio::awaitable<Result<std::string>> SnapshotSync::sync_now(std::string actor) {
  if (busy_) {
    co_return Error{"busy", "a " + status_.operation + " is running (" + status_.step + ", since " +
                                format_time(status_.step_since) + "); try again when it ends"};
  }
  if (auto h = held()) {
    co_return *h;
  }
  co_return co_await run_sync(actor);
}

asio::awaitable<Result<std::string>> SnapshotSync::run_sync(const std::string& actor) {
  Busy busy(*this, "sync");
  const auto t0 = std::chrono::steady_clock::now();
  status_.last_attempt_at = now_sys();
  auto plan = make_plan("", /*allow_red_target=*/true);
  if (!plan) {
    fail("sync", actor, plan.error());
    co_return plan.error();
  }
  const Plan p = *plan;
  if (auto r = co_await ensure_repositories(p); !r) {
    fail("sync", actor, r.error());
    co_return r.error();
  }
  co_await check_dangers(p);
  if (!still(p)) {
    Error e = roles_changed(p, "the snapshot");
    fail("sync", actor, e);
    co_return e;
  }
  const SysTime started_at = now_sys();
  const std::string name = sync::snapshot_name(p.epoch, started_at, p.source);
  auto info = co_await take_snapshot(p, name);
  if (!info) {
    fail("sync", actor, info.error());
    co_return info.error();
  }
  std::vector<std::string> indices = string_list(at(*info, "indices"));
  if (!still(p)) {
    Error e = roles_changed(p, "the restore");
    fail("sync", actor, e);
    co_return e;
  }
  if (p.target_red) {
    if (auto r = co_await red_only_where_restored(p, indices); !r) {
      fail("sync", actor, r.error());
      co_return r.error();
    }
  }
  if (auto r = co_await restore(p, name, indices, false); !r) {
    fail("sync", actor, r.error());
    co_return r.error();
  }
  SyncPoint sp{name, p.source, p.target, p.epoch, started_at, now_sys()};
  if (auto r = hooks_.record(sp, p.epoch); !r) {
    fail("sync", actor, r.error());
    co_return r.error();
  }
  co_await retention(p);
  status_.last_sync_took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - t0);
  status_.last_result = "ok";
  status_.last_ok_at = now_sys();
  status_.last_error.clear();
  ++status_.runs_ok;
  std::string msg = "synced " + std::to_string(indices.size()) + " index(es) from " + p.source + " to " + p.target +
                    " with snapshot " + name + " in " + format_duration(status_.last_sync_took) + " (snapshot " +
                    format_duration(status_.last_snapshot_took) + ", restore " + format_duration(status_.last_restore_took) + ")";
  spdlog::info("{}", msg);
  hooks_.journal(Event{0, now_sys(), p.epoch, "sync", actor, msg});
  co_return msg;
}

}  // namespace haes
