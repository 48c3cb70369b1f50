#pragma once
// How SnapshotSync reads Elasticsearch's answers: pure functions (no I/O, no
// Asio; time is a parameter), unit-tested on simulated time
// (tests/unit/agent/sync/answers_test.cpp). The coroutine steps send the
// requests and hand the answers here; what to do next is decided here.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "common/time.hpp"
#include "sync/naming.hpp"

namespace haes::sync {

using nlohmann::json;
using SteadyTime = std::chrono::steady_clock::time_point;

// One answer as the sync sees it: either no HTTP answer (`transport`), or
// an HTTP status with its parsed body (null when not JSON).
struct Answer {
  std::optional<Error> transport;
  int status = 0;
  json body;
  std::string es_type;  // error.type of an ES error body
  std::string summary;  // "HTTP 503 master_not_discovered_exception: no master" (es::Response::error_summary)
  bool ok() const { return !transport && status >= 200 && status < 300; }
};

// "<what>: <why>" with the transport's code, or kEsError for an HTTP error.
Error es_error(const std::string& what, const Answer& a);

// Field access that never throws: a missing field, or one of another type
// than documented, reads as null / empty.
const json& at(const json& j, const char* key);
std::string string_at(const json& j, const char* key);
std::vector<std::string> string_list(const json& j);
std::string join(const std::vector<std::string>& v);

// ---- snapshot ---------------------------------------------------------------

// Watching a snapshot (GET /_snapshot/<repo>/<name>, polled): what the
// sync carries from one poll to the next.
struct SnapshotWatch {
  std::string name;
  std::string cluster;
  SteadyTime deadline{};  // started + sync.timeout
  Duration timeout{0};    // for the message
  int server_errors = 0;  // 5xx answers in a row
};
constexpr int kMaxWatchServerErrors = 5;

enum class WatchVerdict { kRunning, kSucceeded, kFailed };

struct WatchStep {
  WatchVerdict verdict = WatchVerdict::kRunning;
  json info;    // kSucceeded: the snapshot's info (its "indices")
  Error error;  // kFailed
};

// One poll's answer, at `now`:
// - SUCCESS: succeeded. PARTIAL (kSnapshotPartial) or FAILED and any other
//   final state (kSnapshotFailed): failed, "never restored".
// - IN_PROGRESS / STARTED / no state yet: running, until the deadline (kTimeout).
// - An HTTP error below 500, or a repository_exception (disabled or missing
//   repository): failed at once. Another 5xx (a master election, an
//   overloaded node): retried, up to kMaxWatchServerErrors in a row.
// - No answer at all (connection error): retried until the deadline.
WatchStep judge_snapshot_poll(const Answer& a, SnapshotWatch& w, SteadyTime now);

// ---- restore ----------------------------------------------------------------

// The open indices among `restoring` in a GET /_cat/indices?format=json
// answer: what must be closed before the restore (ES refuses to restore
// over an open index). Error when the answer is not that list.
Result<std::vector<std::string>> indices_to_close(const Answer& cat, const std::vector<std::string>& restoring,
                                                  const std::string& cluster);

// The indices among `names` that exist (open or closed) in that answer:
// the leftovers of an interrupted verification, for instance.
Result<std::vector<std::string>> present_indices(const Answer& cat, const std::vector<std::string>& names,
                                                 const std::string& cluster);

// A restore's answer (wait_for_completion=true): ok only with HTTP 2xx and
// snapshot.shards.failed == 0; failed shards or no shard counts:
// kRestoreFailed ("the passive data is NOT usable until the next sync").
// `what` names the restore: "restore of <snap> on <cluster>".
Result<void> judge_restore(const Answer& a, const std::string& what);

// The restored indices' health (GET /_cluster/health/<indices>?wait_for_status=green):
// green or yellow is usable; anything else, or no answer, kRestoreUnusable.
Result<void> judge_restored_health(const Answer& a, const std::string& cluster);

// ---- retention --------------------------------------------------------------

// The snapshots of a GET /_snapshot/<repo>/_all answer (unreadable entries
// are kept with empty fields: retention never deletes what it cannot name).
Result<std::vector<SnapshotEntry>> snapshot_entries(const Answer& a);

// ---- verify-restore ---------------------------------------------------------

// The scratch name a verification restores `index` under.
std::string scratch_name(const std::string& index);
constexpr const char* kScratchPrefix = "haes-verify-";

// The document count of a GET /<index>/_count answer; -1 when unusable.
int64_t count_of(const Answer& a);

struct IndexCounts {
  std::string index;
  int64_t restored = -1;  // the scratch copy restored from the snapshot
  int64_t synced = -1;    // the synced copy on the passive cluster
};

struct CountComparison {
  bool ok = true;
  std::string counts;    // "orders=40, logs=7" (the restored counts)
  std::string problems;  // "; "-separated, empty when ok
};

// Equal counts, each readable (>= 0), for every index: ok (also with no
// index: an empty snapshot restores as empty).
CountComparison compare_counts(const std::vector<IndexCounts>& counts, const std::string& cluster);

}  // namespace haes::sync
