// The two renderings of the status model: Redis-INFO-like text (sections,
// snake_case keys, units in names) and JSON (`--json`).
#include <cstdio>

#include "ccr/report.hpp"
#include "status/report.hpp"

namespace haes {
namespace {

std::string or_none(const std::string& s) { return s.empty() ? "none" : s; }

std::string ms_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fms", ms);
  return buf;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ", ") + s;
  }
  return out;
}

int64_t ms_of(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

std::string time_or_empty(SysTime t) { return to_unix_ms(t) == 0 ? "" : format_time(t); }

std::string last_result_word(SyncResult r) { return r == SyncResult::kNever ? "" : std::string(to_string(r)); }

std::string running_text(const SyncStatus& st) {
  return st.running() ? std::string(to_string(st.operation)) + ": " + st.step : "";
}

std::string sync_text(const SyncReport& s, const StatusReport& r) {
  const SyncStatus& st = s.status;
  const SyncPoint& sp = s.last_sync;
  std::string t;
  t += "sync: every " + format_duration(s.interval) + ", repository " + s.repository + " (" + s.repository_type + ")\n";
  t += "running: " + (st.running() ? running_text(st) + " since " + format_time(st.step_since) : "no") + "\n";
  if (sp.snapshot.empty()) {
    t += "last_synced_snapshot: none yet\n";
  } else {
    t += "last_synced_snapshot: " + sp.snapshot + " from " + sp.source + " to " + sp.target + ", started " +
         format_time(sp.started_at) + ", restored " + format_time(sp.finished_at) + "\n";
  }
  if (s.passive_data_age_seconds) {
    t += "passive_data_age_seconds: " + std::to_string(*s.passive_data_age_seconds) + " (RPO if " + r.active +
         " failed now: writes since " + format_time(sp.started_at) + " would be missing on " + s.passive + ")\n";
  } else {
    t += "passive_data_age_seconds: unknown (" + s.passive + " has not received a sync" +
         (sp.snapshot.empty() ? "" : " since the roles changed") + ")\n";
  }
  t += "last_result: " +
       (st.last_result == SyncResult::kNever
            ? std::string("none yet")
            : std::string(to_string(st.last_result)) + " at " + format_time(st.last_attempt_at)) +
       "\n";
  if (!st.last_error.empty()) {
    t += "last_error: " + st.last_error + " (at " + format_time(st.last_error_at) + ")\n";
  }
  t += "last_durations: snapshot " + format_duration(st.last_snapshot_took) + ", restore " +
       format_duration(st.last_restore_took) + ", total " + format_duration(st.last_sync_took) + "\n";
  if (st.copy) {
    const CopyStatus& c = *st.copy;
    t += "last_copy: rsync " + c.from + " -> " + c.to + ", " + std::to_string(c.last_files) + " file(s), " +
         std::to_string(c.last_bytes) + " bytes in " + format_duration(c.last_took) + " at " + format_time(c.last_at) +
         (c.last_error.empty() ? "" : " FAILED: " + c.last_error) + "\n";
  }
  if (s.hold.held) {
    t += "held: yes, by " + s.hold.by + " since " + format_time(s.hold.since) +
         (s.hold.reason.empty() ? "" : " (" + s.hold.reason + ")") +
         ": no snapshot, no restore until 'haesctl sync release'\n";
  }
  t += "next_sync: " + (s.hold.held ? std::string("none while held") : format_time(st.next_at)) + "\n";
  for (const auto& [cluster, repo] : st.repository) {
    t += "repository_" + cluster + ": " +
         (repo.role == RepositoryRole::kError ? "error: " + repo.error : std::string(to_string(repo.role))) + "\n";
  }
  for (const auto& d : st.dangers) {
    t += "DANGER: " + d + "\n";
  }
  if (st.last_verify_ok) {
    t += "last_verify_restore: " + st.last_verify + " (at " + format_time(st.last_verify_at) + ")\n";
  }
  if (!s.write_block.cluster.empty()) {
    t += "writes_blocked: " + s.write_block.cluster + " since " + format_time(s.write_block.since) + " by " +
         s.write_block.by +
         (s.write_block.fence ? " (fenced by a failover, against clients that bypass HAProxy: kept while it is "
                                "fenced, lifted when it becomes active again or by a failback)\n"
          : s.write_block.cluster == r.active
              ? " (a planned switchover in progress)\n"
              : " (left by a planned switchover: lifted when a sync replaces its indices, or "
                "at once if it becomes active)\n");
  }
  if (st.last_write_block) {
    t += "last_switchover_write_block: " + format_duration(*st.last_write_block) + "\n";
  }
  return t;
}

std::string vitals_text(const StatusReport& r) {
  std::string t = "# vitals\n";
  if (r.vitals_interval.count() == 0) {
    return t + "vitals: not read (vitals.interval: 0s)\n";
  }
  for (const auto& vr : r.vitals) {
    const ClusterVitals& v = vr.vitals;
    t += v.cluster + ": ";
    if (!v.last) {
      t += "not read yet (every " + format_duration(r.vitals_interval) + ")" +
           (v.error.empty() ? "" : " — last read failed: " + v.error) + "\n";
      continue;
    }
    const VitalsReading& g = *v.last;
    const VitalsJudgement& j = v.judgement;
    t += std::string(to_string(j.level));
    t += ", disk " + (j.disk_max_ratio ? percent_text(*j.disk_max_ratio) + " max (" + j.disk_max_node + ")"
                                       : std::string("unknown"));
    t += ", heap " + (j.heap_max_ratio ? percent_text(*j.heap_max_ratio) + " max (" + j.heap_max_node + ")"
                                       : std::string("unknown"));
    t += ", nodes " + std::to_string(g.health.number_of_nodes) + "/" + std::to_string(v.nodes_configured) +
         " configured";
    t += ", unassigned_shards " + std::to_string(g.health.unassigned_shards);
    if (!g.read_only_indices.empty()) {
      t += ", read_only_indices " + std::to_string(g.read_only_indices.size());
    }
    t += ", read " + std::to_string(vr.age_seconds) + "s ago from " + g.from;
    std::string concerns;
    for (const auto& c : j.concerns) {
      concerns += (concerns.empty() ? "" : "; ") + c.text;
    }
    if (!concerns.empty()) {
      t += " — " + concerns;
    }
    if (!v.error.empty()) {
      t += " — LAST READ FAILED: " + v.error;
    }
    t += "\n";
  }
  return t;
}

std::string readiness_text(const StatusReport& r) {
  std::string t = "# readiness\n";
  if (!r.readiness) {
    t += "ready to take over: unknown (no health round yet)\n";
  } else {
    const ReadinessVerdict& v = *r.readiness;
    t += "ready to take over: " + readiness_line(v) + (v.target.empty() ? "" : " (" + v.target + ")") + "\n";
    for (size_t i = 1; i < v.reasons.size(); ++i) {
      t += "  also: " + v.reasons[i].text + "\n";
    }
    if (v.disk_used_ratio && v.disk_projected_ratio) {
      t += "  disk: " + percent_text(*v.disk_used_ratio) + " used on " + v.target + ", " +
           percent_text(*v.disk_projected_ratio) + " with " + v.active + "'s " +
           bytes_text(v.active_data_bytes.value_or(0)) + " and the margin\n";
    }
    if (v.shards_needed && v.shard_limit) {
      t += "  shards: " + std::to_string(*v.shards_needed) + " needed, limit " + std::to_string(*v.shard_limit) + "\n";
    }
    if (v.indices_expected > 0) {
      t += "  synced_indices_checked: " + std::to_string(v.indices_expected) + "\n";
    }
  }
  if (r.drills) {
    t += "last_drill: " + (r.last_drill ? drill_summary(*r.last_drill, r.now) : std::string("none")) + "\n";
  }
  return t;
}

nlohmann::json readiness_status_json(const StatusReport& r) {
  nlohmann::json j = r.readiness ? readiness_json(*r.readiness) : nlohmann::json{{"ready", "unknown"}};
  j["last_drill"] = r.last_drill ? drill_report_json(*r.last_drill) : nlohmann::json();
  return j;
}

nlohmann::json opt_json(const std::optional<double>& d) { return d ? nlohmann::json(*d) : nlohmann::json(); }

nlohmann::json vitals_json(const StatusReport& r) {
  nlohmann::json clusters = nlohmann::json::array();
  for (const auto& vr : r.vitals) {
    const ClusterVitals& v = vr.vitals;
    nlohmann::json c = {{"cluster", v.cluster},
                        {"read", v.last.has_value()},
                        {"level", to_string(v.last ? v.judgement.level : VitalsLevel::kUnknown)},
                        {"age_seconds", vr.age_seconds},
                        {"nodes_configured", v.nodes_configured},
                        {"error", v.error}};
    if (v.last) {
      const VitalsReading& g = *v.last;
      const VitalsJudgement& j = v.judgement;
      nlohmann::json nodes = nlohmann::json::array();
      for (const auto& n : g.nodes) {
        nodes.push_back({{"name", n.name},
                         {"disk_used_ratio", opt_json(n.disk_used_ratio)},
                         {"disk_total_bytes", n.disk_total_bytes},
                         {"disk_available_bytes", n.disk_available_bytes},
                         {"heap_used_ratio", opt_json(n.heap_used_ratio)},
                         {"heap_used_bytes", n.heap_used_bytes},
                         {"heap_max_bytes", n.heap_max_bytes}});
      }
      nlohmann::json concerns = nlohmann::json::array();
      for (const auto& x : j.concerns) {
        concerns.push_back({{"level", to_string(x.level)}, {"text", x.text}});
      }
      c["at"] = format_time(g.at);
      c["from"] = g.from;
      c["nodes"] = nodes;
      c["nodes_present"] = g.health.number_of_nodes;
      c["data_nodes"] = g.health.number_of_data_nodes;
      c["status"] = g.health.status;
      c["unassigned_shards"] = g.health.unassigned_shards;
      c["unassigned_primary_shards"] =
          g.health.unassigned_primary_shards ? nlohmann::json(*g.health.unassigned_primary_shards) : nlohmann::json();
      c["initializing_shards"] = g.health.initializing_shards;
      c["relocating_shards"] = g.health.relocating_shards;
      c["delayed_unassigned_shards"] = g.health.delayed_unassigned_shards;
      c["pending_tasks"] = g.health.number_of_pending_tasks;
      c["active_shards_percent"] = g.health.active_shards_percent;
      c["read_only_indices"] = g.read_only_indices;
      c["disk_max_ratio"] = opt_json(j.disk_max_ratio);
      c["disk_max_node"] = j.disk_max_node;
      c["heap_max_ratio"] = opt_json(j.heap_max_ratio);
      c["heap_max_node"] = j.heap_max_node;
      c["concerns"] = concerns;
    }
    clusters.push_back(std::move(c));
  }
  return {{"interval_ms", ms_of(r.vitals_interval)}, {"clusters", clusters}};
}

std::string pair_text(const PairReport& p) {
  std::string t = "# agents\n";
  t += "agent: " + p.agent + (p.this_is_leader ? " (leader)" : "") + "\n";
  t += "leader: " + (p.leader.empty() ? std::string("none (an election is under way)") : p.leader) + "\n";
  std::string eps;
  for (const auto& e : p.endpoints) {
    eps += (eps.empty() ? "" : ", ") + e.url +
           (e.ok              ? " ok"
            : e.error.empty() ? " (not used yet)"
                              : " DOWN (" + e.error + ")");
  }
  t += "etcd: " + eps + "; answering: " + p.current_endpoint + "; prefix " + p.prefix + "\n";
  t += "view_age_ms: " + (p.view_age_ms < 0 ? std::string("never read") : std::to_string(p.view_age_ms)) +
       (p.failsafe ? " (FAILSAFE: " + p.failsafe_text + ")" : "") +
       (p.store_error.empty() ? "" : "; last etcd error: " + p.store_error) + "\n";
  t += "verdicts: " + (p.window_open ? std::string("may be positive") : "NEGATIVE: " + p.window_text) + "\n";
  for (const auto& a : p.agents) {
    t += "agent_" + a.name + ": " + (a.live ? "live" : "NOT LIVE (no record: down or cut off from etcd)") +
         (a.leader ? ", leader" : "") + (a.self ? ", this agent" : "") +
         (a.live ? ", epoch " + std::to_string(a.epoch) + ", active " + (a.active.empty() ? "none" : a.active) +
                       ", record " + std::to_string(a.record_age_ms) + "ms old" +
                       (a.seen.empty() ? "" : "; sees " + a.seen)
                 : "") +
         "\n";
  }
  if (!p.confirmation.empty()) {
    t += "failover_confirmation: " + p.confirmation + "\n";
  }
  return t;
}

nlohmann::json pair_json(const std::optional<PairReport>& p) {
  if (!p) {
    return nullptr;
  }
  nlohmann::json eps = nlohmann::json::array();
  for (const auto& e : p->endpoints) {
    eps.push_back({{"url", e.url}, {"ok", e.ok}, {"error", e.error}});
  }
  nlohmann::json agents = nlohmann::json::array();
  for (const auto& a : p->agents) {
    agents.push_back({{"name", a.name},
                      {"self", a.self},
                      {"live", a.live},
                      {"leader", a.leader},
                      {"epoch", a.epoch},
                      {"active", a.active},
                      {"record_age_ms", a.record_age_ms},
                      {"seen", a.seen}});
  }
  return {{"agent", p->agent},
          {"leader", p->leader},
          {"this_is_leader", p->this_is_leader},
          {"prefix", p->prefix},
          {"endpoints", eps},
          {"current_endpoint", p->current_endpoint},
          {"store_error", p->store_error},
          {"view_age_ms", p->view_age_ms},
          {"failsafe", p->failsafe},
          {"failsafe_text", p->failsafe_text},
          {"window_open", p->window_open},
          {"window_text", p->window_text},
          {"members_version", p->members_version},
          {"agents", agents},
          {"confirmation", p->confirmation}};
}

nlohmann::json copy_json(const std::optional<CopyStatus>& c) {
  if (!c) {
    return nullptr;
  }
  return {{"from", c->from},
          {"to", c->to},
          {"at", format_time(c->last_at)},
          {"ms", ms_of(c->last_took)},
          {"bytes", c->last_bytes},
          {"files", c->last_files},
          {"deleted", c->last_deleted},
          {"error", c->last_error}};
}

nlohmann::json sync_json(const std::optional<SyncReport>& s) {
  if (!s) {
    return {{"configured", false}};
  }
  const SyncStatus& st = s->status;
  const SyncPoint& sp = s->last_sync;
  nlohmann::json repos = nlohmann::json::object();
  for (const auto& [cluster, repo] : st.repository) {
    repos[cluster] = repo.role == RepositoryRole::kError ? "error: " + repo.error : std::string(to_string(repo.role));
  }
  return {{"configured", true},
          {"held", s->hold.held},
          {"hold",
           {{"by", s->hold.by}, {"reason", s->hold.reason}, {"since", s->hold.held ? format_time(s->hold.since) : ""}}},
          {"running", running_text(st)},
          {"last_synced_snapshot", sp.snapshot},
          {"source", sp.source},
          {"target", sp.target},
          {"started_at", sp.snapshot.empty() ? "" : format_time(sp.started_at)},
          {"finished_at", sp.snapshot.empty() ? "" : format_time(sp.finished_at)},
          {"passive_data_age_seconds", s->passive_data_age_seconds ? *s->passive_data_age_seconds : -1},
          {"last_result", last_result_word(st.last_result)},
          {"last_error", st.last_error},
          {"last_snapshot", st.last_snapshot},
          {"snapshot_ms", ms_of(st.last_snapshot_took)},
          {"restore_ms", ms_of(st.last_restore_took)},
          {"total_ms", ms_of(st.last_sync_took)},
          {"copy", copy_json(st.copy)},
          {"next_sync", s->hold.held ? "" : time_or_empty(st.next_at)},
          {"repository", repos},
          {"dangers", st.dangers},
          {"writes_blocked", s->write_block.cluster},
          {"writes_blocked_by_fence", s->write_block.fence},
          {"last_verify", st.last_verify},
          {"last_verify_ok", st.last_verify_ok ? nlohmann::json(*st.last_verify_ok) : nlohmann::json()},
          {"last_write_block_ms", st.last_write_block ? ms_of(*st.last_write_block) : -1}};
}

}  // namespace

