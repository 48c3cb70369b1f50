#pragma once
// The one source of truth (DESIGN.md "StateStore"): roles, epoch, pause,
// hold-down and the last sync point. Held by the StateStore, changed only by
// the FailoverController (roles, pause, hold-down) and SnapshotSync (last_sync),
// always through compare-and-swap on `revision`.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/enum_names.hpp"
#include "common/time.hpp"

namespace haes {

struct PauseInfo {
  bool paused = false;
  std::string by;  // who paused: "operator <user>@<host>"
  std::string reason;
  SysTime since{};
  SysTime until{};  // epoch 0: until resumed
};

// The point the passive cluster's data reflects (written by SnapshotSync).
struct SyncPoint {
  std::string snapshot;   // last snapshot restored on `target`; empty: never synced
  std::string source;     // cluster it was taken on
  std::string target;     // cluster it was restored on
  uint64_t epoch = 0;     // epoch in which it was taken
  SysTime started_at{};   // snapshot start: the passive data is at least this fresh
  SysTime finished_at{};  // restore completed and verified usable
};

// Writes blocked by a planned switchover that has not ended (SnapshotSync);
// cluster empty: none. Lets a restarted agent undo an interrupted switchover.
// Also put on a cluster fenced by a failover (fence: true; sync/fence.hpp).
struct WriteBlock {
  std::string cluster;
  SysTime since{};
  std::string by;
  bool fence = false;  // put by fencing, not by a planned switchover
};

// Syncs held by an operator (`haesctl sync hold`): no snapshot, no restore
// until `haesctl sync release`.
struct SyncHold {
  bool held = false;
  std::string by;
  std::string reason;
  SysTime since{};
};

struct State {
  uint64_t epoch = 0;               // +1 on every role change; 0: never initialised
  std::string active;               // the active cluster; empty: none may take traffic
  std::vector<std::string> fenced;  // lost the active role; kept out until an operator brings them back
  std::string reason;               // why the last role change happened
  SysTime changed_at{};
  std::string changed_by;  // "controller" or "operator <user>@<host>"
  PauseInfo pause;
  SysTime hold_down_until{};  // no automatic transition before this; ack clears it
  SyncPoint last_sync;
  WriteBlock write_block;
  SyncHold sync_hold;

  // Store bookkeeping, not part of the logical state: the revision this value
  // was read at, for compare-and-swap. 0: not stored yet.
  uint64_t revision = 0;

  bool is_fenced(std::string_view cluster) const;
  bool paused_at(SysTime now) const { return pause.paused && (to_unix_ms(pause.until) == 0 || now < pause.until); }
  bool held_down_at(SysTime now) const { return now < hold_down_until; }
};

// Logical equality: ignores `revision`.
bool same_logical_state(const State& a, const State& b);

// How the active role moved (the hook's HAES_EVENT, haes_transitions_total).
#define HAES_TRANSITION_LIST(X) \
  X(kFailover, "failover") X(kForcedFailover, "forced_failover") X(kFailback, "failback") X(kSwitchover, "switchover")
HAES_ENUM(Transition, uint8_t, "kind", HAES_TRANSITION_LIST)

// What a journal entry records (readiness: the passive cluster's readiness
// changed; readiness_overridden: a planned move forced past "not ready";
// drill, drill_failed: docs/drills.md). Stored by name; a name this version does not
// know (written by a newer agent) loads as kOther with the name kept in the
// message.
#define HAES_EVENT_KIND_LIST(X)                                                           \
  X(kOther, "other")                                                                      \
  X(kStart, "start") /* first start, or a restart resuming the stored state */            \
  X(kFailover, "failover")                                                                \
  X(kForcedFailover, "forced_failover")                                                   \
  X(kFailback, "failback")                                                                \
  X(kSwitchover, "switchover")                                                            \
  X(kPause, "pause")                                                                      \
  X(kResume, "resume")                                                                    \
  X(kAck, "ack")                                                                          \
  X(kRefused, "refused")                  /* an operator command refused */               \
  X(kFailoverBlocked, "failover_blocked") /* would fail over, but paused/held down/off */ \
  X(kFailoverImpossible, "failover_impossible")                                           \
  X(kSyncHold, "sync_hold")                                                               \
  X(kSyncRelease, "sync_release")                                                         \
  X(kSync, "sync")                                                                        \
  X(kSyncFailed, "sync_failed")                                                           \
  X(kSwitchoverSync, "switchover_sync") /* the final sync of a planned switchover */      \
  X(kFailbackSync, "failback_sync")                                                       \
  X(kSwitchoverFailed, "switchover_failed")                                               \
  X(kFailbackFailed, "failback_failed")                                                   \
  X(kVerifyRestore, "verify_restore")                                                     \
  X(kVerifyRestoreFailed, "verify_restore_failed")                                        \
  X(kRepositoryReregistered, "repository_reregistered")                                   \
  X(kWriteBlockLifted, "write_block_lifted")                                              \
  X(kLeader, "leader")            /* this agent became, or stopped being, the leader */   \
  X(kFenceWrites, "fence_writes") /* write block put on a fenced cluster's indices */     \
  X(kUnfenceWrites, "unfence_writes")                                                     \
  X(kCcrPromotion, "ccr_promotion") /* a follower index promoted (or not) on a move */    \
  X(kCcrRefollow, "ccr_refollow")                                                         \
  X(kReadiness, "readiness")                                                              \
  X(kReadinessOverridden, "readiness_overridden")                                         \
  X(kDrill, "drill")                                                                      \
  X(kDrillFailed, "drill_failed")
HAES_ENUM(EventKind, uint8_t, "kind", HAES_EVENT_KIND_LIST)

// The event kind journaled for a transition.
EventKind event_kind_of(Transition t);

// One entry of the event journal: transitions, operator commands (accepted
// or refused), sync results. Shown by `haesctl events`.
struct Event {
  uint64_t seq = 0;  // assigned by the journal, increasing
  SysTime at{};
  uint64_t epoch = 0;  // the epoch once this event took effect
  EventKind kind = EventKind::kOther;
  std::string actor;    // "controller", "sync", "operator <user>@<host>"
  std::string message;  // one line: what happened and why
};

// An event to journal (its seq is the journal's to give).
inline Event make_event(SysTime at, uint64_t epoch, EventKind kind, std::string actor, std::string message) {
  return Event{0, at, epoch, kind, std::move(actor), std::move(message)};
}

}  // namespace haes
