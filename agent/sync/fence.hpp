#pragma once
// Fencing beyond HAProxy (pure; unit-tested in tests/unit/agent/sync/fence_test.cpp).
// HAProxy stops routing to a cluster that lost the active role by a
// failover, but clients that bypass HAProxy could still write to it, and
// those writes would be lost at the next sync (which replaces its indices)
// or, worse, read by someone as current. So the agent puts a write block
// (index.blocks.write) on the synced indices of a fenced cluster as soon as
// that cluster answers, records it in the write-block marker of the state
// and journals it (EventKind::kFenceWrites). It stays while the cluster is
// fenced: the syncs that restore onto it restore its indices blocked too.
// It is lifted at once when the cluster becomes active again
// (SnapshotSync::lift_if_active, EventKind::kUnfenceWrites), or by the
// restore of a failback or switchover onto it (which unblocks its target).
#include <optional>
#include <string>

#include "common/health.hpp"
#include "common/state.hpp"

namespace haes::sync {

// The fenced cluster whose writes should be blocked now, if any: fenced in
// `s`, not the active cluster (there is one), no write-block marker in the
// state (it would be this fence, already put, or a block on the active
// cluster still to be lifted first), and reachable in `round` (any answer, even red: the
// index settings go through its master). An unreachable cluster cannot be
// blocked: it is tried again when it answers (docs/failover.md, "Fencing").
std::optional<std::string> fence_target(const State& s, const HealthRound* round);

}  // namespace haes::sync
