#include "sync/snapshot_sync.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "sync/naming.hpp"

namespace haes {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ",") + s;
  }
  return out;
}

// The failure of an ES call as an Error whose message says what we tried.
Error es_error(const std::string& what, const Result<es::Response>& r) {
  if (!r) {
    return Error{r.error().code, what + ": " + r.error().message};
  }
  return Error{"es_error", what + ": " + r->error_summary()};
}

std::string ms(Duration d) { return format_duration(d); }

// Field access on ES answers that never throws: a missing field, or one of
// another type than documented, reads as null.
const json& at(const json& j, const char* key) {
  static const json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}

std::vector<std::string> string_list(const json& j) {
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& i : j) {
      if (i.is_string()) {
        out.push_back(i.get<std::string>());
      }
    }
  }
  return out;
}

}  // namespace

// Marks the sync busy for one operation; clears the step at the end.
// At shutdown the io_context destroys suspended coroutine frames after the
// SnapshotSync is gone: then (stopped) the destructor touches nothing.
class SnapshotSync::Busy {
 public:
  Busy(SnapshotSync& s, std::string operation) : s_(s), stopped_(s.stopped_) {
    s_.busy_ = true;
    s_.status_.operation = std::move(operation);
  }
  ~Busy() {
    if (*stopped_) {
      return;
    }
    s_.busy_ = false;
    s_.status_.step.clear();
    s_.status_.operation.clear();
  }

