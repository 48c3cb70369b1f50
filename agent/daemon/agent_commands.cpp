// The admin socket's commands (docs/admin.md): the table and its handlers.
// Runs on the control thread.
#include <spdlog/spdlog.h>

#include "daemon/agent.hpp"

namespace haes {
namespace {

const admin::FlagSpec kDryRun{"--dry-run", false, "say what would happen, change nothing"};
const admin::FlagSpec kReason{"--reason", true, "why (journaled)"};

std::string or_none(const std::string& s) { return s.empty() ? "none" : s; }

std::string ms_of(std::chrono::microseconds us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fms", static_cast<double>(us.count()) / 1000.0);
  return buf;
}

nlohmann::json event_json(const Event& e) {
  return {{"seq", e.seq}, {"at", format_time(e.at)}, {"epoch", e.epoch}, {"kind", e.kind}, {"actor", e.actor},
          {"message", e.message}};
}

}  // namespace

boost::asio::awaitable<admin::Reply> Agent::planned(CommandKind kind, admin::Args a, admin::Peer peer) {
  const std::string name(to_string(kind));
  std::string target = kind == CommandKind::kFailback ? config_.preferred : a.get("--to");
  if (target.empty()) {
    ++command_results_[name + "/usage"];
    co_return admin::Reply::error("usage", name + " needs --to CLUSTER; usage: " + name + " --to CLUSTER");
  }
  if (!config_.find_cluster(target)) {
    ++command_results_[name + "/usage"];
    co_return admin::Reply::error("usage", "unknown cluster '" + target + "'");
  }
  const bool dry = a.has("--dry-run");
  spdlog::info("admin: {} ran '{} {}{}' (planned, with a final sync)", peer.actor(), name, target, dry ? " --dry-run" : "");
  auto r = co_await sync_->planned_switch(target, name, peer.actor(), a.get("--reason"), dry);
  if (!r) {
    ++command_results_[name + "/refused"];
    refresh_control_metrics();
    co_return admin::Reply::error(r.error().code, r.error().message);
  }
  ++command_results_[name + (dry ? "/dry_run" : "/ok")];
  refresh_control_metrics();
  admin::Reply out;
  out.text = *r;
  out.json = {{"ok", true}, {"reply", *r}, {"dry_run", dry}, {"epoch", state_.epoch}, {"active", state_.active}};
  co_return out;
}

boost::asio::awaitable<admin::Reply> Agent::sync_command(bool verify, admin::Peer peer) {
  if (!sync_) {
    co_return admin::Reply::error("sync_off", "snapshot sync is not configured (no sync: section; docs/sync.md)");
  }
  // Not a conditional expression: GCC 12 miscompiles co_await inside ?: (a
  // use-after-free that ASan caught in tests/sanitize).
  Result<std::string> r = Error{"", ""};
  if (verify) {
    r = co_await sync_->verify_restore(peer.actor());
  } else {
    r = co_await sync_->sync_now(peer.actor());
  }
  refresh_control_metrics();
  if (!r) {
    co_return admin::Reply::error(r.error().code, (verify ? "" : "sync failed: ") + r.error().message);
  }
  admin::Reply out;
  out.text = *r;
  out.json = {{"ok", true}, {"reply", *r}};
  co_return out;
}

admin::Reply Agent::sync_hold_command(bool hold, const admin::Args& a, const admin::Peer& peer) {
  const std::string name = hold ? "sync_hold" : "sync_release";
  auto count = [&](const std::string& result) { ++command_results_[name + "/" + result]; };
  if (!sync_) {
    count("refused");
    return admin::Reply::error("sync_off", "snapshot sync is not configured (no sync: section; docs/sync.md)");
  }
  const bool dry = a.has("--dry-run");
  const SyncHold& now_hold = state_.sync_hold;
  std::string reply;
  if (hold && now_hold.held) {
    reply = "syncs are already held by " + now_hold.by + " since " + format_time(now_hold.since) + "; nothing changed";
  } else if (!hold && !now_hold.held) {
    reply = "syncs are not held; nothing changed";
  }
  if (!reply.empty()) {
    count("noop");
    admin::Reply r;
    r.text = reply;
    r.json = {{"ok", true}, {"reply", reply}, {"changed", false}};
    return r;
  }
  State next = state_;
  if (hold) {
    next.sync_hold = {true, peer.actor(), a.get("--reason"), now_sys()};
    reply = "syncs held: nothing is snapshotted or restored until 'haesctl sync release'" +
            std::string(sync_->status().step.empty() ? "" : "; the running " + sync_->status().operation +
                                                                 " stops before its next step");
  } else {
    next.sync_hold = {};
    reply = "syncs released (held by " + now_hold.by + " since " + format_time(now_hold.since) +
            "); the next sync runs on schedule, or now with haesctl sync now";
  }
  spdlog::info("admin: {} ran '{}{}': {}", peer.actor(), hold ? "sync hold" : "sync release", dry ? " --dry-run" : "",
               reply);
  if (dry) {
    count("dry_run");
    admin::Reply r;
    r.text = "dry run: " + reply;
    r.json = {{"ok", true}, {"reply", r.text}, {"dry_run", true}, {"changed", false}};
    return r;
  }
  Decision d;
  d.next = next;
  d.events.push_back(Event{0, now_sys(), state_.epoch, name, peer.actor(),
                           reply + (hold && !next.sync_hold.reason.empty() ? " — " + next.sync_hold.reason : "")});
  std::string err;
  if (!apply(d, &err)) {
    count("store_error");
    return admin::Reply::error("store_error", err);
  }
  count("ok");
  refresh_control_metrics();
  admin::Reply r;
  r.text = reply;
  r.json = {{"ok", true}, {"reply", reply}, {"dry_run", false}, {"changed", true}};
  return r;
}

void Agent::register_commands() {
  // With sync configured, a planned move (the command just added) first
  // syncs with writes blocked: see SnapshotSync::planned_switch.
  auto planned_with_sync = [this](CommandKind kind) {
    if (!sync_) {
      return;
    }
    auto& spec = commands_.commands_mutable().back();
    spec.handler = nullptr;
    spec.async_handler = [this, kind](admin::Args a, admin::Peer p) { return planned(kind, std::move(a), std::move(p)); };
    spec.help += " — with sync: blocks writes, final snapshot and restore first (no loss)";
  };
  using admin::Args;
  using admin::CommandSpec;
  using admin::Peer;
  using admin::Reply;
  commands_.add(CommandSpec{{"status"}, "status", "roles, epoch, health of every node, what blocks the robot", {}, 0,
                            false, [this](const Args& a, const Peer&) { return status(a); }});
  commands_.add(CommandSpec{{"events"}, "events [N]", "the last N journal events (default 20)", {}, 1, false,
                            [this](const Args& a, const Peer&) { return events(a); }});
  commands_.add(CommandSpec{{"failback"}, "failback [--reason TEXT] [--dry-run]",
                            "make the preferred cluster active again (it must be green or yellow)",
                            {kReason, kDryRun}, 0, true,
                            [this](const Args& a, const Peer& p) { return command(CommandKind::kFailback, a, p); }});
  planned_with_sync(CommandKind::kFailback);
  commands_.add(CommandSpec{{"switchover"}, "switchover --to CLUSTER [--reason TEXT] [--dry-run]",
                            "planned move of the active role (CLUSTER must be green or yellow)",
                            {{"--to", true, "target cluster"}, kReason, kDryRun}, 0, true,
                            [this](const Args& a, const Peer& p) { return command(CommandKind::kSwitchover, a, p); }});
  planned_with_sync(CommandKind::kSwitchover);
  commands_.add(CommandSpec{{"failover"}, "failover --to CLUSTER [--force] [--reason TEXT] [--dry-run]",
                            "emergency move; --force skips the health check of CLUSTER",
                            {{"--to", true, "target cluster"}, {"--force", false, "skip the health check"}, kReason,
                             kDryRun},
                            0, true,
                            [this](const Args& a, const Peer& p) { return command(CommandKind::kFailover, a, p); }});
  commands_.add(CommandSpec{{"pause"}, "pause [--reason TEXT] [--for DURATION] [--dry-run]",
                            "no automatic failover until resumed (or for DURATION, e.g. 30m)",
                            {kReason, {"--for", true, "duration"}, kDryRun}, 0, true,
                            [this](const Args& a, const Peer& p) { return command(CommandKind::kPause, a, p); }});
  commands_.add(CommandSpec{{"resume"}, "resume [--dry-run]", "automatic failover allowed again", {kDryRun}, 0, true,
                            [this](const Args& a, const Peer& p) { return command(CommandKind::kResume, a, p); }});
  commands_.add(CommandSpec{{"ack"}, "ack [--dry-run]", "end the hold-down after a transition early", {kDryRun}, 0,
                            true, [this](const Args& a, const Peer& p) { return command(CommandKind::kAck, a, p); }});
  CommandSpec sync_now{{"sync", "now"}, "sync now", "run one snapshot sync now and wait for it", {}, 0, true, nullptr,
                       nullptr};
  sync_now.async_handler = [this](Args, Peer p) { return sync_command(false, std::move(p)); };
  commands_.add(std::move(sync_now));
  commands_.add(CommandSpec{{"sync", "hold"}, "sync hold [--reason TEXT] [--dry-run]",
                            "no snapshot and no restore until released (stored; survives a restart)",
                            {kReason, kDryRun}, 0, true,
                            [this](const Args& a, const Peer& p) { return sync_hold_command(true, a, p); }});
  commands_.add(CommandSpec{{"sync", "release"}, "sync release [--dry-run]", "end a sync hold", {kDryRun}, 0, true,
                            [this](const Args& a, const Peer& p) { return sync_hold_command(false, a, p); }});
  CommandSpec verify{{"verify-restore"}, "verify-restore",
                     "restore the last synced snapshot under scratch names on the passive cluster and compare counts",
                     {}, 0, true, nullptr, nullptr};
  verify.async_handler = [this](Args, Peer p) { return sync_command(true, std::move(p)); };
  commands_.add(std::move(verify));
  commands_.add(CommandSpec{{"show", "config"}, "show config", "the effective configuration (holds no secret)", {}, 0,
                            false, [this](const Args&, const Peer&) {
                              Reply r;
                              r.text = render_effective_config(config_);
                              r.json = {{"config", r.text}};
                              return r;
                            }});
  commands_.add(CommandSpec{{"help"}, "help", "this list", {}, 0, false, [this](const Args&, const Peer&) {
                              Reply r;
                              r.text = commands_.help_text();
                              nlohmann::json list = nlohmann::json::array();
                              for (const auto& c : commands_.commands()) {
                                list.push_back({{"usage", c.usage}, {"help", c.help}, {"mutates", c.mutates}});
                              }
                              r.json = {{"commands", list}};
                              return r;
                            }});
}

admin::Reply Agent::command(CommandKind kind, const admin::Args& a, const admin::Peer& peer) {
  Command c;
  c.kind = kind;
  c.target = a.get("--to");
  c.force = a.has("--force");
  c.dry_run = a.has("--dry-run");
  c.reason = a.get("--reason");
  c.actor = peer.actor();
  const std::string name(to_string(kind));
  auto count = [&](const std::string& result) { ++command_results_[name + "/" + result]; };
  if ((kind == CommandKind::kSwitchover || kind == CommandKind::kFailover) && c.target.empty()) {
    count("usage");
    return admin::Reply::error("usage", name + " needs --to CLUSTER; usage: " + name + " --to CLUSTER");
  }
  if (!c.target.empty() && !config_.find_cluster(c.target)) {
    std::string known;
    for (const auto& cl : config_.clusters) {
      known += (known.empty() ? "" : ", ") + cl.name;
    }
    count("usage");
    return admin::Reply::error("usage", "unknown cluster '" + c.target + "'; clusters: " + known);
  }
  if (a.has("--for")) {
    auto d = parse_duration(a.get("--for"));
    if (!d || d->count() <= 0) {
      count("usage");
      return admin::Reply::error("usage", "--for: '" + a.get("--for") + "' is not a duration (e.g. 90s, 30m, 2h)");
    }
    c.for_duration = *d;
  }
  const SysTime now = now_sys();
  Decision d = controller_.on_command(state_, c, latest_round_ ? &*latest_round_ : nullptr, now);
  spdlog::info("admin: {} ran '{}{}{}': {}", c.actor, name, c.target.empty() ? "" : " --to " + c.target,
               c.dry_run ? " --dry-run" : "", d.ok ? d.reply : "refused: " + d.reply);
  if (!d.ok) {
    count("refused");
    // A refusal is journaled by the controller (events), nothing persisted.
    std::string err;
    apply(d, &err);
    admin::Reply r = admin::Reply::error(d.code, d.reply);
    return r;
  }
  std::string err;
  if (!apply(d, &err)) {
    count("store_error");
    return admin::Reply::error("store_error", err);
  }
  count(c.dry_run ? "dry_run" : "ok");
  admin::Reply r;
  r.text = d.reply;
  if (d.roles_changed) {
    r.text += "\nepoch " + std::to_string(state_.epoch) + ", active " + or_none(state_.active);
  }
  r.json = {{"ok", true},           {"reply", d.reply},          {"dry_run", c.dry_run},
            {"roles_changed", d.roles_changed}, {"epoch", state_.epoch}, {"active", state_.active}};
  return r;
}

std::string Agent::next_step_hint() const {
  const HealthRound* round = latest_round_ ? &*latest_round_ : nullptr;
  auto v = verdicts_.current();
  if (v && !v->allow) {
    return "NO cluster may take traffic (" + v->reason +
           "). If a cluster is healthy, move traffic there: haesctl failover --to CLUSTER (add --force only if you "
           "accept serving from a cluster the agent cannot confirm healthy)";
  }
  for (const auto& f : state_.fenced) {
    const auto* obs = round ? round->find(f) : nullptr;
    if (obs && is_serving(obs->health)) {
      std::string sync_note;
      if (sync_ && !state_.sync_hold.held) {
        sync_note = "; its next sync replaces the writes it took after the last sync point (haesctl sync hold "
                    "keeps them while you rescue them)";
      }
      return f + " is " + std::string(to_string(obs->health)) +
             " again but stays fenced; when you are ready: haesctl " +
             (f == config_.preferred ? "failback" : "switchover --to " + f) + sync_note;
    }
    return f + " is fenced (it lost the active role) and not healthy yet; nothing to do until it recovers";
  }
  const SysTime now = now_sys();
  if (state_.paused_at(now)) {
    return "automatic failover is paused; haesctl resume when the maintenance is over";
  }
  if (state_.held_down_at(now)) {
    return "nothing urgent: the active cluster serves; automatic failover is held down until " +
           format_time(state_.hold_down_until) + " after the last transition (haesctl ack re-arms it now)";
  }
  return "nothing: the active cluster serves and automatic failover is armed";
}

admin::Reply Agent::status(const admin::Args&) {
  const SysTime now = now_sys();
  const HealthRound* round = latest_round_ ? &*latest_round_ : nullptr;
  ControllerView view = controller_.view(state_, round, now);
  auto v = verdicts_.current();
  std::string t;
  nlohmann::json j;
  t += "# roles\n";
  t += "epoch: " + std::to_string(state_.epoch) + "\n";
  t += "active: " + or_none(state_.active) + "\n";
  t += "may_take_traffic: " + (v && v->allow ? v->cluster : std::string("none (") + (v ? v->reason : "") + ")") + "\n";
  std::string fenced;
  for (const auto& f : state_.fenced) {
    fenced += (fenced.empty() ? "" : ", ") + f;
  }
  t += "fenced: " + or_none(fenced) + "\n";
  t += "preferred: " + config_.preferred + "\n";
  t += "last_change: " + format_time(state_.changed_at) + " by " + state_.changed_by + ": " + state_.reason + "\n";
  t += "# automatic failover\n";
  t += std::string("automatic: ") + (config_.failover.automatic ? "on" : "off (failover.automatic: false)") + "\n";
  if (state_.paused_at(now)) {
    t += "paused: yes, by " + state_.pause.by + " since " + format_time(state_.pause.since) +
         (to_unix_ms(state_.pause.until) == 0 ? ", until resumed" : ", until " + format_time(state_.pause.until)) +
         (state_.pause.reason.empty() ? "" : " (" + state_.pause.reason + ")") + "\n";
  } else {
    t += "paused: no\n";
  }
  if (state_.held_down_at(now)) {
    t += "hold_down: blocked until " + format_time(state_.hold_down_until) + " (" +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(state_.hold_down_until - now).count()) +
         "s left; haesctl ack ends it)\n";
  } else {
    t += "hold_down: none\n";
  }
  t += "robot: " + std::string(to_string(view.blocker)) + (view.text.empty() ? "" : " — " + view.text) + "\n";
  t += "fail_threshold: " + std::to_string(config_.failover.fail_threshold) + " rounds of " +
       format_duration(config_.failover.interval) + "\n";
  t += "# clusters\n";
  nlohmann::json jclusters = nlohmann::json::array();
  for (const auto& c : config_.clusters) {
    const auto* obs = round ? round->find(c.name) : nullptr;
    const auto* cv = v ? v->find_cluster(c.name) : nullptr;
    std::string role = state_.active == c.name ? "active" : state_.is_fenced(c.name) ? "fenced" : "passive";
    int bad = controller_.bad_rounds(c.name);
    t += c.name + ": " + role + ", " + (obs ? std::string(to_string(obs->health)) : "not probed yet") +
         (cv && cv->may_take_traffic ? ", takes traffic" : ", no traffic") +
         (bad > 0 ? ", bad_rounds " + std::to_string(bad) + "/" + std::to_string(config_.failover.fail_threshold) : "") +
         (obs && !obs->reason.empty() ? " — " + obs->reason : "") + "\n";
    nlohmann::json jnodes = nlohmann::json::array();
    for (const auto& n : c.nodes) {
      const NodeObservation* no = obs ? obs->find_node(n.name) : nullptr;
      std::string version = monitor_->version_of(c.name, n.name);
      t += "  " + n.name + " " + n.url.text + ": " + (no ? std::string(to_string(no->health)) : "unknown") +
           (no && no->health != Health::kUnreachable ? " in " + ms_of(no->latency) : "") +
           (no && no->health == Health::kUnreachable ? " [" + std::string(to_string(no->failure)) + "]" : "") +
           (version.empty() ? "" : " (ES " + version + ")") + (no && !no->reason.empty() ? " — " + no->reason : "") +
           "\n";
      jnodes.push_back({{"name", n.name},
                        {"url", n.url.text},
                        {"health", no ? to_string(no->health) : "unknown"},
                        {"failure", no ? to_string(no->failure) : "none"},
                        {"latency_ms", no ? static_cast<double>(no->latency.count()) / 1000.0 : 0.0},
                        {"version", version},
                        {"reason", no ? no->reason : ""}});
    }
    jclusters.push_back({{"name", c.name},
                         {"role", role},
                         {"health", obs ? to_string(obs->health) : "unknown"},
                         {"reason", obs ? obs->reason : ""},
                         {"may_take_traffic", cv && cv->may_take_traffic},
                         {"bad_rounds", bad},
                         {"nodes", jnodes}});
  }
  t += "# store\n";
  t += "store: " + store_->describe() + "\n";
  t += "health_round: " + (round ? std::to_string(round->seq) + " at " + format_time(round->at) : "none yet") + "\n";
  t += "# sync\n";
  nlohmann::json jsync;
  t += sync_status_text(&jsync);
  t += "# next\n";
  std::string hint = next_step_hint();
  t += "next_step: " + hint;
  j = {{"epoch", state_.epoch},
       {"active", state_.active},
       {"may_take_traffic", v && v->allow ? v->cluster : ""},
       {"verdict_reason", v ? v->reason : ""},
       {"fenced", state_.fenced},
       {"preferred", config_.preferred},
       {"last_change", {{"at", format_time(state_.changed_at)}, {"by", state_.changed_by}, {"reason", state_.reason}}},
       {"automatic", config_.failover.automatic},
       {"paused", state_.paused_at(now)},
       {"pause", {{"by", state_.pause.by}, {"reason", state_.pause.reason},
                  {"until", to_unix_ms(state_.pause.until) == 0 ? "" : format_time(state_.pause.until)}}},
       {"hold_down_until", state_.held_down_at(now) ? format_time(state_.hold_down_until) : ""},
       {"robot", {{"blocker", to_string(view.blocker)}, {"text", view.text}}},
       {"clusters", jclusters},
       {"store", store_->describe()},
       {"health_round", round ? round->seq : 0},
       {"sync", jsync},
       {"next_step", hint}};
  admin::Reply r;
  r.text = std::move(t);
  r.json = std::move(j);
  return r;
}