std::string render_status_text(const StatusReport& r) {
  std::string t;
  t += "# roles\n";
  t += "epoch: " + std::to_string(r.epoch) + "\n";
  t += "active: " + or_none(r.active) + "\n";
  t += "may_take_traffic: " + (!r.may_take_traffic.empty() ? r.may_take_traffic : "none (" + r.verdict_reason + ")") +
       "\n";
  t += "fenced: " + or_none(join(r.fenced)) + "\n";
  t += "preferred: " + r.preferred + "\n";
  t += "last_change: " + format_time(r.changed_at) + " by " + r.changed_by + ": " + r.change_reason + "\n";
  t += "# automatic failover\n";
  t += std::string("automatic: ") + (r.automatic ? "on" : "off (failover.automatic: false)") + "\n";
  if (r.paused) {
    t += "paused: yes, by " + r.pause.by + " since " + format_time(r.pause.since) +
         (to_unix_ms(r.pause.until) == 0 ? ", until resumed" : ", until " + format_time(r.pause.until)) +
         (r.pause.reason.empty() ? "" : " (" + r.pause.reason + ")") + "\n";
  } else {
    t += "paused: no\n";
  }
  if (r.held_down) {
    t += "hold_down: blocked until " + format_time(r.hold_down_until) + " (" +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(r.hold_down_until - r.now).count()) +
         "s left; haesctl ack ends it)\n";
  } else {
    t += "hold_down: none\n";
  }
  t += "robot: " + std::string(to_string(r.blocker)) + (r.blocker_text.empty() ? "" : " — " + r.blocker_text) + "\n";
  t += "fail_threshold: " + std::to_string(r.fail_threshold) + " rounds of " + format_duration(r.interval) + "\n";
  t += "# clusters\n";
  for (const auto& c : r.clusters) {
    t += c.name + ": " + std::string(to_string(c.role)) + ", " +
         (c.probed ? std::string(to_string(c.health)) : "not probed yet") +
         (c.may_take_traffic ? ", takes traffic" : ", no traffic") +
         (c.bad_rounds > 0 ? ", bad_rounds " + std::to_string(c.bad_rounds) + "/" + std::to_string(r.fail_threshold)
                           : "") +
         (c.reason.empty() ? "" : " — " + c.reason) + "\n";
    for (const auto& n : c.nodes) {
      t += "  " + n.name + " " + n.url + ": " + (n.probed ? std::string(to_string(n.health)) : "unknown") +
           (n.probed && n.health != Health::kUnreachable ? " in " + ms_text(n.latency_ms) : "") +
           (n.probed && n.health == Health::kUnreachable ? " [" + std::string(to_string(n.failure)) + "]" : "") +
           (n.version.empty() ? "" : " (ES " + n.version + ")") + (n.reason.empty() ? "" : " — " + n.reason) + "\n";
    }
  }
  t += vitals_text(r);
  t += readiness_text(r);
  t += "# store\n";
  t += "store: " + r.store + "\n";
  t += "health_round: " +
       (r.health_round ? std::to_string(r.health_round) + " at " + format_time(r.health_round_at) : "none yet") + "\n";
  if (r.pair) {
    t += pair_text(*r.pair);
  }
  t += "# sync\n";
  if (r.ccr) {
    t += ccr::status_text(*r.ccr, r.now);
  } else {
    t += r.sync ? sync_text(*r.sync, r) : "sync: not configured\n";
  }
  t += "# next\n";
  t += "next_step: " + r.next_text;
  return t;
}

