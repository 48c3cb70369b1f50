#pragma once
// Change: one decided change of the stored state, as the FailoverController
// (the one place that decides) hands it to the TransitionPipeline (the one
// place that writes: store compare-and-swap → journal → publish → hook).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/state.hpp"

namespace haes {

struct Change {
  std::optional<State> next;             // the whole new state; absent: nothing to store
  std::vector<Event> events;             // journaled once `next` (if any) is stored
  std::optional<Transition> transition;  // set iff the active role moves: the hook runs

  bool roles_changed() const { return transition.has_value(); }
  bool empty() const { return !next && events.empty(); }
};

// What the on_role_change hook is told about a transition (its environment:
// daemon/hook_runner.hpp).
struct RoleChange {
  Transition transition = Transition::kFailover;
  std::string old_active;
  std::string new_active;
  uint64_t epoch = 0;
  std::string reason;
  std::string changed_by;
};

}  // namespace haes
