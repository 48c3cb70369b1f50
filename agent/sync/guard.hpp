#pragma once
// The rule every Elasticsearch write of the sync passes first (pure; the
// I/O side that enforces it is sync/es_access.hpp). Unit-tested in
// tests/unit/agent/sync/guard_test.cpp.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/enum_names.hpp"
#include "common/result.hpp"
#include "common/state.hpp"
#include "sync/plan.hpp"

namespace haes {

// Every kind of write the sync sends (PUT, POST, DELETE).
#define HAES_SYNC_WRITE_LIST(X)                                                             \
  X(kRepository, "repository")            /* register, unregister, verify the repository */ \
  X(kSnapshot, "snapshot")                /* start a snapshot on the active cluster */      \
  X(kClose, "close")                      /* close an index before restoring over it */     \
  X(kRestore, "restore")                  /* restore a snapshot on the passive cluster */   \
  X(kBlockWrites, "block_writes")         /* index.blocks.write true (planned move) */      \
  X(kUnblockWrites, "unblock_writes")     /* index.blocks.write false */                    \
  X(kRetentionDelete, "retention_delete") /* delete an old snapshot of ours */              \
  X(kScratchRestore, "scratch_restore")   /* verify-restore: restore under haes-verify-* */ \
  X(kScratchDelete, "scratch_delete")     /* verify-restore: delete a haes-verify-* index */
HAES_ENUM(SyncWrite, uint8_t, "write", HAES_SYNC_WRITE_LIST)

}  // namespace haes

namespace haes::sync {

// One write, described for the guard and for the messages.
struct WriteIntent {
  SyncWrite kind = SyncWrite::kRepository;
  std::string cluster;
  std::string what;  // "closing orders", "restoring haes-e1-… (orders)"
};

// Whether this agent may run automatic work now (the scheduled sync and
// verification, the write-block recovery at start): std::nullopt when it
// may, else why not ("dc1-agent-b is not the leader"). Asked before every
// step of an automatic operation, so an operation that loses the right
// midway stops before its next step. Empty: always allowed.
using MayRunNow = std::function<std::optional<std::string>()>;

// What the guard reads besides the plan and the stored state.
struct GuardContext {
  bool stopping = false;  // the agent is stopping
  MayRunNow may_run;      // asked only for an automatic operation (Plan::automatic)
};

// Whether the next step may run now, for an operation planned as `plan`,
// with the stored state now `now`; `sent`: the writes this operation
// already sent. Refusals, in this order:
//   kCancelled     the agent is stopping
//   kRolesChanged  the epoch or the active cluster differs from the plan's
//   kSyncHeld      an operator holds the syncs — except kUnblockWrites,
//                  which only ever gives the active cluster its writes back
//                  (a planned move's rollback, a restart's recovery)
//   kNotPermitted  an automatic operation, and ctx.may_run says no
//   kInternal      a write that replaces or adds indices aimed at the
//                  active cluster (a planning bug: never sent)
// The message says what was not sent, where, and what this operation had
// already done on the plan's target ("dc2 was not touched" when nothing;
// the repository registration does not count: it holds no data).
std::optional<Error> guard_check(const Plan& plan, const State& now, const WriteIntent& w,
                                 const std::vector<WriteIntent>& sent, const GuardContext& ctx = {});

// The codes guard_check and read_check refuse with for a reason outside
// the operation (stopping, roles, hold, may_run): the operation stops.
bool is_guard_refusal(ErrorCode c);

// The same rule for a read between the steps (an operation that lost its
// roles stops reading too): as guard_check for a write of no kind; `what`
// names the read ("reading the document count of orders").
std::optional<Error> read_check(const Plan& plan, const State& now, const std::string& cluster, const std::string& what,
                                const std::vector<WriteIntent>& sent, const GuardContext& ctx = {});

// "dc2 was not touched" or "already done on dc2: closing orders, ..."; ""
// without a target (a write-block recovery has none).
std::string touched_text(const std::string& target, const std::vector<WriteIntent>& sent);

}  // namespace haes::sync
