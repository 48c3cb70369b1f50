#include "drill/drill.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "es/cluster_client.hpp"
#include "sync/snapshot_sync.hpp"

namespace haes {
namespace asio = boost::asio;

namespace {

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return s;
}

// The store document the reports live in.
constexpr const char* kDocument = "drills";
constexpr auto kWatchPeriod = std::chrono::seconds(2);
// How long the drill's first write through the front door may find it not
// routing to the new active cluster yet (HAProxy marks the backend's
// servers up after its next health check: a fraction of a second with the
// shipped haproxy.cfg).
constexpr auto kFrontDoorWait = std::chrono::seconds(15);
constexpr auto kFrontDoorRetry = std::chrono::milliseconds(100);

}  // namespace

DrillRunner::DrillRunner(asio::io_context& io, const Config& config, DrillContext ctx)
    : io_(io), config_(config), ctx_(std::move(ctx)), wake_(io), watch_timer_(io) {
  for (const auto& c : config_.clusters) {
    clients_.push_back(std::make_unique<es::ClusterClient>(io_.get_executor(), c, Duration(30000), size_t{1} << 20));
    if (config_.drill.through) {
      ClusterConfig door = c;
      door.nodes = {NodeConfig{"front-door", *config_.drill.through}};
      front_.push_back(std::make_unique<es::ClusterClient>(io_.get_executor(), door, Duration(30000), size_t{1} << 20));
    }
  }
}

DrillRunner::~DrillRunner() { stop(); }

void DrillRunner::stop() {
  stopped_ = true;
  wake_.cancel();
  watch_timer_.cancel();
  for (auto& c : clients_) {
    c->shutdown();
  }
  for (auto& c : front_) {
    c->shutdown();
  }
}

void DrillRunner::start() {
  asio::co_spawn(io_, watch(), asio::detached);
  if (config_.drill.interval.count() > 0) {
    asio::co_spawn(io_, schedule(), asio::detached);
  }
}

std::string DrillRunner::where() const { return ctx_.pipeline.store().document_location(kDocument); }

bool DrillRunner::abandoned() const { return stopped_ || (ctx_.may_run_automatic && !ctx_.may_run_automatic()); }

asio::awaitable<Result<std::vector<DrillReport>>> DrillRunner::load() {
  auto doc = co_await ctx_.pipeline.store().load_document(kDocument);
  if (!doc) {
    co_return Error{doc.error().code, "cannot read the drill reports (" + where() + "): " + doc.error().message};
  }
  std::vector<DrillReport> out;
  if (!doc->has_value()) {
    co_return out;
  }
  auto j = nlohmann::json::parse(**doc, nullptr, false);
  if (!j.is_array()) {
    warn_once("drill reports " + where() + ": not a JSON array; starting a new list");
    co_return out;
  }
  for (const auto& e : j) {
    if (auto r = drill_report_from_json(e)) {
      out.push_back(std::move(*r));
    } else {
      warn_once("drill reports " + where() + ": " + r.error().message + " (skipped)");
    }
  }
  co_return out;
}

void DrillRunner::warn_once(const std::string& message) {
  if (message != last_warning_) {
    spdlog::warn("{}", message);
    last_warning_ = message;
  }
}

asio::awaitable<Result<std::vector<DrillReport>>> DrillRunner::fresh_reports() {
  if (running_) {
    co_return reports_;
  }
  auto loaded = co_await load();
  if (loaded && !running_) {
    reports_ = *loaded;
  }
  co_return loaded;
}

asio::awaitable<void> DrillRunner::save() {
  while (reports_.size() > static_cast<size_t>(std::max<int64_t>(config_.drill.keep, 1))) {
    reports_.erase(reports_.begin());
  }
  if (abandoned() && !stopped_) {
    co_return;  // the leader's now: it undoes the drill from the report as it stands
  }
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : reports_) {
    arr.push_back(drill_report_json(r));
  }
  auto w = co_await ctx_.pipeline.store().store_document(kDocument, arr.dump(1));
  if (!w) {
    spdlog::warn("drill: cannot keep the report in {}: {}", where(), w.error().message);
  }
}

