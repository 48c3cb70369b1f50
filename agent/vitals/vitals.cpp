#include "vitals/vitals.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace haes {
namespace {

// Fields of ES answers are never trusted to have the documented type: a
// field of the wrong type reads as absent.
const nlohmann::json* member(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) {
    return nullptr;
  }
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

const nlohmann::json* path(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  const nlohmann::json* at = &j;
  for (const char* k : keys) {
    at = member(*at, k);
    if (!at) {
      return nullptr;
    }
  }
  return at;
}

std::optional<int64_t> int_at(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  const nlohmann::json* v = path(j, keys);
  if (!v) {
    return std::nullopt;
  }
  if (v->is_number_integer()) {
    return v->get<int64_t>();
  }
  if (v->is_number_float() && std::isfinite(v->get<double>())) {
    return static_cast<int64_t>(v->get<double>());
  }
  return std::nullopt;
}

std::optional<double> number_at(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  const nlohmann::json* v = path(j, keys);
  if (!v || !v->is_number()) {
    return std::nullopt;
  }
  double d = v->get<double>();
  return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
}

std::string shown(const nlohmann::json& body) {
  std::string s = body.is_null() ? "not JSON" : body.dump();
  return s.size() > 80 ? s.substr(0, 80) + "…" : s;
}

bool over(double ratio, int64_t percent) { return ratio * 100.0 > static_cast<double>(percent); }

std::string list_text(const std::vector<std::string>& names, size_t most) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < most; ++i) {
    out += (i ? ", " : "") + names[i];
  }
  if (names.size() > most) {
    out += ", … (" + std::to_string(names.size() - most) + " more)";
  }
  return out;
}

}  // namespace

std::string percent_text(double ratio) {
  char buf[32];
  double p = std::round(ratio * 1000.0) / 10.0;
  if (p == std::floor(p)) {
    std::snprintf(buf, sizeof buf, "%.0f%%", p);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f%%", p);
  }
  return buf;
}

Result<std::vector<NodeVitals>> parse_nodes_stats(const nlohmann::json& body) {
  const nlohmann::json* nodes = member(body, "nodes");
  if (!nodes || !nodes->is_object()) {
    return Error{ErrorCode::kBadResponse, "the _nodes/stats answer has no \"nodes\" object: " + shown(body)};
  }
  std::vector<NodeVitals> out;
  for (const auto& [id, n] : nodes->items()) {
    if (!n.is_object()) {
      continue;
    }
    NodeVitals v;
    const nlohmann::json* name = member(n, "name");
    v.name = name && name->is_string() && !name->get<std::string>().empty() ? name->get<std::string>() : id;
    auto total = int_at(n, {"fs", "total", "total_in_bytes"});
    auto available = int_at(n, {"fs", "total", "available_in_bytes"});
    if (!available) {
      available = int_at(n, {"fs", "total", "free_in_bytes"});
    }
    if (total && *total > 0 && available && *available >= 0) {
      v.disk_total_bytes = *total;
      v.disk_available_bytes = std::min(*available, *total);
      v.disk_used_ratio =
          static_cast<double>(v.disk_total_bytes - v.disk_available_bytes) / static_cast<double>(v.disk_total_bytes);
    }
    auto used = int_at(n, {"jvm", "mem", "heap_used_in_bytes"});
    auto max = int_at(n, {"jvm", "mem", "heap_max_in_bytes"});
    if (used && max && *max > 0 && *used >= 0) {
      v.heap_used_bytes = *used;
      v.heap_max_bytes = *max;
      v.heap_used_ratio = static_cast<double>(*used) / static_cast<double>(*max);
    } else if (auto pct = number_at(n, {"jvm", "mem", "heap_used_percent"}); pct && *pct >= 0) {
      v.heap_used_ratio = *pct / 100.0;
    }
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(), [](const NodeVitals& a, const NodeVitals& b) { return a.name < b.name; });
  return out;
}

Result<HealthDetails> parse_health_details(const nlohmann::json& body) {
  const nlohmann::json* status = member(body, "status");
  if (!status || !status->is_string()) {
    return Error{ErrorCode::kBadResponse, "the _cluster/health answer has no \"status\": " + shown(body)};
  }
  HealthDetails h;
  h.status = status->get<std::string>();
  auto get = [&](const char* key) { return int_at(body, {key}).value_or(0); };
  h.number_of_nodes = get("number_of_nodes");
  h.number_of_data_nodes = get("number_of_data_nodes");
  h.active_shards = get("active_shards");
  h.relocating_shards = get("relocating_shards");
  h.initializing_shards = get("initializing_shards");
  h.unassigned_shards = get("unassigned_shards");
  h.unassigned_primary_shards = int_at(body, {"unassigned_primary_shards"});
  h.delayed_unassigned_shards = get("delayed_unassigned_shards");
  h.number_of_pending_tasks = get("number_of_pending_tasks");
  h.active_shards_percent = number_at(body, {"active_shards_percent_as_number"}).value_or(0);
  return h;
}

