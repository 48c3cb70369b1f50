#include "sync/plan.hpp"

#include <algorithm>

namespace haes::sync {

namespace {

Health health_in(const HealthRound* round, const std::string& cluster) {
  const ClusterObservation* o = round ? round->find(cluster) : nullptr;
  return o ? o->health : Health::kUnknown;
}

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

Result<Plan> plan_operation(const State& s, const std::vector<std::string>& clusters, const std::string& target_wanted,
                            const HealthRound* round, RedTarget red, const std::string& left_red_cluster) {
  Plan p;
  p.epoch = s.epoch;
  p.source = s.active;
  if (p.source.empty()) {
    return Error{ErrorCode::kNoActive, "no cluster holds the active role: nothing to snapshot"};
  }
  if (!target_wanted.empty()) {
    p.target = target_wanted;
  } else {
    for (const auto& c : clusters) {
      if (c != p.source) {
        p.target = c;
        break;
      }
    }
  }
  if (p.target.empty() || p.target == p.source) {
    return Error{ErrorCode::kAlreadyActive, (p.target.empty() ? std::string("no passive cluster configured")
                                                              : p.target + " is the active cluster") +
                                                ": nothing to restore into"};
  }
  const Health source = health_in(round, p.source);
  if (!is_serving(source)) {
    return Error{ErrorCode::kSourceUnhealthy, "the active cluster " + p.source + " is " +
                                                  std::string(to_string(source)) +
                                                  ": a snapshot now would fail or be partial; retrying next interval"};
  }
  const Health target = health_in(round, p.target);
  p.target_red = red == RedTarget::kIfOurRestoreLeftIt && target == Health::kRed && left_red_cluster == p.target;
  if (!is_serving(target) && !p.target_red) {
    return Error{ErrorCode::kTargetUnhealthy, "the passive cluster " + p.target + " is " +
                                                  std::string(to_string(target)) +
                                                  ": not restoring into it; retrying next interval"};
  }
  return p;
}

std::optional<Error> hold_refusal(const SyncHold& h) {
  if (!h.held) {
    return std::nullopt;
  }
  return Error{ErrorCode::kSyncHeld, "syncs are held by " + h.by + " since " + format_time(h.since) +
                                         (h.reason.empty() ? "" : " (" + h.reason + ")") +
                                         ": nothing is snapshotted or restored until 'haesctl sync release'"};
}

Result<std::vector<std::string>> red_indices_of(const Answer& a, const std::string& cluster) {
  if (!a.ok() || !at(a.body, "indices").is_object()) {
    return es_error("reading index health on the red passive cluster " + cluster, a);
  }
  std::vector<std::string> out;
  for (const auto& [name, idx] : a.body["indices"].items()) {
    if (string_at(idx, "status") == "red") {
      out.push_back(name);
    }
  }
  return out;
}

Result<void> red_target_check(const std::string& target, const std::vector<std::string>& red,
                              const std::vector<std::string>& restoring, const std::vector<std::string>& left_red) {
  std::vector<std::string> others;
  for (const auto& name : red) {
    if (!(has(restoring, name) && has(left_red, name))) {
      others.push_back(name);
    }
  }
  if (!others.empty()) {
    return Error{ErrorCode::kTargetUnhealthy, "the passive cluster " + target +
                                                  " is red in index(es) that no failed restore of ours left red (" +
                                                  join(others) + "): not restoring into it; retrying next interval"};
  }
  return Ok{};
}

Result<SyncPoint> verify_point(const State& s) {
  const SyncPoint& sp = s.last_sync;
  if (sp.snapshot.empty()) {
    return Error{ErrorCode::kNeverSynced, "nothing to verify: no sync has completed yet"};
  }
  if (sp.target == s.active) {
    return Error{ErrorCode::kTargetActive, "the last synced snapshot " + sp.snapshot + " was restored on " + sp.target +
                                               ", which is active now; verify after the next sync into the passive "
                                               "cluster"};
  }
  return sp;
}

WaitVerdict wait_verdict(bool stopping, bool busy, bool first_in_line, SteadyTime now, SteadyTime deadline) {
  if (stopping) {
    return WaitVerdict::kCancelled;
  }
  if (!busy && first_in_line) {
    return WaitVerdict::kGo;
  }
  return now >= deadline ? WaitVerdict::kGiveUp : WaitVerdict::kWait;
}

}  // namespace haes::sync