asio::awaitable<void> DrillRunner::watch() {
  boost::system::error_code ec;
  while (!stopped_) {
    if (!running_) {
      auto loaded = co_await load();
      if (!loaded) {
        warn_once(loaded.error().message);
      } else if (!running_ && !stopped_) {  // no drill started while we read
        reports_ = std::move(*loaded);
        if (!reports_.empty() && reports_.back().running && ctx_.latest_round() && !abandoned()) {
          running_ = true;
          co_await recover(reports_.back());
        }
      }
    }
    watch_timer_.expires_after(kWatchPeriod);
    co_await watch_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

Result<DrillPlan> DrillRunner::plan(const std::string& to) const {
  std::vector<std::string> names;
  for (const auto& c : config_.clusters) {
    names.push_back(c.name);
  }
  return plan_drill(ctx_.pipeline.state(), names, to, config_.drill.documents, now_sys(),
                    config_.drill.through ? config_.drill.through->text : std::string());
}

asio::awaitable<void> DrillRunner::journal(EventKind kind, std::string actor, std::string message) {
  Change c;
  c.events.push_back(Event{0, now_sys(), ctx_.pipeline.state().epoch, kind, std::move(actor), std::move(message)});
  (void)co_await ctx_.pipeline.apply(std::move(c));
}

asio::awaitable<Result<std::string>> DrillRunner::switch_to(std::string target, std::string actor, std::string reason) {
  // As the switchover command does: the controller validates, then the
  // sync's planned move (writes blocked, final sync, roles switched).
  Command c;
  c.kind = CommandKind::kSwitchover;
  c.target = target;
  c.actor = actor;
  c.reason = reason;
  Decision check = ctx_.controller.on_command(ctx_.pipeline.state(), c, ctx_.latest_round(), now_sys());
  if (!check.ok) {
    co_return Error{check.code, check.reply};
  }
  auto r = co_await ctx_.sync.planned_switch(target, Transition::kSwitchover, actor, reason, false);
  co_return r;
}

asio::awaitable<Result<es::Response>> DrillRunner::send(std::string cluster, std::string method, std::string target,
                                                        std::string body, bool front) {
  es::ClusterClient* client = nullptr;
  for (size_t i = 0; i < config_.clusters.size(); ++i) {
    if (config_.clusters[i].name == cluster) {
      client = front ? (i < front_.size() ? front_[i].get() : nullptr) : clients_[i].get();
    }
  }
  if (!client) {
    co_return Error{ErrorCode::kUsage, "no cluster " + cluster + (front ? " (or no drill.through)" : "")};
  }
  auto r = co_await client->request(method, target, body);
  if (!r) {
    co_return Error{r.error().code, method + " " + target + " " + where(cluster, front) + ": " + r.error().message};
  }
  co_return std::move(*r);
}

std::string DrillRunner::where(const std::string& cluster, bool front) const {
  return front ? "through the front door " + config_.drill.through->text : "on " + cluster;
}

asio::awaitable<Result<std::string>> DrillRunner::scratch(std::string cluster, std::string method, std::string target,
                                                          std::string body, bool front) {
  auto r = co_await send(cluster, method, target, body, front);
  if (!r) {
    co_return r.error();
  }
  if (!r->ok()) {
    co_return Error{ErrorCode::kEsError,
                    method + " " + target + " " + where(cluster, front) + ": " + r->error_summary()};
  }
  co_return r->body;
}

asio::awaitable<Result<bool>> DrillRunner::delete_scratch(std::string cluster, std::string index) {
  const std::string method = "DELETE";
  const std::string target = "/" + index;
  const std::string no_body;
  auto r = co_await send(cluster, method, target, no_body, false);
  if (!r) {
    co_return r.error();
  }
  if (r->status == 404 && r->es_type == "index_not_found_exception") {
    co_return false;
  }
  if (!r->ok()) {
    co_return Error{ErrorCode::kEsError, method + " " + target + " on " + cluster + ": " + r->error_summary()};
  }
  co_return true;
}

asio::awaitable<Result<Duration>> DrillRunner::create_through_front_door(std::string cluster, std::string target,
                                                                         std::string body) {
  const std::string method = "PUT";
  const auto began = std::chrono::steady_clock::now();
  asio::steady_timer pause(io_);
  for (int attempt = 0;; ++attempt) {
    auto r = co_await send(cluster, method, target, body, true);
    if (r && (r->ok() || (attempt > 0 && r->es_type == "resource_already_exists_exception"))) {
      // (an earlier attempt created it, its answer lost)
      co_return std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - began);
    }
    if (r && !front_door_not_routing_yet(r->status, r->es_type)) {
      std::string why = "PUT " + target;
      why += " " + where(cluster, true);
      why += ": " + r->error_summary();
      co_return Error{ErrorCode::kEsError, why};
    }
    if (!r && r.error().code == ErrorCode::kUsage) {
      co_return r.error();
    }
    if (std::chrono::steady_clock::now() - began >= kFrontDoorWait || abandoned()) {
      std::string why = "the front door " + config_.drill.through->text;
      why += " did not send the drill's write to " + cluster;
      why += " within " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kFrontDoorWait).count());
      why += "s after the switchover: " + (r ? r->error_summary() : r.error().message);
      co_return Error{ErrorCode::kUnreachable, why};
    }
    boost::system::error_code ec;
    pause.expires_after(kFrontDoorRetry);
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<Result<int64_t>> DrillRunner::count_on(std::string cluster, std::string index, bool front) {
  const std::string method = "GET";
  const std::string target = "/" + index + "/_count";
  const std::string no_body;
  auto r = co_await send(cluster, method, target, no_body, front);
  if (!r) {
    co_return r.error();
  }
  if (r->status == 404 && r->es_type == "index_not_found_exception") {
    co_return int64_t{-1};
  }
  const auto& j = r->json;
  if (!r->ok() || !j.is_object() || !j.contains("count") || !j["count"].is_number_integer()) {
    co_return Error{ErrorCode::kEsError, method + " " + target + " " + where(cluster, front) + ": " +
                                             (r->ok() ? std::string("no count in the answer") : r->error_summary())};
  }
  co_return j["count"].get<int64_t>();
}

asio::awaitable<void> DrillRunner::step(DrillReport& r, DrillStep s, Result<std::string> outcome,
                                        std::chrono::steady_clock::time_point began) {
  DrillStepResult sr;
  sr.step = s;
  sr.ok = outcome.ok();
  sr.took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - began);
  sr.detail = one_line(outcome ? *outcome : outcome.error().message);
  if (sr.detail.size() > 300) {
    sr.detail = sr.detail.substr(0, 300) + "…";
  }
  spdlog::log(sr.ok ? spdlog::level::info : spdlog::level::warn, "drill {}: {} {} ({} ms): {}", r.id, to_string(s),
              sr.ok ? "ok" : "FAILED", sr.took.count(), sr.detail);
  r.steps.push_back(std::move(sr));
  reports_.back() = r;
  co_await save();
}