 private:
  SnapshotSync& s_;
  std::shared_ptr<bool> stopped_;
};

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
    if (!busy_) {
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

Result<SnapshotSync::Plan> SnapshotSync::make_plan(const std::string& target_wanted) const {
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
  if (!is_serving(health_of(p.target))) {
    return Error{"target_unhealthy", "the passive cluster " + p.target + " is " +
                                         std::string(to_string(health_of(p.target))) +
                                         ": not restoring into it; retrying next interval"};
  }
  return p;
}

bool SnapshotSync::still(const Plan& p) const {
  const State& s = hooks_.state();
  return s.epoch == p.epoch && s.active == p.source;
}

Error SnapshotSync::roles_changed(const Plan& p, const std::string& before) const {
  const State& s = hooks_.state();
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

// ---- repository -------------------------------------------------------------

asio::awaitable<Result<void>> SnapshotSync::ensure_repositories(const Plan& p) {
  const auto& repo = sync_.repository;
  auto failed = [&](const std::string& cluster, Error e) {
    status_.repository[cluster] = "error: " + e.message;
    return e;
  };
  if (!repo.register_repository) {
    for (const auto& cluster : {p.target, p.source}) {
      step("checking repository " + repo.name + " on " + cluster);
      auto r = co_await client(cluster).request("GET", "/_snapshot/" + repo.name);
      if (!r || !r->ok()) {
        co_return failed(cluster, es_error("repository " + repo.name + " on " + cluster +
                                               " (sync.repository.register is false: register it yourself)",
                                           r));
      }
      status_.repository[cluster] = cluster == p.source ? "writer" : "readonly";
    }
    co_return Ok{};
  }
  // Order: the passive side is registered read-only first, so that after a
  // role change the old writer has stopped writing before the new writer
  // starts; the writer is registered and verified (its verification writes
  // a test blob, and creates an fs location); then the reader is verified.
  auto put = [&](const std::string& cluster, bool readonly) -> asio::awaitable<Result<void>> {
    step("registering repository " + repo.name + " on " + cluster + (readonly ? " (readonly)" : " (writer)"));
    json settings = repo.settings;
    if (readonly) {
      settings["readonly"] = true;
    } else {
      settings.erase("readonly");
    }
    json body = {{"type", repo.type}, {"settings", settings}};
    auto r = co_await client(cluster).request("PUT", "/_snapshot/" + repo.name, body.dump());
    if (!r || !r->ok()) {
      co_return failed(cluster, es_error("registering repository " + repo.name + " on " + cluster, r));
    }
    co_return Ok{};
  };
  auto verify = [&](const std::string& cluster) -> asio::awaitable<Result<void>> {
    step("verifying repository " + repo.name + " on " + cluster);
    auto v = co_await client(cluster).request("POST", "/_snapshot/" + repo.name + "/_verify");
    if (!v || !v->ok()) {
      co_return failed(cluster, es_error("verifying repository " + repo.name + " on " + cluster, v));
    }
    co_return Ok{};
  };
  if (auto r = co_await put(p.target, true); !r) {
    co_return r;
  }
  if (auto r = co_await put(p.source, false); !r) {
    co_return r;
  }
  if (auto r = co_await verify(p.source); !r) {
    co_return r;
  }
  if (auto r = co_await verify(p.target); !r) {
    co_return r;
  }
  status_.repository[p.source] = "writer";
  status_.repository[p.target] = "readonly";
  co_return Ok{};
}

asio::awaitable<void> SnapshotSync::check_dangers(const Plan& p) {
  status_.dangers.clear();
  auto r = co_await client(p.target).request("GET", "/_slm/policy");
  if (r && r->ok() && r->json.is_object() && !r->json.empty()) {
    std::string names;
    for (const auto& [k, v] : r->json.items()) {
      names += (names.empty() ? "" : ", ") + k;
    }
    status_.dangers.push_back("SLM policies on the passive cluster " + p.target + " (" + names +
                              "): their retention deletes snapshots, a write to the shared repository; "
                              "disable SLM on the passive side");
  }
}

// ---- snapshot and restore ---------------------------------------------------

asio::awaitable<Result<json>> SnapshotSync::take_snapshot(const Plan& p, const std::string& name) {
  const std::string repo = sync_.repository.name;
  auto& src = client(p.source);
  step("snapshot " + name + " of " + p.source);
  status_.last_snapshot = name;
  const auto started = std::chrono::steady_clock::now();
  json body = {{"indices", sync::index_expression(sync_.indices, sync_.include_system_indices)},
               {"include_global_state", false},
               {"partial", false},
               {"metadata", {{"taken_by", "haes"}, {"epoch", p.epoch}, {"cluster", p.source}}}};
  auto r = co_await src.request("PUT", "/_snapshot/" + repo + "/" + name + "?wait_for_completion=false", body.dump());
  if (!r || !r->ok()) {
    co_return es_error("starting snapshot " + name + " on " + p.source, r);
  }
  const auto deadline = started + sync_.timeout;
  for (;;) {
    auto g = co_await src.request("GET", "/_snapshot/" + repo + "/" + name);
    if (g && g->ok() && at(g->json, "snapshots").is_array() && !g->json["snapshots"].empty()) {
      const json& info = g->json["snapshots"][0];
      std::string state = info.contains("state") && info["state"].is_string() ? info["state"].get<std::string>() : "";
      if (state != "IN_PROGRESS" && state != "STARTED" && !state.empty()) {
        status_.last_snapshot_took =
            std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
        if (state != "SUCCESS") {
          std::string failures = at(info, "failures").is_null() ? "" : info["failures"].dump().substr(0, 300);
          co_return Error{"snapshot_" + std::string(state == "PARTIAL" ? "partial" : "failed"),
                          "snapshot " + name + " of " + p.source + " ended " + state +
                              (failures.empty() || failures == "[]" ? "" : " (failures: " + failures + ")") +
                              ": never restored"};
        }
        co_return info;
      }
    } else if (g && !g->ok()) {
      co_return es_error("watching snapshot " + name + " on " + p.source, g);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      co_return Error{"timeout", "snapshot " + name + " of " + p.source + " still running after sync.timeout " +
                                     ms(sync_.timeout) + ": not restored"};
    }
    co_await sleep(std::chrono::milliseconds(200));
  }
}

asio::awaitable<Result<void>> SnapshotSync::restore(const Plan& p, const std::string& name,
                                                    const std::vector<std::string>& indices, bool unblock_writes) {
  const std::string repo = sync_.repository.name;
  auto& dst = client(p.target);
  const auto started = std::chrono::steady_clock::now();
  if (indices.empty()) {
    status_.last_restore_took = Duration(0);
    co_return Ok{};
  }
  // Close the indices the restore replaces (ES refuses to restore over an
  // open index). Closing rather than deleting: if the restore fails, the
  // old copy is still there to reopen.
  step("closing " + std::to_string(indices.size()) + " index(es) on " + p.target + " before restore");
  auto cat = co_await dst.request("GET", "/_cat/indices?format=json");
  if (!cat || !cat->ok() || !cat->json.is_array()) {
    co_return es_error("listing indices on " + p.target, cat);
  }
  for (const auto& row : cat->json) {
    std::string idx = row.contains("index") && row["index"].is_string() ? row["index"].get<std::string>() : "";
    std::string st = row.contains("status") && row["status"].is_string() ? row["status"].get<std::string>() : "";
    if (st == "open" && std::find(indices.begin(), indices.end(), idx) != indices.end()) {
      if (!still(p)) {
        co_return roles_changed(p, "closing indices on " + p.target);
      }
      auto c = co_await dst.request("POST", "/" + idx + "/_close");
      if (!c || !c->ok()) {
        co_return es_error("closing " + idx + " on " + p.target, c);
      }
    }
  }
  if (!still(p)) {
    co_return roles_changed(p, "restoring into " + p.target);
  }
  step("restore " + name + " on " + p.target);
  json body = {{"indices", join(indices)}, {"include_global_state", false}, {"include_aliases", true}};
  if (unblock_writes) {
    body["index_settings"] = {{"index.blocks.write", false}};
  }
  auto r = co_await dst.request("POST", "/_snapshot/" + repo + "/" + name + "/_restore?wait_for_completion=true",
                                body.dump(), sync_.timeout);
  if (!r || !r->ok()) {
    co_return es_error("restoring " + name + " on " + p.target, r);
  }
  const json& shards = at(at(r->json, "snapshot"), "shards");
  int64_t failed = shards.is_object() && shards.contains("failed") && shards["failed"].is_number_integer()
                       ? shards["failed"].get<int64_t>()
                       : -1;
  if (failed != 0) {
    co_return Error{"restore_failed",
                    "restore of " + name + " on " + p.target + ": " +
                        (failed < 0 ? "no shard counts in the answer" : std::to_string(failed) + " of " +
                                                                            at(shards, "total").dump() +
                                                                            " shards failed") +
                        " (HTTP " + std::to_string(r->status) + "); the passive data is NOT usable until the next sync"};
  }
  // Judged by the indices' health, not by the HTTP status alone.
  step("waiting for restored indices on " + p.target);
  auto h = co_await dst.request("GET", "/_cluster/health/" + join(indices) + "?wait_for_status=green&timeout=30s",
                                {}, std::chrono::seconds(40));
  std::string status = h && h->json.is_object() && h->json.contains("status") && h->json["status"].is_string()
                           ? h->json["status"].get<std::string>()
                           : "";
  if (status != "green" && status != "yellow") {
    co_return Error{"restore_unusable", "restored indices on " + p.target + " are not usable (health " +
                                            (status.empty() ? (h ? h->error_summary() : h.error().message) : status) +
                                            ")"};
  }
  status_.last_restore_took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
  co_return Ok{};
}

asio::awaitable<Result<void>> SnapshotSync::set_write_block(const std::string& cluster, bool on) {
  std::string expr = sync::index_expression(sync_.indices, sync_.include_system_indices);
  json body = {{"index.blocks.write", on}};
  auto r = co_await client(cluster).request("PUT", "/" + expr + "/_settings", body.dump());
  if (!r || !r->ok()) {
    co_return es_error(std::string(on ? "blocking" : "unblocking") + " writes on " + cluster, r);
  }
  co_return Ok{};
}

asio::awaitable<void> SnapshotSync::retention(const Plan& p) {
  step("retention on " + sync_.repository.name);
  auto r = co_await client(p.source).request("GET", "/_snapshot/" + sync_.repository.name + "/_all");
  if (!r || !r->ok() || !at(r->json, "snapshots").is_array()) {
    spdlog::warn("sync retention: cannot list snapshots: {}", es_error("listing", r).message);
    co_return;
  }
  std::vector<sync::SnapshotEntry> list;
  for (const auto& s : r->json["snapshots"]) {
    sync::SnapshotEntry e;
    e.name = s.contains("snapshot") && s["snapshot"].is_string() ? s["snapshot"].get<std::string>() : "";
    e.state = s.contains("state") && s["state"].is_string() ? s["state"].get<std::string>() : "";
    if (s.contains("start_time_in_millis") && s["start_time_in_millis"].is_number_integer()) {
      e.start = from_unix_ms(s["start_time_in_millis"].get<int64_t>());
    }
    list.push_back(std::move(e));
  }
  auto victims = sync::retention_victims(list, sync_.retention_keep, sync_.retention_max_age,
                                         hooks_.state().last_sync.snapshot, now_sys());
  for (const auto& v : victims) {
    if (!still(p)) {
      co_return;
    }
    auto d = co_await client(p.source).request("DELETE", "/_snapshot/" + sync_.repository.name + "/" + v, {},
                                               std::chrono::minutes(5));
    if (d && d->ok()) {
      ++status_.snapshots_deleted;
      spdlog::info("sync retention: deleted snapshot {} (keep {}, max_age {})", v, sync_.retention_keep,
                   ms(sync_.retention_max_age));
    } else {
      spdlog::warn("sync retention: {}", es_error("deleting snapshot " + v, d).message);
    }
  }
}

// ---- operations -------------------------------------------------------------

asio::awaitable<Result<std::string>> SnapshotSync::sync_now(std::string actor) {
  if (busy_) {
    co_return Error{"busy", "a " + status_.operation + " is running (" + status_.step + ", since " +
                                format_time(status_.step_since) + "); try again when it ends"};
  }
  co_return co_await run_sync(actor);
}

asio::awaitable<Result<std::string>> SnapshotSync::run_sync(const std::string& actor) {
  Busy busy(*this, "sync");
  const auto t0 = std::chrono::steady_clock::now();
  status_.last_attempt_at = now_sys();
  auto plan = make_plan("");
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
                    " with snapshot " + name + " in " + ms(status_.last_sync_took) + " (snapshot " +
                    ms(status_.last_snapshot_took) + ", restore " + ms(status_.last_restore_took) + ")";
  spdlog::info("{}", msg);
  hooks_.journal(Event{0, now_sys(), p.epoch, "sync", actor, msg});
  co_return msg;
}

asio::awaitable<Result<std::string>> SnapshotSync::planned_switch(std::string target, std::string kind,
                                                                  std::string actor, std::string reason,
                                                                  bool dry_run) {
  if (busy_) {
    co_return Error{"busy", "a " + status_.operation + " is running (" + status_.step + ", since " +
                                format_time(status_.step_since) + "); try again when it ends"};
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
                    "; writes were unavailable for " + ms(window) + "; " + p.source +
                    " is passive and keeps its write block until the next sync";
  spdlog::warn("{}", msg);
  hooks_.journal(Event{0, now_sys(), hooks_.state().epoch, kind + "_sync", actor, msg});
  co_return *sw + "\n" + msg;
}

asio::awaitable<Result<std::string>> SnapshotSync::verify_restore(std::string actor) {
  if (busy_) {
    co_return Error{"busy", "a " + status_.operation + " is running (" + status_.step + "); try again when it ends"};
  }
  Busy busy(*this, "verify-restore");
  const State& s = hooks_.state();
  const SyncPoint sp = s.last_sync;
  auto record = [&](bool ok, const std::string& line) {
    status_.last_verify = line;
    status_.last_verify_at = now_sys();
    status_.last_verify_ok = ok;
    hooks_.journal(Event{0, now_sys(), s.epoch, ok ? "verify_restore" : "verify_restore_failed", actor, line});
    (ok ? spdlog::info("{}", line) : spdlog::error("{}", line));
  };
  if (sp.snapshot.empty()) {
    co_return Error{"never_synced", "nothing to verify: no sync has completed yet"};
  }
  if (sp.target == s.active) {
    co_return Error{"target_active", "the last synced snapshot " + sp.snapshot + " was restored on " + sp.target +
                                         ", which is active now; verify after the next sync into the passive cluster"};
  }
  auto& dst = client(sp.target);
  step("verify-restore " + sp.snapshot + " on " + sp.target);
  auto info = co_await dst.request("GET", "/_snapshot/" + sync_.repository.name + "/" + sp.snapshot);
  if (!info || !info->ok() || !at(info->json, "snapshots").is_array() || info->json["snapshots"].empty()) {
    Error e = es_error("reading snapshot " + sp.snapshot, info);
    record(false, "verify-restore failed: " + e.message);
    co_return e;
  }
  std::vector<std::string> indices = string_list(at(info->json["snapshots"][0], "indices"));
  const std::string prefix = "haes-verify-";
  json body = {{"indices", join(indices)},
               {"include_global_state", false},
               {"include_aliases", false},
               {"rename_pattern", "(.+)"},
               {"rename_replacement", prefix + "$1"}};
  auto r = co_await dst.request("POST", "/_snapshot/" + sync_.repository.name + "/" + sp.snapshot +
                                            "/_restore?wait_for_completion=true",
                                body.dump(), sync_.timeout);
  std::string problems;
  if (!r || !r->ok()) {
    problems = es_error("restore under scratch names", r).message;
  } else if (at(at(at(r->json, "snapshot"), "shards"), "failed") != json(0)) {
    problems = "restore under scratch names: " + at(at(r->json, "snapshot"), "shards").dump();
  }
  std::string counts;
  if (problems.empty()) {
    for (const auto& idx : indices) {
      auto a = co_await dst.request("GET", "/" + prefix + idx + "/_count");
      auto b = co_await dst.request("GET", "/" + idx + "/_count");
      auto count = [](const Result<es::Response>& x) -> int64_t {
        return x && x->ok() && x->json.contains("count") && x->json["count"].is_number_integer()
                   ? x->json["count"].get<int64_t>()
                   : -1;
      };
      int64_t ca = count(a), cb = count(b);
      counts += (counts.empty() ? "" : ", ") + idx + "=" + std::to_string(ca);
      if (ca < 0 || ca != cb) {
        problems += (problems.empty() ? "" : "; ") + idx + ": snapshot holds " + std::to_string(ca) +
                    " documents, the synced copy on " + sp.target + " " + std::to_string(cb);
      }
    }
  }
  // Scratch indices are deleted whatever the outcome.
  for (const auto& idx : indices) {
    (void)co_await dst.request("DELETE", "/" + prefix + idx);
  }
  if (!problems.empty()) {
    std::string line = "verify-restore of " + sp.snapshot + " on " + sp.target + " FAILED: " + problems;
    record(false, line);
    co_return Error{"verify_failed", line};
  }
  std::string line = "verify-restore of " + sp.snapshot + " on " + sp.target + " ok: " +
                     std::to_string(indices.size()) + " index(es) restored under scratch names, document counts match (" +
                     counts + "), scratch indices deleted";
  record(true, line);
  co_return line;
}

}  // namespace haes
