#pragma once
// What a sync operation may do, decided before it does anything: pure
// functions of the stored state, the latest health round and what ES
// answered (no I/O, no Asio), unit-tested (tests/unit/agent/sync/plan_test.cpp).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/health.hpp"
#include "common/result.hpp"
#include "common/state.hpp"
#include "sync/answers.hpp"

namespace haes::sync {

// The roles an operation was planned in. Every write it sends is checked
// against them first (guard.hpp): if the epoch or the active cluster moved,
// or an operator held the syncs, the write is not sent.
struct Plan {
  uint64_t epoch = 0;
  std::string source;  // the active cluster: snapshotted (write-blocked by a planned move)
  std::string target;  // the passive cluster: restored into
  // The target is red, but planned: a sync may restore over the indices our
  // own failed restore left red, and only those (red_target_check).
  bool target_red = false;
  // Started by the agent itself (the schedule, the write-block recovery),
  // not by an operator: its steps also need GuardContext::may_run's consent.
  bool automatic = false;
};

// Whether a red target may be planned at all: only a sync (never a planned
// move, which needs a green or yellow target to take traffic), and only
// when our own failed restore left that cluster red.
enum class RedTarget { kRefuse, kIfOurRestoreLeftIt };

// Source = the active cluster; target = `target_wanted`, or else the first
// other configured cluster. Refusals:
//   kNoActive         no cluster holds the active role
//   kSourceUnhealthy  the active cluster is not green or yellow in `round`
//                     (no round yet: unknown, refused)
//   kTargetUnhealthy  the target is not green or yellow — except red with
//                     RedTarget::kIfOurRestoreLeftIt and left_red_cluster
//                     == target (then target_red is set)
Result<Plan> plan_operation(const State& s, const std::vector<std::string>& clusters, const std::string& target_wanted,
                            const HealthRound* round, RedTarget red, const std::string& left_red_cluster);

// kSyncHeld with who, since when and why, when an operator holds the syncs.
std::optional<Error> hold_refusal(const SyncHold& hold);

// The red indices in a GET /_cluster/health?level=indices answer.
Result<std::vector<std::string>> red_indices_of(const Answer& a, const std::string& cluster);

// The red-target rule: a passive cluster red only in indices that our own
// failed restore left red, and that this restore replaces, may be restored
// over (refusing would never mend it). A red index anywhere else — after a
// failover, the old active cluster's red indices may hold the only copy of
// the writes after the sync point — refuses the restore (kTargetUnhealthy,
// naming those indices).
Result<void> red_target_check(const std::string& target, const std::vector<std::string>& red,
                              const std::vector<std::string>& restoring, const std::vector<std::string>& left_red);

// What a verify-restore checks: the last sync point (kNeverSynced when
// there is none), restored on a cluster that is not active now (kTargetActive).
Result<SyncPoint> verify_point(const State& s);

// An operator's operation that found another one running waits for it:
// it goes once nothing runs and every operation that waited before it has
// gone (first in line), gives up at its deadline (started + sync.timeout),
// and ends at once when the agent stops.
enum class WaitVerdict { kGo, kWait, kGiveUp, kCancelled };
WaitVerdict wait_verdict(bool stopping, bool busy, bool first_in_line, SteadyTime now, SteadyTime deadline);

}  // namespace haes::sync