std::string Agent::sync_status_text(nlohmann::json* j) const {
  if (!sync_) {
    *j = {{"configured", false}};
    return "sync: not configured\n";
  }
  const SysTime now = now_sys();
  const SyncStatus& st = sync_->status();
  const SyncPoint& sp = state_.last_sync;
  std::string passive;
  for (const auto& c : config_.clusters) {
    if (c.name != state_.active) {
      passive = c.name;
      break;
    }
  }
  std::string t;
  auto secs = [](Duration d) { return std::chrono::duration_cast<std::chrono::seconds>(d).count(); };
  t += "sync: every " + format_duration(config_.sync->interval) + ", repository " + config_.sync->repository.name + " (" +
       config_.sync->repository.type + ")\n";
  t += "running: " + (st.step.empty() ? std::string("no") : st.operation + ": " + st.step + " since " + format_time(st.step_since)) + "\n";
  if (sp.snapshot.empty()) {
    t += "last_synced_snapshot: none yet\n";
  } else {
    t += "last_synced_snapshot: " + sp.snapshot + " from " + sp.source + " to " + sp.target + ", started " +
         format_time(sp.started_at) + ", restored " + format_time(sp.finished_at) + "\n";
  }
  int64_t rpo = -1;
  if (!sp.snapshot.empty() && sp.target == passive) {
    rpo = secs(now - sp.started_at);
    t += "passive_data_age_seconds: " + std::to_string(rpo) + " (RPO if " + state_.active +
         " failed now: writes since " + format_time(sp.started_at) + " would be missing on " + passive + ")\n";
  } else {
    t += "passive_data_age_seconds: unknown (" + passive + " has not received a sync" +
         (sp.snapshot.empty() ? "" : " since the roles changed") + ")\n";
  }
  t += "last_result: " + (st.last_result.empty() ? std::string("none yet") : st.last_result) +
       (st.last_result.empty() ? "" : " at " + format_time(st.last_attempt_at)) + "\n";
  if (!st.last_error.empty()) {
    t += "last_error: " + st.last_error + " (at " + format_time(st.last_error_at) + ")\n";
  }
  t += "last_durations: snapshot " + format_duration(st.last_snapshot_took) + ", restore " +
       format_duration(st.last_restore_took) + ", total " + format_duration(st.last_sync_took) + "\n";
  const SyncHold& hold = state_.sync_hold;
  if (hold.held) {
    t += "held: yes, by " + hold.by + " since " + format_time(hold.since) +
         (hold.reason.empty() ? "" : " (" + hold.reason + ")") +
         ": no snapshot, no restore until 'haesctl sync release'\n";
  }
  t += "next_sync: " + (hold.held ? std::string("none while held") : format_time(st.next_at)) + "\n";
  for (const auto& [cluster, what] : st.repository) {
    t += "repository_" + cluster + ": " + what + "\n";
  }
  for (const auto& d : st.dangers) {
    t += "DANGER: " + d + "\n";
  }
  if (st.last_verify_ok) {
    t += "last_verify_restore: " + st.last_verify + " (at " + format_time(st.last_verify_at) + ")\n";
  }
  if (!state_.write_block.cluster.empty()) {
    t += "writes_blocked: " + state_.write_block.cluster + " since " + format_time(state_.write_block.since) + " by " +
         state_.write_block.by + " (a planned switchover in progress)\n";
  }
  if (st.last_write_block) {
    t += "last_switchover_write_block: " + format_duration(*st.last_write_block) + "\n";
  }
  *j = {{"configured", true},
        {"held", hold.held},
        {"hold", {{"by", hold.by}, {"reason", hold.reason}, {"since", hold.held ? format_time(hold.since) : ""}}},
        {"running", st.step.empty() ? "" : st.operation + ": " + st.step},
        {"last_synced_snapshot", sp.snapshot},
        {"source", sp.source},
        {"target", sp.target},
        {"started_at", sp.snapshot.empty() ? "" : format_time(sp.started_at)},
        {"finished_at", sp.snapshot.empty() ? "" : format_time(sp.finished_at)},
        {"passive_data_age_seconds", rpo},
        {"last_result", st.last_result},
        {"last_error", st.last_error},
        {"last_snapshot", st.last_snapshot},
        {"snapshot_ms", std::chrono::duration_cast<std::chrono::milliseconds>(st.last_snapshot_took).count()},
        {"restore_ms", std::chrono::duration_cast<std::chrono::milliseconds>(st.last_restore_took).count()},
        {"total_ms", std::chrono::duration_cast<std::chrono::milliseconds>(st.last_sync_took).count()},
        {"runs_ok", st.runs_ok},
        {"runs_failed", st.runs_failed},
        {"snapshots_deleted", st.snapshots_deleted},
        {"repository", st.repository},
        {"dangers", st.dangers},
        {"last_verify", st.last_verify},
        {"last_verify_ok", st.last_verify_ok ? nlohmann::json(*st.last_verify_ok) : nlohmann::json()},
        {"last_write_block_ms", st.last_write_block ? std::chrono::duration_cast<std::chrono::milliseconds>(*st.last_write_block).count() : -1}};
  return t;
}

admin::Reply Agent::events(const admin::Args& a) {
  size_t n = 20;
  if (!a.positional.empty()) {
    const std::string& s = a.positional[0];
    if (s.empty() || s.size() > 7 || s.find_first_not_of("0123456789") != std::string::npos || std::stoul(s) == 0) {
      return admin::Reply::error("usage", "events: N must be a positive number, got '" + s + "'");
    }
    n = std::stoul(s);
  }
  auto list = store_->events(n);
  admin::Reply r;
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& e : list) {
    r.text += (r.text.empty() ? "" : "\n") + std::to_string(e.seq) + " " + format_time(e.at) + " epoch " +
              std::to_string(e.epoch) + " " + e.kind + " by " + e.actor + ": " + e.message;
    arr.push_back(event_json(e));
  }
  if (r.text.empty()) {
    r.text = "no events";
  }
  r.json = {{"events", arr}};
  return r;
}

}  // namespace haes