asio::awaitable<Result<DrillReport>> DrillRunner::run(std::string to, std::string actor, bool force) {
  if (running_) {
    co_return Error{ErrorCode::kBusy, "a drill is running (haesctl drill report)"};
  }
  running_ = true;  // before the first suspension: one drill at a time
  auto loaded = co_await load();
  if (!loaded) {
    running_ = false;
    co_return loaded.error();
  }
  reports_ = std::move(*loaded);
  if (!reports_.empty() && reports_.back().running) {
    running_ = false;
    co_return Error{ErrorCode::kBusy, "drill " + reports_.back().id +
                                          " was left running by an agent that stopped; it is being undone "
                                          "(haesctl drill report)"};
  }
  auto p = plan(to);
  if (!p) {
    running_ = false;
    co_return p.error();
  }
  const ReadinessVerdict ready = ctx_.readiness();
  const auto refusing = ready.target == p->to ? refusing_planned_move(ready, true) : std::vector<ReadinessReason>{};
  if (!refusing.empty() && !force) {
    const std::string why =
        "drill " + p->from + " -> " + p->to + " refused: " + p->to + " is not ready: " + refusing.front().text;
    running_ = false;
    co_await journal(EventKind::kRefused, actor, why);
    co_return Error{ErrorCode::kNotReady, p->to + " is not ready to take over: " + refusing.front().text +
                                              " (docs/readiness.md; --force drills anyway)"};
  }
  DrillReport r;
  r.id = p->id;
  r.from = p->from;
  r.to = p->to;
  r.actor = actor;
  r.started_at = now_sys();
  r.readiness_before = readiness_line(ready);
  r.through = p->through;
  const SyncPoint& sp = ctx_.pipeline.state().last_sync;
  if (!sp.snapshot.empty() && sp.target == p->to) {
    r.rpo_seconds = std::chrono::duration_cast<std::chrono::seconds>(r.started_at - sp.started_at).count();
  }
  reports_.push_back(r);
  co_await save();
  const std::string started =
      "drill " + r.id + " started: " + r.from + " -> " + r.to + " -> " + r.from +
      (force && !refusing.empty() ? "; forced past readiness: " + refusing.front().text : std::string());
  co_await journal(EventKind::kDrill, actor, started);
  const std::string put_method = "PUT";
  const std::string reason = "drill " + r.id;
  const std::string index = "/" + p->scratch_index;
  const bool front = !p->through.empty();  // drill.through: writes and reads through the front door
  auto t0 = std::chrono::steady_clock::now();
  Result<std::string> out = "readiness of " + r.to + ": " + r.readiness_before +
                            (r.rpo_seconds ? ", RPO " + std::to_string(*r.rpo_seconds) + "s" : "");
  co_await step(r, DrillStep::kReadinessBefore, out, t0);

  std::optional<DrillStep> failed;
  t0 = std::chrono::steady_clock::now();
  out = co_await switch_to(r.to, actor, reason);
  if (out) {
    r.write_block_to = ctx_.sync.status().last_write_block;
  }
  co_await step(r, DrillStep::kSwitchover, out, t0);
  if (!out) {
    failed = DrillStep::kSwitchover;
  }
  if (!failed && !abandoned()) {
    t0 = std::chrono::steady_clock::now();
    const std::string create = R"({"settings":{"number_of_shards":1,"number_of_replicas":0}})";
    if (front) {
      auto waited = co_await create_through_front_door(r.to, index, create);
      if (waited) {
        r.front_door_wait = *waited;
        out = std::string("created");
      } else {
        out = waited.error();
      }
    } else {
      out = co_await scratch(r.to, put_method, index, create);
    }
    for (int64_t i = 0; out && i < p->documents; ++i) {
      const std::string doc_target =
          index + "/_doc/" + std::to_string(i) + (i + 1 == p->documents ? "?refresh=true" : "");
      const std::string doc = R"({"drill":")" + r.id + R"(","n":)" + std::to_string(i) + "}";
      out = co_await scratch(r.to, put_method, doc_target, doc, front);
      if (out) {
        ++r.documents_written;
      }
    }
    if (out) {
      out = std::to_string(r.documents_written) + " documents written to " + p->scratch_index +
            (front ? " through " + p->through + " (routing to " + r.to + " after " +
                         std::to_string(r.front_door_wait ? r.front_door_wait->count() : 0) + " ms)"
                   : " on " + r.to);
    }
    co_await step(r, DrillStep::kWrite, out, t0);
    if (!out) {
      failed = DrillStep::kWrite;
    }
  }
  if (!failed && !abandoned()) {
    t0 = std::chrono::steady_clock::now();
    DrillPlacement found;
    found.written = r.documents_written;
    auto read = co_await count_on(r.to, p->scratch_index, front);
    if (read && front) {
      auto on_target = co_await count_on(r.to, p->scratch_index, false);
      auto on_source = on_target ? co_await count_on(r.from, p->scratch_index, false) : on_target;
      if (!on_target || !on_source) {
        read = on_target ? on_source.error() : on_target.error();
      } else {
        found.on_target = *on_target;
        found.on_source = *on_source >= 0;
      }
    }
    if (read) {
      found.read = *read;
      r.documents_read = *read;
      out = judge_placement(*p, found);
    } else {
      out = read.error();
    }
    co_await step(r, DrillStep::kRead, out, t0);
    if (!out) {
      failed = DrillStep::kRead;
    }
  }
  std::vector<DrillStep> rest =
      failed ? recovery_steps(*failed) : std::vector<DrillStep>{DrillStep::kCleanup, DrillStep::kSwitchBack};
  bool back_failed = false;
  for (DrillStep s : rest) {
    if (abandoned()) {
      break;
    }
    t0 = std::chrono::steady_clock::now();
    if (s == DrillStep::kCleanup) {
      auto deleted = co_await delete_scratch(r.to, p->scratch_index);
      // A front door that did not follow the verdict put it on `from`.
      auto stray = front ? co_await delete_scratch(r.from, p->scratch_index) : Result<bool>(false);
      if (!deleted || !stray) {
        out = deleted ? stray.error() : deleted.error();
      } else {
        out = p->scratch_index + (*deleted ? " deleted" : " was not there") +
              (*stray ? "; deleted on " + r.from + ", where the front door had put it" : "");
      }
      co_await step(r, s, out, t0);
      if (!out && !failed) {
        failed = s;  // the switch back still runs
      }
    } else if (s == DrillStep::kSwitchBack) {
      const std::string back_reason = reason + (failed ? " (rollback)" : "");
      out = co_await switch_to(r.from, actor, back_reason);
      if (out) {
        r.write_block_back = ctx_.sync.status().last_write_block;
        r.rolled_back = failed.has_value();
      }
      co_await step(r, s, out, t0);
      back_failed = !out;
      if (!out && !failed) {
        failed = s;
      }
    }
  }
  if (!failed && !abandoned()) {
    t0 = std::chrono::steady_clock::now();
    r.readiness_after = readiness_line(ctx_.readiness());
    out = r.readiness_after;
    co_await step(r, DrillStep::kReadinessAfter, out, t0);
  }
  if (abandoned()) {
    running_ = false;
    co_return Error{ErrorCode::kCancelled,
                    stopped_ ? "the agent is stopping; the drill is undone at the next start"
                             : "this agent lost the leadership during the drill; the new leader undoes it "
                               "(haesctl drill report there)"};
  }
  r.running = false;
  r.finished_at = now_sys();
  r.ok = !failed;
  if (failed) {
    for (const auto& s : r.steps) {
      if (!s.ok) {
        r.reason = std::string(to_string(s.step)) + ": " + s.detail;
        break;
      }
    }
    if (back_failed) {
      r.reason += "; the switch back failed: " + r.to + " is still active (haesctl switchover --to " + r.from + ")";
    }
  }
  reports_.back() = r;
  co_await save();
  running_ = false;
  stats_.runs.inc(r.ok ? DrillResult::kPassed : DrillResult::kFailed);
  const std::string ended =
      "drill " + r.id + (r.ok ? " passed" : " failed: " + r.reason) + "; write unavailable " +
      (r.write_block_to ? std::to_string(r.write_block_to->count()) + " ms" : std::string("?")) + " / " +
      (r.write_block_back ? std::to_string(r.write_block_back->count()) + " ms" : std::string("?"));
  co_await journal(r.ok ? EventKind::kDrill : EventKind::kDrillFailed, actor, ended);
  co_return r;
}