nlohmann::json render_status_json(const StatusReport& r) {
  nlohmann::json clusters = nlohmann::json::array();
  for (const auto& c : r.clusters) {
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto& n : c.nodes) {
      nodes.push_back({{"name", n.name},
                       {"url", n.url},
                       {"health", to_string(n.health)},
                       {"failure", to_string(n.failure)},
                       {"latency_ms", n.latency_ms},
                       {"version", n.version},
                       {"reason", n.reason}});
    }
    clusters.push_back({{"name", c.name},
                        {"role", to_string(c.role)},
                        {"health", to_string(c.health)},
                        {"reason", c.reason},
                        {"may_take_traffic", c.may_take_traffic},
                        {"bad_rounds", c.bad_rounds},
                        {"nodes", nodes}});
  }
  return {{"epoch", r.epoch},
          {"active", r.active},
          {"may_take_traffic", r.may_take_traffic},
          {"verdict_reason", r.verdict_reason},
          {"fenced", r.fenced},
          {"preferred", r.preferred},
          {"last_change", {{"at", format_time(r.changed_at)}, {"by", r.changed_by}, {"reason", r.change_reason}}},
          {"automatic", r.automatic},
          {"paused", r.paused},
          {"pause",
           {{"by", r.pause.by},
            {"reason", r.pause.reason},
            {"until", to_unix_ms(r.pause.until) == 0 ? "" : format_time(r.pause.until)}}},
          {"hold_down_until", r.held_down ? format_time(r.hold_down_until) : ""},
          {"robot", {{"blocker", to_string(r.blocker)}, {"text", r.blocker_text}}},
          {"clusters", clusters},
          {"store", r.store},
          {"health_round", r.health_round},
          {"vitals", vitals_json(r)},
          {"readiness", readiness_status_json(r)},
          {"sync", r.ccr ? ccr::status_json(*r.ccr, r.now) : sync_json(r.sync)},
          {"pair", pair_json(r.pair)},
          {"next_step", r.next_text},
          {"next_step_kind", to_string(r.next)}};
}

}  // namespace haes