Result<std::vector<std::string>> parse_flood_stage_blocks(const nlohmann::json& body) {
  if (!body.is_object() || !member(body, "cluster_name")) {
    return Error{ErrorCode::kBadResponse, "the _cluster/state/blocks answer is not a cluster state: " + shown(body)};
  }
  std::vector<std::string> out;
  const nlohmann::json* indices = path(body, {"blocks", "indices"});
  if (indices && indices->is_object()) {
    for (const auto& [index, blocks] : indices->items()) {
      if (blocks.is_object() && blocks.contains(kFloodStageBlockId)) {
        out.push_back(index);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

VitalsJudgement judge_vitals(const VitalsReading& r, size_t nodes_configured, const VitalsThresholds& t) {
  VitalsJudgement j;
  std::vector<VitalsConcern> critical;
  std::vector<VitalsConcern> warning;
  for (const auto& n : r.nodes) {
    if (n.disk_used_ratio && (!j.disk_max_ratio || *n.disk_used_ratio > *j.disk_max_ratio)) {
      j.disk_max_ratio = n.disk_used_ratio;
      j.disk_max_node = n.name;
    }
    if (n.heap_used_ratio && (!j.heap_max_ratio || *n.heap_used_ratio > *j.heap_max_ratio)) {
      j.heap_max_ratio = n.heap_used_ratio;
      j.heap_max_node = n.name;
    }
  }
  for (const auto& n : r.nodes) {
    if (n.disk_used_ratio && over(*n.disk_used_ratio, t.disk_critical_percent)) {
      critical.push_back({VitalsLevel::kCritical, "disk " + percent_text(*n.disk_used_ratio) + " used on " + n.name +
                                                      ", over " + std::to_string(t.disk_critical_percent) + "%"});
    } else if (n.disk_used_ratio && over(*n.disk_used_ratio, t.disk_warning_percent)) {
      warning.push_back({VitalsLevel::kWarning, "disk " + percent_text(*n.disk_used_ratio) + " used on " + n.name +
                                                    ", over " + std::to_string(t.disk_warning_percent) + "%"});
    }
  }
  if (!r.read_only_indices.empty()) {
    critical.push_back(
        {VitalsLevel::kCritical, std::to_string(r.read_only_indices.size()) +
                                     " index(es) read-only by the flood-stage disk watermark, writes refused: " +
                                     list_text(r.read_only_indices, 5)});
  }
  const int64_t primaries = r.health.unassigned_primary_shards.value_or(0);
  if (primaries > 0) {
    critical.push_back({VitalsLevel::kCritical, std::to_string(r.health.unassigned_shards) + " shard(s) unassigned, " +
                                                    std::to_string(primaries) + " of them primary"});
  } else if (r.health.unassigned_shards > 0) {
    warning.push_back({VitalsLevel::kWarning, std::to_string(r.health.unassigned_shards) + " shard(s) unassigned"});
  }
  if (static_cast<size_t>(std::max<int64_t>(r.health.number_of_nodes, 0)) < nodes_configured) {
    warning.push_back({VitalsLevel::kWarning, std::to_string(r.health.number_of_nodes) + " node(s) in the cluster, " +
                                                  std::to_string(nodes_configured) + " configured in haes"});
  }
  for (const auto& n : r.nodes) {
    if (n.heap_used_ratio && over(*n.heap_used_ratio, t.heap_warning_percent)) {
      warning.push_back({VitalsLevel::kWarning, "heap " + percent_text(*n.heap_used_ratio) + " used on " + n.name +
                                                    ", over " + std::to_string(t.heap_warning_percent) + "%"});
    }
  }
  j.level = !critical.empty() ? VitalsLevel::kCritical : !warning.empty() ? VitalsLevel::kWarning : VitalsLevel::kOk;
  j.concerns = std::move(critical);
  j.concerns.insert(j.concerns.end(), warning.begin(), warning.end());
  return j;
}

}  // namespace haes