asio::awaitable<void> DrillRunner::recover(DrillReport r) {
  // The watch calls this once a health round is known (the switch back
  // needs the controller's view), with running_ set.
  const std::string actor = "agent " + config_.agent.name + " (recovering drill " + r.id + ")";
  spdlog::warn(
      "drill {} (run by {}): the agent running it stopped during it; undoing it ({} active now, {} before "
      "the drill)",
      r.id, r.actor, ctx_.pipeline.state().active, r.from);
  const std::string index = "haes-drill-" + r.id;
  auto t0 = std::chrono::steady_clock::now();
  auto deleted = co_await delete_scratch(r.to, index);
  Result<std::string> out = deleted ? Result<std::string>(*deleted ? index + " deleted" : "no scratch index left")
                                    : Result<std::string>(deleted.error());
  co_await step(r, DrillStep::kCleanup, out, t0);
  if (abandoned()) {
    running_ = false;
    co_return;
  }
  bool back = ctx_.pipeline.state().active == r.from;
  if (!back && ctx_.pipeline.state().active == r.to) {
    t0 = std::chrono::steady_clock::now();
    const std::string why = "drill " + r.id + " (rollback after a restart)";
    out = co_await switch_to(r.from, actor, why);
    back = out.ok();
    co_await step(r, DrillStep::kSwitchBack, out, t0);
  }
  if (back) {
    // The final sync of the switch back may have carried the scratch index
    // there, and a front door that did not follow the verdict may have put
    // it there (drill.through).
    (void)co_await delete_scratch(r.from, index);
  }
  r.running = false;
  r.ok = false;
  r.rolled_back = back;
  r.finished_at = now_sys();
  r.reason = "interrupted: the agent stopped during the drill" +
             std::string(back ? "; " + r.from + " is active again" : "; " + r.from + " could NOT be made active again");
  reports_.back() = r;
  co_await save();
  running_ = false;
  stats_.runs.inc(DrillResult::kFailed);
  const std::string ended = "drill " + r.id + " failed: " + r.reason;
  co_await journal(EventKind::kDrillFailed, actor, ended);
}

asio::awaitable<void> DrillRunner::schedule() {
  boost::system::error_code ec;
  while (!stopped_) {
    wake_.expires_after(config_.drill.interval);
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) {
      co_return;
    }
    if (running_ || (ctx_.may_run_automatic && !ctx_.may_run_automatic())) {
      continue;
    }
    const std::string any_target;
    const std::string actor = "drill schedule";
    auto r = co_await run(any_target, actor, false);
    if (!r) {
      spdlog::warn("scheduled drill not run: {}", r.error().message);
    }
  }
}

}  // namespace haes
