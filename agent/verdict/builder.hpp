#pragma once
// build_verdict: the rule that decides who may take traffic, as a pure
// function of the stored state, the latest health round and the bad-round
// streaks the controller counts. Runs on the control thread; the result is
// published through VerdictView.
//
// The rule (docs/verdicts.md):
//  - a cluster may take traffic iff it holds the active role, is not fenced,
//    and is not *confirmed bad*: red or unreachable for fail_threshold
//    consecutive rounds. A single bad round (a blip) changes no verdict; a
//    cluster never probed yet is trusted in its stored role.
//  - a node may take traffic iff its cluster may and the node itself gave a
//    usable answer in the latest round (HAProxy's own fall/rise debounces
//    node flaps).

#include <string>
#include <vector>

#include "common/health.hpp"
#include "common/state.hpp"
#include "verdict/verdict.hpp"

namespace haes {

struct ClusterNodes {
  std::string name;
  std::vector<std::string> nodes;  // node names, in config order
};

struct StreakInfo {
  std::string cluster;
  int bad_rounds = 0;  // consecutive red/unreachable rounds, 0 when last seen good
};

struct VerdictInputs {
  const State* state = nullptr;        // required
  const HealthRound* round = nullptr;  // latest round; null before the first
  std::vector<ClusterNodes> clusters;  // the configured clusters and nodes
  std::vector<StreakInfo> streaks;     // from the controller; missing = 0
  int fail_threshold = 3;
  SysTime now{};
};

// Everything but spoe_actions, which the SPOE glue encodes.
Verdict build_verdict(const VerdictInputs& in);

}  // namespace haes
