#pragma once
// What passive readiness (readiness.hpp) needs from Elasticsearch beyond the
// vitals: every index with its state, document count, size and creation
// time (GET /_cat/indices), and the allocation limits the cluster applies
// (GET /_cluster/settings?include_defaults): the disk watermarks and
// cluster.max_shards_per_node. Pure parsers; the HealthMonitor sends the
// requests with its vitals reads (monitor.cpp), never on the verdict path.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "common/time.hpp"

namespace haes {

// The two requests (sent by the monitor).
inline constexpr const char* kCatIndicesTarget =
    "/_cat/indices?format=json&bytes=b&expand_wildcards=all&h=index,status,docs.count,store.size,creation.date";
inline constexpr const char* kSettingsTarget = "/_cluster/settings?include_defaults=true&flat_settings=true";

struct IndexStat {
  std::string name;
  bool open = true;                // status "open" (a closed index reports no count nor size)
  std::optional<int64_t> docs;     // docs.count
  int64_t store_bytes = 0;         // store.size, with replicas
  std::optional<SysTime> created;  // creation.date
};

// One disk watermark as Elasticsearch reads it: a used ratio ("90%", "0.9")
// or a minimum of free space ("500mb"); a ratio's free-space requirement is
// capped by its max_headroom (ES 8.5+), which applies only while the
// watermark is left at its default or max_headroom is set explicitly.
struct Watermark {
  std::optional<double> used_ratio;     // absent: free_bytes applies
  int64_t free_bytes = 0;               // when used_ratio is absent
  std::optional<int64_t> max_headroom;  // bytes; absent: no cap
  // The free bytes under which a disk of `total` bytes is over the watermark.
  int64_t required_free(int64_t total) const;
  // "90%" or "500mb free".
  std::string text() const;
};

struct AllocationLimits {
  bool disk_threshold_enabled = true;
  Watermark low{0.85, 0, int64_t{200} << 30};
  Watermark high{0.90, 0, int64_t{150} << 30};
  Watermark flood_stage{0.95, 0, int64_t{100} << 30};
  int64_t max_shards_per_node = 1000;
};

// GET /_cat/indices?format=json → the indices, sorted by name. An error when
// the body is not an array; a row without an index name is skipped.
Result<std::vector<IndexStat>> parse_cat_indices(const nlohmann::json& body);

// GET /_cluster/settings?include_defaults=true&flat_settings=true → the
// limits (transient over persistent over defaults). An error when the body
// is not a settings object or a value cannot be read (it names the setting).
Result<AllocationLimits> parse_allocation_limits(const nlohmann::json& body);

// "1.2 TB", "350 MB", "12 KB", "80 B" (decimal units, one decimal).
std::string bytes_text(int64_t bytes);

}  // namespace haes
