#pragma once
// The one source of truth (DESIGN.md "StateStore"): roles, epoch, pause,
// hold-down and the last sync point. Held by the StateStore, changed only by
// the FailoverController (roles, pause, hold-down) and SnapshotSync (last_sync),
// always through compare-and-swap on `revision`.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.hpp"

namespace haes {

struct PauseInfo {
  bool paused = false;
  std::string by;      // who paused: "operator <user>@<host>"
  std::string reason;
  SysTime since{};
  SysTime until{};     // epoch 0: until resumed
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
struct WriteBlock {
  std::string cluster;
  SysTime since{};
  std::string by;
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
  uint64_t epoch = 0;                // +1 on every role change; 0: never initialised
  std::string active;                // the active cluster; empty: none may take traffic
  std::vector<std::string> fenced;   // lost the active role; kept out until an operator brings them back
  std::string reason;                // why the last role change happened
  SysTime changed_at{};
  std::string changed_by;            // "controller" or "operator <user>@<host>"
  PauseInfo pause;
  SysTime hold_down_until{};         // no automatic transition before this; ack clears it
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

// One entry of the event journal: transitions, operator commands (accepted
// or refused), sync results. Shown by `haesctl events`.
struct Event {
  uint64_t seq = 0;       // assigned by the journal, increasing
  SysTime at{};
  uint64_t epoch = 0;     // the epoch once this event took effect
  std::string kind;       // snake_case: "failover", "failback", "switchover", "pause", "resume",
                          // "ack", "refused", "sync", "sync_failed", "start", ...
  std::string actor;      // "controller", "sync", "operator <user>@<host>"
  std::string message;    // one line: what happened and why
};

}  // namespace haes
