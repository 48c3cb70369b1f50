#include "metrics/metrics.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>

namespace haes {

const std::vector<MetricFamily>& metric_families() {
  static const std::vector<MetricFamily> kFamilies = {
      {"haes_up", "gauge", "1 while the agent runs."},
      {"haes_epoch", "gauge", "Current epoch: +1 on every role change."},
      {"haes_active_cluster", "gauge", "1 for the cluster holding the active role, 0 for the others."},
      {"haes_cluster_may_take_traffic", "gauge", "1 when the verdict lets the cluster take traffic."},
      {"haes_cluster_fenced", "gauge", "1 when the cluster lost the active role and waits for an operator."},
      {"haes_cluster_health", "gauge",
       "Cluster health by the documented rule: 1 for the current state label (green, yellow, red, unreachable, unknown)."},
      {"haes_cluster_bad_rounds", "gauge", "Consecutive red or unreachable rounds of the cluster (0 when good)."},
      {"haes_node_health", "gauge", "Node's answer: 1 for the current state label (green, yellow, red, unreachable, unknown)."},
      {"haes_node_probe_latency_seconds", "gauge", "Latency of the node's last health answer."},
      {"haes_node_probe_failures_total", "counter", "Failed probes by node and reason (connect, timeout, tls, auth, http_error, bad_body, no_master)."},
      {"haes_node_probes_total", "counter", "Probes sent, by node."},
      {"haes_health_rounds_total", "counter", "Completed health rounds."},
      {"haes_transitions_total", "counter", "Role changes since start, by kind (failover, forced_failover, failback, switchover)."},
      {"haes_commands_total", "counter", "Admin commands by command and result (ok, refused, usage, dry_run)."},
      {"haes_paused", "gauge", "1 while automatic failover is paused."},
      {"haes_automatic_blocked", "gauge", "1 while the robot may not fail over, by reason (paused, held_down, automatic_off, no_healthy_target)."},
      {"haes_hold_down_remaining_seconds", "gauge", "Seconds until automatic transitions are allowed again (0: not held down)."},
      {"haes_store_errors_total", "counter", "State store writes that failed (the transition did not happen)."},
      {"haes_hook_runs_total", "counter", "on_role_change hook runs by result (ok, failed, timeout)."},
      {"haes_sync_runs_total", "counter", "Snapshot syncs (and planned switchovers) by result (ok, failed)."},
      {"haes_sync_running", "gauge", "1 while a sync, switchover or restore verification runs."},
      {"haes_sync_held", "gauge", "1 while an operator holds the syncs (haesctl sync hold)."},
      {"haes_sync_last_success_timestamp_seconds", "gauge", "Unix time of the last successful sync (0: never)."},
      {"haes_sync_passive_data_age_seconds", "gauge",
       "Age of the passive cluster's data: the RPO if the active cluster failed now (-1: unknown, never synced into it)."},
      {"haes_sync_duration_seconds", "gauge", "Duration of the last sync's phases (snapshot, restore, total)."},
      {"haes_sync_snapshots_deleted_total", "counter", "Snapshots deleted by retention."},
      {"haes_sync_repository_ok", "gauge", "1 when the repository is registered and verified on the cluster."},
      {"haes_sync_dangers", "gauge", "Dangers found (e.g. SLM policies on the passive cluster)."},
      {"haes_switchover_write_block_seconds", "gauge", "Write-unavailable window of the last planned switchover (-1: none yet)."},
      {"haes_verify_restore_ok", "gauge", "Last restore verification: 1 ok, 0 failed, -1 never ran."},
      {"haes_spoe_connections", "gauge", "Open SPOP connections."},
      {"haes_spoe_connections_total", "counter", "SPOP connections accepted."},
      {"haes_spoe_healthchecks_total", "counter", "SPOP health-check HELLOs answered."},
      {"haes_spoe_messages_total", "counter", "NOTIFY frames received (haes-route messages)."},
      {"haes_spoe_acks_total", "counter", "ACK frames sent."},
      {"haes_spoe_disconnects_sent_total", "counter", "AGENT-DISCONNECT frames sent, by status code."},
      {"haes_spoe_latency_seconds", "histogram", "NOTIFY decoded to ACK queued."},
      {"haes_httpchk_total", "counter", "Health-port answers by result (up, down, unknown, bad_request)."},
      {"haes_agentcheck_total", "counter", "Agent-check answers by result (up, down, maint)."},
  };
  return kFamilies;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void MetricsText::sample(std::string_view family, Labels labels, double value, std::string_view suffix) {
  if (std::find(started_.begin(), started_.end(), family) == started_.end()) {
    const auto& fams = metric_families();
    auto it = std::find_if(fams.begin(), fams.end(), [&](const MetricFamily& f) { return f.name == family; });
    assert(it != fams.end());
    if (it != fams.end()) {
      out_ += "# HELP ";
      out_ += it->name;
      out_ += ' ';
      out_ += it->help;
      out_ += "\n# TYPE ";
      out_ += it->name;
      out_ += ' ';
      out_ += it->type;
      out_ += '\n';
    }
    started_.push_back(family);
  }
  out_ += family;
  out_ += suffix;
  if (labels.size() > 0) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) {
        out_ += ',';
      }
      first = false;
      out_ += k;
      out_ += "=\"";
      out_ += escape_label_value(v);
      out_ += '"';
    }
    out_ += '}';
  }
  char buf[64];
  if (std::isinf(value)) {
    std::snprintf(buf, sizeof buf, " %s\n", value > 0 ? "+Inf" : "-Inf");
  } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, " %.0f\n", value);
  } else {
    std::snprintf(buf, sizeof buf, " %.9g\n", value);
  }
  out_ += buf;
}

}  // namespace haes
