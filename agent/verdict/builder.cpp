#include "verdict/builder.hpp"

#include <algorithm>

namespace haes {
namespace {

int streak_of(const VerdictInputs& in, const std::string& cluster) {
  for (const auto& s : in.streaks) {
    if (s.cluster == cluster) {
      return s.bad_rounds;
    }
  }
  return 0;
}

const NodeObservation* find_node_obs(const ClusterObservation* c, const std::string& node) {
  if (c == nullptr) {
    return nullptr;
  }
  for (const auto& n : c->nodes) {
    if (n.name == node) {
      return &n;
    }
  }
  return nullptr;
}

std::string epoch_text(uint64_t epoch) { return "(epoch " + std::to_string(epoch) + ")"; }

// Why a cluster may not take traffic, or "" when it may.
std::string cluster_refusal(const VerdictInputs& in, const ClusterVerdict& c, const ClusterObservation* obs,
                            int streak) {
  const State& st = *in.state;
  if (c.fenced) {
    return "fenced: lost the active role " + epoch_text(st.epoch) +
           "; an operator must bring it back (haesctl failback or switchover)";
  }
  if (!c.active) {
    if (st.active.empty()) {
      return "passive: no cluster holds the active role " + epoch_text(st.epoch);
    }
    return "passive: " + st.active + " is active " + epoch_text(st.epoch);
  }
  if (streak >= in.fail_threshold) {
    std::string what = obs != nullptr ? std::string(to_string(obs->health)) : "bad";
    std::string text = "active but " + what + " for " + std::to_string(streak) + " rounds";
    if (obs != nullptr && !obs->reason.empty()) {
      text += ": " + obs->reason;
    }
    return text;
  }
  return "";
}

}  // namespace

Verdict build_verdict(const VerdictInputs& in) {
  const State& st = *in.state;
  Verdict v;
  v.epoch = st.epoch;
  v.round_seq = in.round != nullptr ? in.round->seq : 0;
  v.built_at = in.now;

  for (const auto& cfg : in.clusters) {
    ClusterVerdict c;
    c.name = cfg.name;
    c.active = st.active == cfg.name;
    c.fenced = st.is_fenced(cfg.name);
    const ClusterObservation* obs = in.round != nullptr ? in.round->find(cfg.name) : nullptr;
    c.health = obs != nullptr ? obs->health : Health::kUnknown;
    int streak = streak_of(in, cfg.name);
    std::string refusal = cluster_refusal(in, c, obs, streak);
    c.may_take_traffic = refusal.empty();
    c.reason = c.may_take_traffic ? "active " + epoch_text(st.epoch) : refusal;

    for (const auto& node_name : cfg.nodes) {
      NodeVerdict n;
      n.name = node_name;
      const NodeObservation* nobs = find_node_obs(obs, node_name);
      if (!c.may_take_traffic) {
        n.reason = c.reason;
      } else if (nobs != nullptr && nobs->health == Health::kUnreachable) {
        n.reason = "node unreachable: " + (nobs->reason.empty() ? std::string(to_string(nobs->failure)) : nobs->reason);
      } else {
        n.may_take_traffic = true;
        n.reason = c.reason;
      }
      c.nodes.push_back(std::move(n));
    }
    if (c.may_take_traffic) {
      v.cluster = c.name;
    }
    v.clusters.push_back(std::move(c));
  }

  v.allow = !v.cluster.empty();
  if (v.allow) {
    v.reason = v.cluster + " is active " + epoch_text(st.epoch);
  } else if (const ClusterVerdict* active = v.find_cluster(st.active)) {
    v.reason = "no cluster may take traffic: " + active->name + " is " + active->reason;
  } else if (st.active.empty()) {
    v.reason = "no cluster may take traffic: none holds the active role " + epoch_text(st.epoch);
  } else {
    v.reason = "no cluster may take traffic: the active cluster " + st.active + " is not in the configuration";
  }
  return v;
}

}  // namespace haes
