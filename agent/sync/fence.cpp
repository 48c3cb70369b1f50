#include "sync/fence.hpp"

namespace haes::sync {

std::optional<std::string> fence_target(const State& s, const HealthRound* round) {
  // One marker at a time: on the fenced cluster it is this fence, already
  // put; on the active cluster it is a block still to be lifted (an
  // interrupted planned switchover): lift_if_active() goes first.
  if (s.active.empty() || round == nullptr || !s.write_block.cluster.empty()) {
    return std::nullopt;
  }
  for (const auto& f : s.fenced) {
    if (f == s.active) {
      continue;
    }
    const ClusterObservation* o = round->find(f);
    if (o != nullptr && o->health != Health::kUnreachable && o->health != Health::kUnknown) {
      return f;
    }
  }
  return std::nullopt;
}

}  // namespace haes::sync
