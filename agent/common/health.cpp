#include "common/health.hpp"

namespace haes {

const NodeObservation* ClusterObservation::find_node(std::string_view node) const {
  for (const auto& n : nodes) {
    if (n.name == node) {
      return &n;
    }
  }
  return nullptr;
}

const ClusterObservation* HealthRound::find(std::string_view cluster) const {
  for (const auto& c : clusters) {
    if (c.name == cluster) {
      return &c;
    }
  }
  return nullptr;
}

}  // namespace haes
