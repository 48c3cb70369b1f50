#pragma once
// Passive readiness (docs/readiness.md): could the passive cluster take
// over now? A pure judgement of what the agent already reads — the latest
// health round, the cluster vitals with the indices and allocation limits
// read beside them (es_reads.hpp), the stored sync point — against the
// rules Elasticsearch itself applies (disk watermarks, the shard limit).
//
// Computed on the control thread after every health round; never on the
// verdict path. A planned switchover to a cluster judged "no" is refused
// unless forced; an automatic failover is never blocked by it (its journal
// entry says what was not ready).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/change.hpp"
#include "common/enum_names.hpp"
#include "common/health.hpp"
#include "common/state.hpp"
#include "common/time.hpp"
#include "readiness/es_reads.hpp"
#include "vitals/vitals.hpp"

namespace haes {

struct Config;

// clang-format off
#define HAES_READINESS_ANSWER_LIST(X) \
  X(kUnknown, "unknown")              \
  X(kYes, "yes")                      \
  X(kNo, "no")
// clang-format on
HAES_ENUM(ReadinessAnswer, uint8_t, "ready", HAES_READINESS_ANSWER_LIST)

// Why the passive cluster is not ready (or not known to be), the first one
// the most serious (the order of checks in judge_readiness).
// clang-format off
#define HAES_READINESS_PROBLEM_LIST(X)                                           \
  X(kNoPassive, "no_passive")           /* no active cluster, or no other one */ \
  X(kUnhealthy, "unhealthy")            /* red or unreachable in the last round */ \
  X(kNotRead, "not_read")               /* no vitals, indices or settings read yet */ \
  X(kNeverSynced, "never_synced")                                                \
  X(kIndexMissing, "index_missing")                                              \
  X(kIndexClosed, "index_closed")                                                \
  X(kDocsBehind, "docs_behind")                                                  \
  X(kNodesMissing, "nodes_missing")                                              \
  X(kDiskWatermark, "disk_watermark")   /* a node already over high/flood stage */ \
  X(kDiskHeadroom, "disk_headroom")     /* would go over high with the data */   \
  X(kShardCapacity, "shard_capacity")                                            \
  X(kHeap, "heap")
// clang-format on
HAES_ENUM(ReadinessProblem, uint8_t, "reason", HAES_READINESS_PROBLEM_LIST)

struct ReadinessReason {
  ReadinessProblem code = ReadinessProblem::kNotRead;
  std::string text;  // one line: "dc2 disk would reach 93% with dc1's 1.2 TB ..."
};

struct ReadinessThresholds {
  int64_t disk_margin_percent = 10;          // growth allowed for, in % of the active cluster's data
  int64_t doc_count_tolerance_percent = 10;  // a synced index's count may lag the active's by this much
  int64_t heap_max_percent = 85;
};

// A cluster as readiness sees it (built from the monitor's ClusterVitals).
struct ReadinessCluster {
  std::string name;
  Health health = Health::kUnknown;  // from the latest round
  size_t nodes_configured = 0;
  std::optional<VitalsReading> vitals;  // the last successful vitals read
};

struct ReadinessInputs {
  ReadinessCluster active;
  ReadinessCluster passive;
  bool sync_configured = false;
  std::vector<std::string> index_patterns;  // sync.indices
  bool include_system_indices = false;
  SyncPoint last_sync;
  ReadinessThresholds thresholds;
};

struct ReadinessVerdict {
  std::string target;  // the passive cluster judged ("" : none)
  std::string active;
  ReadinessAnswer answer = ReadinessAnswer::kUnknown;
  std::vector<ReadinessReason> reasons;  // empty iff answer is yes
  // The figures behind the answer (absent: not known).
  std::optional<int64_t> active_data_bytes;    // the synced indices on the active cluster
  std::optional<double> disk_used_ratio;       // the passive cluster's now (all data nodes)
  std::optional<double> disk_projected_ratio;  // with the active's data and the margin
  std::optional<int64_t> shards_needed;
  std::optional<int64_t> shard_limit;
  size_t indices_expected = 0;  // synced indices the passive cluster should hold
  SysTime at{};
};

// Whether `name` is one of the synced indices: matches the patterns
// (`*` wildcards; `-pattern` excludes what earlier patterns matched),
// not a system index (".") unless included, not haes's own scratch
// indices (haes-verify-*, haes-drill-*).
bool synced_index(const std::string& name, const std::vector<std::string>& patterns, bool include_system);

// The judgement (pure). Checks in order: a passive cluster exists; it is
// green or yellow; its vitals, indices and limits were read; it was synced;
// every synced index of the active cluster created before the last sync
// started is on it, open, with a count within the tolerance of the active's;
// all configured nodes are in it; no node is over the high (or flood-stage)
// watermark; its disks stay under the high watermark with the active's data
// plus the margin; the shard limit holds the larger cluster's shards; no
// node's heap is over heap_max_percent.
ReadinessVerdict judge_readiness(const ReadinessInputs& in, SysTime now);

// The inputs from what the agent knows (pure): the passive cluster is the
// first configured cluster other than the active one and not fenced.
ReadinessInputs readiness_inputs(const Config& config, const State& state, const HealthRound* round,
                                 const std::vector<ClusterVitals>& vitals);

// The reasons that refuse a planned move to the judged cluster. A planned
// switchover with the snapshot sync (`with_final_sync`) restores every
// synced index on its target before the switch, which mends never_synced,
// index_missing, index_closed and docs_behind: only the others refuse it.
// Empty unless the answer is no.
std::vector<ReadinessReason> refusing_planned_move(const ReadinessVerdict& v, bool with_final_sync);

// "yes", "no: <first reason>", "unknown: <first reason>".
std::string readiness_line(const ReadinessVerdict& v);
nlohmann::json readiness_json(const ReadinessVerdict& v);

// Whether the answer or the set of problem codes differs (what is logged
// and journaled; the figures move every round and are not).
bool readiness_changed(const ReadinessVerdict& before, const ReadinessVerdict& after);

// The journal entry for a new judgement, when it changed (readiness_changed)
// from `before` (null: none yet; a first "yes" or "unknown" is not journaled).
std::optional<Event> readiness_event(const ReadinessVerdict* before, const ReadinessVerdict& after, uint64_t epoch);

// A failover decided while its target was not ready: the journal entry of
// the failover says so (the failover itself goes ahead). No-op otherwise.
void note_readiness(Change& change, const ReadinessVerdict& v);

}  // namespace haes
