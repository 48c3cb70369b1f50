#pragma once
// Cluster vitals (pure): what the HealthMonitor reads at a slower pace than
// its health rounds — every node's disk and heap, the node count, shards not
// assigned, indices under the flood-stage read-only block — parsed from
// Elasticsearch's answers and judged against thresholds.
//
// Vitals never move traffic and are never on the verdict path: they tell
// operators (haesctl status) and alerts (/metrics) what is coming before it
// turns a cluster red. docs/health.md ("Cluster vitals") states these rules.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/enum_names.hpp"
#include "common/result.hpp"
#include "common/time.hpp"
#include "readiness/es_reads.hpp"

namespace haes {

// The judgement of a reading, worst first when compared (critical > warning > ok).
#define HAES_VITALS_LEVEL_LIST(X) X(kUnknown, "unknown") X(kOk, "ok") X(kWarning, "warning") X(kCritical, "critical")
HAES_ENUM(VitalsLevel, uint8_t, "level", HAES_VITALS_LEVEL_LIST)

// One vitals read of a cluster (metric haes_vitals_reads_total).
#define HAES_VITALS_RESULT_LIST(X) X(kOk, "ok") X(kFailed, "failed")
HAES_ENUM(VitalsResult, uint8_t, "result", HAES_VITALS_RESULT_LIST)

// The block Elasticsearch's disk monitor puts on every index with a shard on
// a node over the flood-stage watermark (ClusterBlock id 12 in
// GET /_cluster/state/blocks; index.blocks.read_only_allow_delete).
inline constexpr const char* kFloodStageBlockId = "12";

struct NodeVitals {
  std::string name;  // Elasticsearch's node name (not haes's configured name)
  // From _nodes/stats fs.total: (total - available) / total, as the disk
  // watermarks see it. Absent when the node reports no disk total.
  std::optional<double> disk_used_ratio;
  int64_t disk_total_bytes = 0;
  int64_t disk_available_bytes = 0;
  // From _nodes/stats jvm.mem: heap_used_in_bytes / heap_max_in_bytes
  // (heap_used_percent / 100 when the byte counts are missing).
  std::optional<double> heap_used_ratio;
  int64_t heap_used_bytes = 0;
  int64_t heap_max_bytes = 0;
};

// The GET /_cluster/health fields the health rounds do not keep.
struct HealthDetails {
  std::string status;  // green, yellow, red as the answering node saw it
  int64_t number_of_nodes = 0;
  int64_t number_of_data_nodes = 0;
  int64_t active_shards = 0;
  int64_t relocating_shards = 0;
  int64_t initializing_shards = 0;
  int64_t unassigned_shards = 0;
  std::optional<int64_t> unassigned_primary_shards;  // ES 8.16 and later
  int64_t delayed_unassigned_shards = 0;
  int64_t number_of_pending_tasks = 0;
  double active_shards_percent = 0;
};

// One successful reading of a cluster: the three answers, parsed.
struct VitalsReading {
  SysTime at{};
  std::string from;               // the configured node that answered
  std::vector<NodeVitals> nodes;  // sorted by name
  HealthDetails health;
  std::vector<std::string> read_only_indices;  // under the flood-stage block, sorted
  // Read beside the vitals for passive readiness (readiness/): absent when
  // their requests failed (readiness_error says why; the vitals still count).
  // The index list is shared, never changed once read: a copy of the
  // reading (the status model takes one per refresh) does not copy it.
  std::shared_ptr<const std::vector<IndexStat>> indices;
  std::optional<AllocationLimits> limits;
  std::string readiness_error;
};

struct VitalsThresholds {
  int64_t disk_warning_percent = 80;
  int64_t disk_critical_percent = 90;
  int64_t heap_warning_percent = 85;
};

struct VitalsConcern {
  VitalsLevel level = VitalsLevel::kWarning;
  std::string text;
};

struct VitalsJudgement {
  std::optional<double> disk_max_ratio;  // the fullest node's disk
  std::string disk_max_node;
  std::optional<double> heap_max_ratio;  // the fullest node's heap
  std::string heap_max_node;
  VitalsLevel level = VitalsLevel::kUnknown;
  std::vector<VitalsConcern> concerns;  // worst first
};

// What the monitor knows of one cluster's vitals.
struct ClusterVitals {
  std::string cluster;
  size_t nodes_configured = 0;        // nodes haes's config lists for it
  std::optional<VitalsReading> last;  // the last successful reading
  VitalsJudgement judgement;          // of `last`
  uint64_t attempts = 0;
  SysTime attempt_at{};  // the last attempt
  std::string error;     // "" when the last attempt succeeded
};

// GET /_nodes/stats/fs,jvm → each node's disk and heap. An error when the
// body has no "nodes" object; a field of the wrong type is ignored.
Result<std::vector<NodeVitals>> parse_nodes_stats(const nlohmann::json& body);

// GET /_cluster/health → the details. An error when there is no status.
Result<HealthDetails> parse_health_details(const nlohmann::json& body);

// GET /_cluster/state/blocks → the indices carrying the flood-stage block
// (id 12), sorted. An error when the body is not a cluster-state object.
Result<std::vector<std::string>> parse_flood_stage_blocks(const nlohmann::json& body);

// The judgement of a reading:
//  - disk: the fullest node; over disk_critical_percent → critical, over
//    disk_warning_percent → warning (one concern per node over);
//  - heap: the fullest node; over heap_warning_percent → warning;
//  - any index under the flood-stage block → critical (writes refused);
//  - fewer nodes in the cluster than haes's config lists → warning;
//  - unassigned primary shards → critical, other unassigned shards → warning.
// No concern → ok. "Over" is strictly greater, as Prometheus's `>`.
VitalsJudgement judge_vitals(const VitalsReading& reading, size_t nodes_configured, const VitalsThresholds& t);

// "91.5%" (one decimal, no trailing ".0": "30%").
std::string percent_text(double ratio);

}  // namespace haes
