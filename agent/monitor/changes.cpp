#include "monitor/changes.hpp"

namespace haes {

std::vector<RoundChange> round_changes(const HealthRound* before, const HealthRound& now) {
  std::vector<RoundChange> out;
  for (const auto& c : now.clusters) {
    const ClusterObservation* was = before ? before->find(c.name) : nullptr;
    if (!was || was->health != c.health) {
      out.push_back({!is_serving(c.health), "cluster " + c.name + " is " + std::string(to_string(c.health)) +
                                                (was ? " (was " + std::string(to_string(was->health)) + ")" : "") +
                                                ": " + c.reason});
    }
    for (const auto& n : c.nodes) {
      const NodeObservation* nb = was ? was->find_node(n.name) : nullptr;
      if (nb && nb->health != n.health) {
        out.push_back({false, "node " + c.name + "/" + n.name + " is " + std::string(to_string(n.health)) + " (was " +
                                  std::string(to_string(nb->health)) + ")" +
                                  (n.reason.empty() ? "" : ": " + n.reason)});
      }
    }
  }
  return out;
}

}  // namespace haes
