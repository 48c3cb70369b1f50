#pragma once
// What SnapshotSync reports about itself: plain typed data and counters, no
// I/O types, so the status model (status/) can read it without Asio.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/enum_names.hpp"
#include "common/time.hpp"
#include "metrics/stats.hpp"

namespace haes {

// What the sync is doing (one operation at a time).
// clang-format off
#define HAES_SYNC_OPERATION_LIST(X)      \
  X(kNone, "none")                       \
  X(kSync, "sync")                       \
  X(kSwitchover, "switchover")           \
  X(kFailback, "failback")               \
  X(kVerifyRestore, "verify-restore")    \
  X(kFence, "fence") /* write block on a fenced cluster (sync/fence.hpp) */
// clang-format on
HAES_ENUM(SyncOperation, uint8_t, "operation", HAES_SYNC_OPERATION_LIST)

#define HAES_SYNC_RESULT_LIST(X) X(kNever, "never") X(kOk, "ok") X(kFailed, "failed")
HAES_ENUM(SyncResult, uint8_t, "result", HAES_SYNC_RESULT_LIST)
constexpr bool exported(SyncResult r) { return r != SyncResult::kNever; }

// How the snapshot repository is registered on a cluster.
#define HAES_REPOSITORY_ROLE_LIST(X) \
  X(kUnknown, "unknown") X(kWriter, "writer") X(kReadonly, "readonly") X(kError, "error")
HAES_ENUM(RepositoryRole, uint8_t, "role", HAES_REPOSITORY_ROLE_LIST)

struct RepositoryState {
  RepositoryRole role = RepositoryRole::kUnknown;
  std::string error;  // when role == kError: one line
};

// The repository copy (sync.repository.copy): the last one.
struct CopyStatus {
  std::string from;  // clusters: the copy goes from the active one to the passive one
  std::string to;
  SysTime last_at{};
  Duration last_took{0};
  uint64_t last_bytes = 0;    // file data rsync transferred (blobs and root files)
  uint64_t last_files = 0;    // files it transferred
  uint64_t last_deleted = 0;  // files the last prune deleted at the target
  std::string last_error;     // one line; "" after a good copy
};

// An operator's operation waiting for the running one to end.
struct SyncWaiter {
  std::string who;  // "switchover to dc2 by operator alice@host"
  SysTime since{};
};

struct SyncStatus {
  SyncOperation operation = SyncOperation::kNone;  // what runs now
  // Its current step, "" when idle; followed by the operations waiting for
  // it, if any: "snapshot X of dc1 [waiting for it: switchover to dc2 by
  // operator alice@h since T]" (status' running line).
  std::string step;
  SysTime step_since{};
  SyncResult last_result = SyncResult::kNever;
  SysTime last_attempt_at{};
  SysTime last_ok_at{};
  std::string last_error;  // one line; kept until the next success
  SysTime last_error_at{};
  std::string last_snapshot;  // last snapshot taken (synced or not)
  Duration last_snapshot_took{0};
  Duration last_restore_took{0};
  Duration last_sync_took{0};
  SysTime next_at{};
  std::map<std::string, RepositoryState> repository;  // by cluster
  std::vector<std::string> dangers;                   // e.g. SLM policies on the passive cluster
  std::string last_verify;                            // one line
  SysTime last_verify_at{};
  std::optional<bool> last_verify_ok;
  std::optional<Duration> last_write_block;  // the last switchover's write-unavailable window
  std::vector<SyncWaiter> waiting;           // in the order they will run
  std::optional<CopyStatus> copy;            // set by the first copy (sync.repository.copy)

  bool running() const { return operation != SyncOperation::kNone; }
};

struct SyncStats {
  EnumCounter<SyncResult> runs;  // kNever is never counted
  Counter snapshots_deleted;
  Counter guard_refusals;  // Elasticsearch writes the guard refused (stopping, roles moved, held, not permitted)
  EnumCounter<SyncResult> copy_runs;  // repository copies (sync.repository.copy)
  Counter copy_bytes;
  Counter copy_files;

  template <class V>
  void visit(V& v) const {
    v(runs, "haes_sync_runs_total", "Snapshot syncs and planned switchovers by result.");
    v(snapshots_deleted, "haes_sync_snapshots_deleted_total", "Snapshots deleted by retention.");
    v(guard_refusals, "haes_sync_guard_refusals_total",
      "Elasticsearch writes a sync step did not send because the agent was stopping, the roles moved, an operator "
      "held the syncs or automatic work was not permitted.");
    v(copy_runs, "haes_sync_copy_runs_total",
      "Repository copies by rsync (sync.repository.copy) by result; failed: nothing was restored.");
    v(copy_bytes, "haes_sync_copy_bytes_total", "File bytes rsync transferred between the two repositories.");
    v(copy_files, "haes_sync_copy_files_total", "Files rsync transferred between the two repositories.");
  }
};

}  // namespace haes
