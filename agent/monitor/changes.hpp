#pragma once
// What changed between two health rounds, as log lines (pure; the daemon
// logs them): a cluster's health (a warning when it is no longer serving),
// a node's health.
#include <string>
#include <vector>

#include "common/health.hpp"

namespace haes {

struct RoundChange {
  bool warning = false;  // the cluster stopped serving
  std::string text;
};

// `before` is null for the first round (every cluster is reported then).
std::vector<RoundChange> round_changes(const HealthRound* before, const HealthRound& now);

}  // namespace haes
