#pragma once
// Pure helpers of SnapshotSync (unit-tested): snapshot names, the index
// expression sent to Elasticsearch, and the retention choice.
#include <cstdint>
#include <string>
#include <vector>

#include "common/time.hpp"

namespace haes::sync {

// "haes-e<epoch>-<yyyymmdd>t<hhmmss>.<mmm>z-<cluster>": lowercase (ES
// requires it), sortable by time within an epoch, and says where and when
// it was taken (UTC, milliseconds). Cluster names are lowercased; characters ES refuses become '_'.
std::string snapshot_name(uint64_t epoch, SysTime at, const std::string& cluster);
bool is_ours(const std::string& snapshot);

// The `indices` expression: the configured patterns, and "-.*" (no system
// or hidden dot-indices) unless include_system.
std::string index_expression(const std::vector<std::string>& patterns, bool include_system);

struct SnapshotEntry {
  std::string name;
  SysTime start{};
  std::string state;  // SUCCESS, PARTIAL, FAILED, IN_PROGRESS, ...
};

// Which of our snapshots to delete: everything beyond the newest `keep`,
// and (when max_age > 0) everything older than now - max_age; never the
// last synced snapshot, never one in progress, never another tool's.
std::vector<std::string> retention_victims(std::vector<SnapshotEntry> snapshots, int64_t keep, Duration max_age,
                                           const std::string& last_synced, SysTime now);

}  // namespace haes::sync
