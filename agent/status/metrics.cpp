// The state gauges of /metrics, rendered from the status model. Every family
// here is declared once, with its help, at the line that writes it.
#include "ccr/report.hpp"
#include "status/report.hpp"

#include <cmath>

namespace haes {
namespace {

constexpr auto kGauge = MetricType::kGauge;

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

void export_status_metrics(MetricsText& m, const StatusReport& r) {
  m.single("haes_up", kGauge, "1 while the agent runs.", 1);
  m.single("haes_epoch", kGauge, "Current epoch: +1 on every role change.", static_cast<double>(r.epoch));
  m.family("haes_active_cluster", kGauge, "1 for the cluster holding the active role, 0 for the others.");
  for (const auto& c : r.clusters) {
    m.sample({{"cluster", c.name}}, c.role == ClusterRole::kActive ? 1 : 0);
  }
  m.family("haes_cluster_may_take_traffic", kGauge, "1 when the verdict lets the cluster take traffic.");
  for (const auto& c : r.clusters) {
    m.sample({{"cluster", c.name}}, c.may_take_traffic ? 1 : 0);
  }
  m.family("haes_cluster_fenced", kGauge, "1 when the cluster lost the active role and waits for an operator.");
  for (const auto& c : r.clusters) {
    m.sample({{"cluster", c.name}}, c.role == ClusterRole::kFenced ? 1 : 0);
  }
  m.family("haes_cluster_health", kGauge, "Cluster health by the documented rule: 1 for the current state label.");
  for (const auto& c : r.clusters) {
    for (Health h : enum_values<Health>()) {
      m.sample({{"cluster", c.name}, {label_of<Health>(), to_string(h)}}, c.health == h ? 1 : 0);
    }
  }
  m.family("haes_cluster_bad_rounds", kGauge, "Consecutive red or unreachable rounds of the cluster (0 when good).");
  for (const auto& c : r.clusters) {
    m.sample({{"cluster", c.name}}, c.bad_rounds);
  }
  m.family("haes_node_health", kGauge, "Node's answer: 1 for the current state label.");
  for (const auto& c : r.clusters) {
    for (const auto& n : c.nodes) {
      for (Health h : enum_values<Health>()) {
        m.sample({{"cluster", c.name}, {"node", n.name}, {label_of<Health>(), to_string(h)}}, n.health == h ? 1 : 0);
      }
    }
  }
  m.family("haes_node_probe_latency_seconds", kGauge, "Latency of the node's last health answer.");
  for (const auto& c : r.clusters) {
    for (const auto& n : c.nodes) {
      m.sample({{"cluster", c.name}, {"node", n.name}}, n.latency_ms / 1000.0);
    }
  }
  m.single("haes_paused", kGauge, "1 while automatic failover is paused.", r.paused ? 1 : 0);
  m.family("haes_automatic_blocked", kGauge, "1 for the reason the robot would not fail over now (none: armed).");
  for (Blocker b : enum_values<Blocker>()) {
    m.sample({{label_of<Blocker>(), to_string(b)}}, r.blocker == b ? 1 : 0);
  }
  m.single("haes_hold_down_remaining_seconds", kGauge,
           "Seconds until automatic transitions are allowed again (0: not held down).",
           r.held_down ? seconds(r.hold_down_until - r.now) : 0.0);
  m.family("haes_next_step", kGauge, "1 for what status's next_step tells the operator to do now.");
  for (NextStep s : enum_values<NextStep>()) {
    m.sample({{label_of<NextStep>(), to_string(s)}}, r.next == s ? 1 : 0);
  }
  // Cluster vitals: the per-cluster and per-node gauges only for clusters
  // read at least once (a value never read is absent, not 0).
  m.family("haes_cluster_vitals_timestamp_seconds", kGauge,
           "Unix time of the cluster's last successful vitals read (0: never).");
  for (const auto& v : r.vitals) {
    m.sample({{"cluster", v.vitals.cluster}},
             // whole seconds: the text format's 9 significant digits would round a fraction to 10 s
             v.vitals.last ? std::floor(static_cast<double>(to_unix_ms(v.vitals.last->at)) / 1000.0) : 0.0);
  }
  m.family("haes_cluster_vitals_read_ok", kGauge,
           "1 when the cluster's last vitals read succeeded, 0 when it failed or none succeeded yet (absent with "
           "vitals.interval 0s).");
  for (const auto& v : r.vitals) {
    if (r.vitals_interval.count() > 0) {
      m.sample({{"cluster", v.vitals.cluster}}, v.vitals.last && v.vitals.error.empty() ? 1 : 0);
    }
  }
  m.family("haes_cluster_vitals_level", kGauge,
           "The judgement of the cluster's last vitals read: 1 for the current level.");
  for (const auto& v : r.vitals) {
    const VitalsLevel now = v.vitals.last ? v.vitals.judgement.level : VitalsLevel::kUnknown;
    for (VitalsLevel l : enum_values<VitalsLevel>()) {
      m.sample({{"cluster", v.vitals.cluster}, {label_of<VitalsLevel>(), to_string(l)}}, now == l ? 1 : 0);
    }
  }
  m.family("haes_cluster_disk_used_ratio", kGauge,
           "A node's data disk used, 0 to 1 (fs.total: (total - available) / total), by Elasticsearch node name.");
  for (const auto& v : r.vitals) {
    if (v.vitals.last) {
      for (const auto& n : v.vitals.last->nodes) {
        if (n.disk_used_ratio) {
          m.sample({{"cluster", v.vitals.cluster}, {"node", n.name}}, *n.disk_used_ratio);
        }
      }
    }
  }
  m.family("haes_cluster_heap_used_ratio", kGauge, "A node's JVM heap used, 0 to 1, by Elasticsearch node name.");
  for (const auto& v : r.vitals) {
    if (v.vitals.last) {
      for (const auto& n : v.vitals.last->nodes) {
        if (n.heap_used_ratio) {
          m.sample({{"cluster", v.vitals.cluster}, {"node", n.name}}, *n.heap_used_ratio);
        }
      }
    }
  }
  m.family("haes_cluster_nodes", kGauge, "Nodes in the cluster (_cluster/health number_of_nodes).");
  for (const auto& v : r.vitals) {
    if (v.vitals.last) {
      m.sample({{"cluster", v.vitals.cluster}}, static_cast<double>(v.vitals.last->health.number_of_nodes));
    }
  }
  m.family("haes_cluster_data_nodes", kGauge, "Data nodes in the cluster (_cluster/health number_of_data_nodes).");
  for (const auto& v : r.vitals) {
    if (v.vitals.last) {
      m.sample({{"cluster", v.vitals.cluster}}, static_cast<double>(v.vitals.last->health.number_of_data_nodes));
    }
  }
  m.family("haes_cluster_nodes_configured", kGauge, "Nodes of the cluster listed in haes's configuration.");
  for (const auto& v : r.vitals) {
    m.sample({{"cluster", v.vitals.cluster}}, static_cast<double>(v.vitals.nodes_configured));
  }
  m.family("haes_cluster_unassigned_shards", kGauge, "Shard copies not assigned to a node (_cluster/health).");
  for (const auto& v : r.vitals) {
    if (v.vitals.last) {
      m.sample({{"cluster", v.vitals.cluster}}, static_cast<double>(v.vitals.last->health.unassigned_shards));
    }
  }
  m.family("haes_cluster_read_only_block", kGauge,
           "1 when an index of the cluster carries the flood-stage read_only_allow_delete block (writes refused).");
  for (const auto& v : r.vitals) {
    if (v.vitals.last) {
      m.sample({{"cluster", v.vitals.cluster}}, v.vitals.last->read_only_indices.empty() ? 0 : 1);
    }
  }
  m.family("haes_cluster_read_only_indices", kGauge, "Indices of the cluster under the flood-stage block.");
  for (const auto& v : r.vitals) {
    if (v.vitals.last) {
      m.sample({{"cluster", v.vitals.cluster}}, static_cast<double>(v.vitals.last->read_only_indices.size()));
    }
  }
  // Passive readiness and drills (docs/readiness.md, docs/drills.md).
  if (r.readiness) {
    const ReadinessVerdict& v = *r.readiness;
    m.single("haes_passive_ready", kGauge,
             "Could the passive cluster take over now: 1 yes, 0 no, -1 unknown (not read yet).",
             v.answer == ReadinessAnswer::kYes  ? 1
             : v.answer == ReadinessAnswer::kNo ? 0
                                                : -1);
    m.family("haes_passive_readiness_problem", kGauge, "1 for each reason the passive cluster is not ready.");
    for (ReadinessProblem p : enum_values<ReadinessProblem>()) {
      bool on = false;
      for (const auto& reason : v.reasons) {
        on = on || reason.code == p;
      }
      m.sample({{label_of<ReadinessProblem>(), to_string(p)}}, on ? 1 : 0);
    }
    if (v.disk_projected_ratio) {
      m.single("haes_passive_disk_projected_ratio", kGauge,
               "The passive cluster's disk use with the active cluster's synced data and the margin.",
               *v.disk_projected_ratio);
    }
  }
  if (r.last_drill && !r.last_drill->running) {
    const DrillReport& d = *r.last_drill;
    m.single("haes_drill_last_ok", kGauge, "1 when the last DR drill passed, 0 when it failed.", d.ok ? 1 : 0);
    m.single("haes_drill_last_timestamp_seconds", kGauge, "Unix time the last DR drill started.",
             std::floor(static_cast<double>(to_unix_ms(d.started_at)) / 1000.0));
    m.family("haes_drill_last_write_unavailable_seconds", kGauge,
             "The last drill's write-unavailable windows, by direction (to: to the passive cluster, back).");
    if (d.write_block_to) {
      m.sample({{"direction", "to"}}, seconds(*d.write_block_to));
    }
    if (d.write_block_back) {
      m.sample({{"direction", "back"}}, seconds(*d.write_block_back));
    }
  }
  if (r.pair) {
    const PairReport& p = *r.pair;
    m.single("haes_leader", kGauge, "1 while this agent leads the pair (runs the robot and the sync).",
             p.this_is_leader ? 1 : 0);
    m.single("haes_store_view_age_seconds", kGauge,
             "Seconds since this agent last confirmed its view of the shared state (-1: never).",
             p.view_age_ms < 0 ? -1.0 : static_cast<double>(p.view_age_ms) / 1000.0);
    m.single("haes_failsafe", kGauge, "1 while etcd is down for every agent and the peers confirm it (failsafe).",
             p.failsafe ? 1 : 0);
    m.single("haes_verdict_window_open", kGauge,
             "1 when this agent may give positive verdicts (its view is confirmed and the current epoch settled).",
             p.window_open ? 1 : 0);
    m.family("haes_store_endpoint_up", kGauge, "1 when the etcd endpoint answered the last request sent to it.");
    for (const auto& e : p.endpoints) {
      m.sample({{"endpoint", e.url}}, e.ok ? 1 : 0);
    }
    m.family("haes_agent_live", kGauge, "1 for each member agent whose record is in etcd (its lease holds).");
    for (const auto& a : p.agents) {
      m.sample({{"agent", a.name}}, a.live ? 1 : 0);
    }
  }
  if (r.ccr) {
    ccr::export_metrics(m, *r.ccr);
  }
  if (!r.sync) {
    return;
  }
  const SyncReport& s = *r.sync;
  const SyncStatus& st = s.status;
  m.single("haes_sync_running", kGauge, "1 while a sync, switchover or restore verification runs.",
           st.running() ? 1 : 0);
  m.single("haes_sync_held", kGauge, "1 while an operator holds the syncs (haesctl sync hold).", s.hold.held ? 1 : 0);
  m.single("haes_sync_last_success_timestamp_seconds", kGauge, "Unix time of the last successful sync (0: never).",
           static_cast<double>(to_unix_ms(st.last_ok_at)) / 1000.0);
  m.single("haes_sync_passive_data_age_seconds", kGauge,
           "Age of the passive cluster's data: the RPO if the active cluster failed now (-1: unknown, never synced "
           "into it).",
           s.passive_data_age_seconds ? static_cast<double>(*s.passive_data_age_seconds) : -1.0);
  m.family("haes_sync_duration_seconds", kGauge, "Duration of the last sync's phases.");
  m.sample({{"phase", "snapshot"}}, seconds(st.last_snapshot_took));
  m.sample({{"phase", "restore"}}, seconds(st.last_restore_took));
  m.sample({{"phase", "total"}}, seconds(st.last_sync_took));
  if (st.copy) {
    m.sample({{"phase", "copy"}}, seconds(st.copy->last_took));
    m.single("haes_sync_copy_last_bytes", kGauge,
             "File bytes the last repository copy transferred (sync.repository.copy).",
             static_cast<double>(st.copy->last_bytes));
  }
  m.family("haes_sync_repository_ok", kGauge, "1 when the repository is registered and verified on the cluster.");
  for (const auto& c : r.clusters) {
    auto it = st.repository.find(c.name);
    bool ok = it != st.repository.end() &&
              (it->second.role == RepositoryRole::kWriter || it->second.role == RepositoryRole::kReadonly);
    m.sample({{"cluster", c.name}}, ok ? 1 : 0);
  }
  m.single("haes_sync_dangers", kGauge, "Dangers found (e.g. SLM policies on the passive cluster).",
           static_cast<double>(st.dangers.size()));
  m.single("haes_switchover_write_block_seconds", kGauge,
           "Write-unavailable window of the last planned switchover (-1: none yet).",
           st.last_write_block ? seconds(*st.last_write_block) : -1.0);
  m.single("haes_verify_restore_ok", kGauge, "Last restore verification: 1 ok, 0 failed, -1 never ran.",
           st.last_verify_ok ? (*st.last_verify_ok ? 1 : 0) : -1);
}

}  // namespace haes
