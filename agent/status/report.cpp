// build_status: the status model from what the agent knows (pure).
#include "status/report.hpp"

#include <algorithm>

namespace haes {
namespace {

std::string next_step_text(const StatusReport& r, NextStep step, const std::string& cluster) {
  switch (step) {
    case NextStep::kNoClusterMayServe:
      return "NO cluster may take traffic (" + r.verdict_reason +
             "). If a cluster is healthy, move traffic there: haesctl failover --to CLUSTER (add --force only if "
             "you accept serving from a cluster the agent cannot confirm healthy)";
    case NextStep::kFencedHealthy: {
      const ClusterReport* c = nullptr;
      for (const auto& x : r.clusters) {
        if (x.name == cluster) {
          c = &x;
        }
      }
      std::string sync_note;
      if (r.sync && !r.sync->hold.held) {
        sync_note =
            "; its next sync replaces the writes it took after the last sync point (haesctl sync hold "
            "keeps them while you rescue them)";
      }
      return cluster + " is " + std::string(to_string(c ? c->health : Health::kUnknown)) +
             " again but stays fenced; when you are ready: haesctl " +
             (cluster == r.preferred ? "failback" : "switchover --to " + cluster) + sync_note;
    }
    case NextStep::kFencedUnhealthy:
      return cluster + " is fenced (it lost the active role) and not healthy yet; nothing to do until it recovers";
    case NextStep::kPaused: return "automatic failover is paused; haesctl resume when the maintenance is over";
    case NextStep::kHeldDown:
      return "nothing urgent: the active cluster serves; automatic failover is held down until " +
             format_time(r.hold_down_until) + " after the last transition (haesctl ack re-arms it now)";
    case NextStep::kNothing: break;
  }
  return "nothing: the active cluster serves and automatic failover is armed";
}

void decide_next_step(StatusReport& r, bool verdict_known) {
  std::string cluster;
  if (verdict_known && r.may_take_traffic.empty()) {
    r.next = NextStep::kNoClusterMayServe;
  } else if (!r.fenced.empty()) {
    cluster = r.fenced.front();
    bool healthy = false;
    for (const auto& c : r.clusters) {
      healthy = healthy || (c.name == cluster && c.probed && is_serving(c.health));
    }
    r.next = healthy ? NextStep::kFencedHealthy : NextStep::kFencedUnhealthy;
  } else if (r.paused) {
    r.next = NextStep::kPaused;
  } else if (r.held_down) {
    r.next = NextStep::kHeldDown;
  } else {
    r.next = NextStep::kNothing;
  }
  r.next_text = next_step_text(r, r.next, cluster);
}

std::optional<SyncReport> sync_report(const StatusInputs& in, const std::string& passive) {
  if (!in.sync || !in.config->sync) {
    return std::nullopt;
  }
  const State& s = *in.state;
  SyncReport out;
  out.interval = in.config->sync->interval;
  out.repository = in.config->sync->repository.name;
  out.repository_type = std::string(to_string(in.config->sync->repository.type));
  if (in.config->sync->repository.copy) {
    out.repository_type += ", one per cluster, copied by rsync";
  }
  out.status = *in.sync;
  out.last_sync = s.last_sync;
  out.passive = passive;
  out.hold = s.sync_hold;
  out.write_block = s.write_block;
  if (!s.last_sync.snapshot.empty() && s.last_sync.target == passive && !passive.empty()) {
    out.passive_data_age_seconds =
        std::chrono::duration_cast<std::chrono::seconds>(in.now - s.last_sync.started_at).count();
  }
  return out;
}

}  // namespace

StatusReport build_status(const StatusInputs& in) {
  const Config& config = *in.config;
  const State& s = *in.state;
  StatusReport r;
  r.now = in.now;
  r.epoch = s.epoch;
  r.active = s.active;
  if (in.verdict) {
    r.may_take_traffic = in.verdict->allow ? in.verdict->cluster : "";
    r.verdict_reason = in.verdict->reason;
  }
  r.fenced = s.fenced;
  r.preferred = config.preferred;
  r.changed_at = s.changed_at;
  r.changed_by = s.changed_by;
  r.change_reason = s.reason;
  r.automatic = config.failover.automatic;
  r.paused = s.paused_at(in.now);
  r.pause = s.pause;
  r.held_down = s.held_down_at(in.now);
  r.hold_down_until = s.hold_down_until;
  r.blocker = in.controller.blocker;
  r.blocker_text = in.controller.text;
  r.fail_threshold = config.failover.fail_threshold;
  r.interval = config.failover.interval;
  std::string passive;
  for (const auto& c : config.clusters) {
    ClusterReport cr;
    cr.name = c.name;
    cr.role = s.active == c.name    ? ClusterRole::kActive
              : s.is_fenced(c.name) ? ClusterRole::kFenced
                                    : ClusterRole::kPassive;
    if (passive.empty() && c.name != s.active) {
      passive = c.name;
    }
    const ClusterObservation* obs = in.round ? in.round->find(c.name) : nullptr;
    cr.probed = obs != nullptr;
    cr.health = obs ? obs->health : Health::kUnknown;
    cr.reason = obs ? obs->reason : "";
    const ClusterVerdict* cv = in.verdict ? in.verdict->find_cluster(c.name) : nullptr;
    cr.may_take_traffic = cv && cv->may_take_traffic;
    for (const auto& st : in.controller.streaks) {
      if (st.cluster == c.name) {
        cr.bad_rounds = st.bad_rounds;
      }
    }
    for (const auto& n : c.nodes) {
      NodeReport nr;
      nr.name = n.name;
      nr.url = n.url.text;
      const NodeObservation* no = obs ? obs->find_node(n.name) : nullptr;
      if (no) {
        nr.probed = true;
        nr.health = no->health;
        nr.failure = no->failure;
        nr.latency_ms = static_cast<double>(no->latency.count()) / 1000.0;
        nr.version = no->version;
        nr.reason = no->reason;
      }
      cr.nodes.push_back(std::move(nr));
    }
    r.clusters.push_back(std::move(cr));
  }
  r.store = in.store;
  if (in.round) {
    r.health_round = in.round->seq;
    r.health_round_at = in.round->at;
  }
  r.vitals_interval = config.vitals.interval;
  for (const auto& c : config.clusters) {
    VitalsReport vr;
    vr.vitals.cluster = c.name;
    vr.vitals.nodes_configured = c.nodes.size();
    if (in.vitals) {
      for (const auto& v : *in.vitals) {
        if (v.cluster == c.name) {
          vr.vitals = v;
        }
      }
    }
    if (vr.vitals.last) {
      vr.age_seconds =
          std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(in.now - vr.vitals.last->at).count());
    }
    r.vitals.push_back(std::move(vr));
  }
  r.sync = sync_report(in, passive);
  if (in.ccr) {
    r.ccr = *in.ccr;
    r.ccr->write_block = in.state->write_block;  // as stored now, not as at the last poll
  }
  if (in.pair) {
    r.pair = *in.pair;
  }
  decide_next_step(r, in.verdict != nullptr);
  if (in.readiness) {
    r.readiness = *in.readiness;
  }
  r.drills = in.drills != nullptr;
  if (in.drills && !in.drills->empty()) {
    r.last_drill = in.drills->back();
  }
  return r;
}

}  // namespace haes
