#include "readiness/readiness.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/pattern.hpp"
#include "config/config.hpp"

namespace haes {
namespace {

std::string names_text(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 3; ++i) {
    out += (i ? ", " : "") + names[i];
  }
  if (names.size() > 3) {
    out += ", … (" + std::to_string(names.size() - 3) + " more)";
  }
  return out;
}

std::string pct(double ratio) {
  char buf[32];
  const double p = std::round(ratio * 1000.0) / 10.0;
  std::snprintf(buf, sizeof buf, p == std::floor(p) ? "%.0f%%" : "%.1f%%", p);
  return buf;
}

const IndexStat* find_index(const std::vector<IndexStat>& list, const std::string& name) {
  auto it = std::lower_bound(list.begin(), list.end(), name,
                             [](const IndexStat& s, const std::string& n) { return s.name < n; });
  return it != list.end() && it->name == name ? &*it : nullptr;
}

// What a vitals reading lacks for readiness ("" : nothing).
std::string missing_reads(const ReadinessCluster& c) {
  if (!c.vitals) {
    return "no vitals read of " + c.name + " yet (vitals.interval)";
  }
  if (!c.vitals->indices || !c.vitals->limits) {
    return "the indices or settings of " + c.name + " could not be read" +
           (c.vitals->readiness_error.empty() ? "" : ": " + c.vitals->readiness_error);
  }
  return "";
}

void add(ReadinessVerdict& v, ReadinessProblem code, std::string text) { v.reasons.push_back({code, std::move(text)}); }

void check_indices(const ReadinessInputs& in, ReadinessVerdict& v) {
  const auto& act = *in.active.vitals->indices;
  const auto& pas = *in.passive.vitals->indices;
  std::vector<std::string> missing;
  std::vector<std::string> closed;
  std::vector<std::string> behind;
  for (const auto& a : act) {
    if (!a.open || !synced_index(a.name, in.index_patterns, in.include_system_indices)) {
      continue;
    }
    // An index created after the last sync started cannot be on the passive
    // cluster yet: that is the RPO, shown apart, not a readiness problem.
    if (a.created && *a.created >= in.last_sync.started_at) {
      continue;
    }
    ++v.indices_expected;
    const IndexStat* p = find_index(pas, a.name);
    if (!p) {
      missing.push_back(a.name);
    } else if (!p->open) {
      closed.push_back(a.name);
    } else if (a.docs && *a.docs > 0) {
      const int64_t have = p->docs.value_or(0);
      const auto allowed = static_cast<int64_t>(std::floor(
          static_cast<double>(*a.docs) * static_cast<double>(in.thresholds.doc_count_tolerance_percent) / 100.0));
      if (have < *a.docs - allowed) {
        behind.push_back(a.name + " (" + std::to_string(have) + " of " + std::to_string(*a.docs) + ")");
      }
    }
  }
  const std::string& pas_name = in.passive.name;
  if (!missing.empty()) {
    add(v, ReadinessProblem::kIndexMissing,
        pas_name + " lacks " + std::to_string(missing.size()) + " synced index(es): " + names_text(missing));
  }
  if (!closed.empty()) {
    add(v, ReadinessProblem::kIndexClosed,
        std::to_string(closed.size()) + " synced index(es) closed on " + pas_name + ": " + names_text(closed));
  }
  if (!behind.empty()) {
    add(v, ReadinessProblem::kDocsBehind,
        std::to_string(behind.size()) + " synced index(es) on " + pas_name + " more than " +
            std::to_string(in.thresholds.doc_count_tolerance_percent) + "% behind " + in.active.name +
            "'s document count: " + names_text(behind));
  }
}

void check_disk(const ReadinessInputs& in, ReadinessVerdict& v) {
  const VitalsReading& pr = *in.passive.vitals;
  const AllocationLimits& lim = *pr.limits;
  int64_t total = 0;
  int64_t available = 0;
  int64_t high_free = 0;
  std::vector<std::string> over_flood;
  std::vector<std::string> over_high;
  for (const auto& n : pr.nodes) {
    if (n.disk_total_bytes <= 0) {
      continue;
    }
    total += n.disk_total_bytes;
    available += n.disk_available_bytes;
    high_free += lim.high.required_free(n.disk_total_bytes);
    const std::string used = n.name + " " + pct(*n.disk_used_ratio);
    if (n.disk_available_bytes < lim.flood_stage.required_free(n.disk_total_bytes)) {
      over_flood.push_back(used);
    } else if (n.disk_available_bytes < lim.high.required_free(n.disk_total_bytes)) {
      over_high.push_back(used);
    }
  }
  // The active cluster's data: its synced indices (every copy).
  int64_t data = 0;
  int64_t held = 0;
  for (const auto& a : *in.active.vitals->indices) {
    if (a.open && synced_index(a.name, in.index_patterns, in.include_system_indices)) {
      data += a.store_bytes;
      if (const IndexStat* p = find_index(*pr.indices, a.name)) {
        held += p->store_bytes;
      }
    }
  }
  v.active_data_bytes = data;
  if (total <= 0) {
    return;
  }
  const auto margin =
      static_cast<int64_t>(static_cast<double>(data) * static_cast<double>(in.thresholds.disk_margin_percent) / 100.0);
  const int64_t growth = std::max<int64_t>(data - held, 0) + margin;
  v.disk_used_ratio = static_cast<double>(total - available) / static_cast<double>(total);
  v.disk_projected_ratio = static_cast<double>(total - available + growth) / static_cast<double>(total);
  if (!lim.disk_threshold_enabled) {
    return;  // Elasticsearch applies no watermark
  }
  const std::string& pas_name = in.passive.name;
  if (!over_flood.empty()) {
    add(v, ReadinessProblem::kDiskWatermark,
        pas_name + " disk over the flood-stage watermark (" + lim.flood_stage.text() +
            "), its indices read-only: " + names_text(over_flood));
  }
  if (!over_high.empty()) {
    add(v, ReadinessProblem::kDiskWatermark,
        pas_name + " disk over the high watermark (" + lim.high.text() +
            "), no shard allocated there: " + names_text(over_high));
  }
  if (over_flood.empty() && over_high.empty() && available - growth < high_free) {
    add(v, ReadinessProblem::kDiskHeadroom,
        pas_name + " disk would reach " + pct(*v.disk_projected_ratio) + " with " + in.active.name + "'s " +
            bytes_text(data) + " (+" + std::to_string(in.thresholds.disk_margin_percent) +
            "% margin), over the high watermark (" + lim.high.text() + ")");
  }
}

}  // namespace

bool synced_index(const std::string& name, const std::vector<std::string>& patterns, bool include_system) {
  if (name.rfind("haes-", 0) == 0 || (!include_system && name.rfind('.', 0) == 0)) {
    return false;
  }
  bool in = false;
  for (const auto& p : patterns) {
    if (!p.empty() && p[0] == '-') {
      in = in && !simple_match(std::string_view(p).substr(1), name);
    } else if (simple_match(p, name)) {
      in = true;
    }
  }
  return in;
}

ReadinessVerdict judge_readiness(const ReadinessInputs& in, SysTime now) {
  ReadinessVerdict v;
  v.at = now;
  v.target = in.passive.name;
  v.active = in.active.name;
  const std::string& pas_name = in.passive.name;
  if (in.passive.name.empty() || in.active.name.empty()) {
    add(v, ReadinessProblem::kNoPassive,
        in.active.name.empty() ? "no cluster is active" : "no passive cluster to take over (all fenced?)");
    return v;
  }
  if (in.passive.health == Health::kRed || in.passive.health == Health::kUnreachable) {
    add(v, ReadinessProblem::kUnhealthy, pas_name + " is " + std::string(to_string(in.passive.health)));
    v.answer = ReadinessAnswer::kNo;
    return v;
  }
  std::string missing = missing_reads(in.passive);
  if (missing.empty()) {
    missing = missing_reads(in.active);
  }
  if (!missing.empty()) {
    add(v, ReadinessProblem::kNotRead, missing);
    return v;  // unknown
  }
  const VitalsReading& pr = *in.passive.vitals;
  if (in.sync_configured) {
    if (in.last_sync.snapshot.empty()) {
      add(v, ReadinessProblem::kNeverSynced,
          pas_name + " was never synced: it holds none of " + in.active.name + "'s data");
    } else {
      check_indices(in, v);
    }
  }
  if (static_cast<size_t>(std::max<int64_t>(pr.health.number_of_nodes, 0)) < in.passive.nodes_configured) {
    add(v, ReadinessProblem::kNodesMissing,
        pas_name + " has " + std::to_string(pr.health.number_of_nodes) + " of its " +
            std::to_string(in.passive.nodes_configured) + " configured nodes");
  }
  check_disk(in, v);
  const int64_t data_nodes = std::max<int64_t>(pr.health.number_of_data_nodes, 0);
  const VitalsReading& ar = *in.active.vitals;
  v.shard_limit = pr.limits->max_shards_per_node * data_nodes;
  v.shards_needed = std::max(pr.health.active_shards + pr.health.unassigned_shards,
                             ar.health.active_shards + ar.health.unassigned_shards);
  if (*v.shards_needed > *v.shard_limit) {
    add(v, ReadinessProblem::kShardCapacity,
        pas_name + " can hold " + std::to_string(*v.shard_limit) + " shards (cluster.max_shards_per_node " +
            std::to_string(pr.limits->max_shards_per_node) + " x " + std::to_string(data_nodes) + " data nodes), " +
            std::to_string(*v.shards_needed) + " needed");
  }
  std::vector<std::string> heavy;
  for (const auto& n : pr.nodes) {
    if (n.heap_used_ratio && *n.heap_used_ratio * 100.0 > static_cast<double>(in.thresholds.heap_max_percent)) {
      heavy.push_back(n.name + " " + pct(*n.heap_used_ratio));
    }
  }
  if (!heavy.empty()) {
    add(v, ReadinessProblem::kHeap,
        pas_name + " heap over " + std::to_string(in.thresholds.heap_max_percent) +
            "% before taking any load: " + names_text(heavy));
  }
  v.answer = v.reasons.empty() ? ReadinessAnswer::kYes : ReadinessAnswer::kNo;
  return v;
}

ReadinessInputs readiness_inputs(const Config& config, const State& state, const HealthRound* round,
                                 const std::vector<ClusterVitals>& vitals) {
  ReadinessInputs in;
  auto fill = [&](ReadinessCluster& c, const std::string& name) {
    c.name = name;
    const ClusterObservation* obs = round ? round->find(name) : nullptr;
    c.health = obs ? obs->health : Health::kUnknown;
    for (const auto& v : vitals) {
      if (v.cluster == name) {
        c.nodes_configured = v.nodes_configured;
        c.vitals = v.last;
      }
    }
  };
  if (!state.active.empty()) {
    fill(in.active, state.active);
    for (const auto& c : config.clusters) {
      if (c.name != state.active && !state.is_fenced(c.name)) {
        fill(in.passive, c.name);
        break;
      }
    }
  }
  // The data checks compare with the snapshot sync's point; in CCR mode the
  // followers' state is the CCR status' (docs/ccr.md), and the patterns
  // that size the data are the followed ones.
  in.sync_configured = config.sync.has_value() && config.sync->mode == SyncMode::kSnapshot;
  if (config.sync) {
    in.index_patterns = config.sync->mode == SyncMode::kCcr ? config.sync->ccr.indices : config.sync->indices;
    in.include_system_indices = config.sync->include_system_indices;
  }
  in.last_sync = state.last_sync;
  in.thresholds.disk_margin_percent = config.readiness.disk_margin_percent;
  in.thresholds.doc_count_tolerance_percent = config.readiness.doc_count_tolerance_percent;
  in.thresholds.heap_max_percent = config.vitals.heap_warning_percent;
  return in;
}

std::vector<ReadinessReason> refusing_planned_move(const ReadinessVerdict& v, bool with_final_sync) {
  std::vector<ReadinessReason> out;
  if (v.answer != ReadinessAnswer::kNo) {
    return out;
  }
  for (const auto& r : v.reasons) {
    const bool mended = r.code == ReadinessProblem::kNeverSynced || r.code == ReadinessProblem::kIndexMissing ||
                        r.code == ReadinessProblem::kIndexClosed || r.code == ReadinessProblem::kDocsBehind;
    if (!(with_final_sync && mended)) {
      out.push_back(r);
    }
  }
  return out;
}

std::string readiness_line(const ReadinessVerdict& v) {
  if (v.answer == ReadinessAnswer::kYes) {
    return "yes";
  }
  return std::string(to_string(v.answer)) + (v.reasons.empty() ? "" : ": " + v.reasons.front().text);
}

nlohmann::json readiness_json(const ReadinessVerdict& v) {
  nlohmann::json reasons = nlohmann::json::array();
  for (const auto& r : v.reasons) {
    reasons.push_back({{"code", to_string(r.code)}, {"text", r.text}});
  }
  auto opt = [](const auto& o) { return o ? nlohmann::json(*o) : nlohmann::json(); };
  return {{"target", v.target},
          {"active", v.active},
          {"ready", to_string(v.answer)},
          {"line", readiness_line(v)},
          {"reasons", reasons},
          {"active_data_bytes", opt(v.active_data_bytes)},
          {"disk_used_ratio", opt(v.disk_used_ratio)},
          {"disk_projected_ratio", opt(v.disk_projected_ratio)},
          {"shards_needed", opt(v.shards_needed)},
          {"shard_limit", opt(v.shard_limit)},
          {"indices_expected", v.indices_expected},
          {"at", format_time(v.at)}};
}

bool readiness_changed(const ReadinessVerdict& before, const ReadinessVerdict& after) {
  if (before.answer != after.answer || before.target != after.target || before.reasons.size() != after.reasons.size()) {
    return true;
  }
  for (size_t i = 0; i < before.reasons.size(); ++i) {
    if (before.reasons[i].code != after.reasons[i].code) {
      return true;
    }
  }
  return false;
}

std::optional<Event> readiness_event(const ReadinessVerdict* before, const ReadinessVerdict& after, uint64_t epoch) {
  if (before ? !readiness_changed(*before, after) : after.answer != ReadinessAnswer::kNo) {
    return std::nullopt;
  }
  // Unknown after a known answer (a read failing) is not news worth a
  // journal entry; the log and status say it.
  if (after.answer == ReadinessAnswer::kUnknown && before && before->answer != ReadinessAnswer::kUnknown) {
    return std::nullopt;
  }
  return make_event(after.at, epoch, EventKind::kReadiness, "readiness",
                    (after.target.empty() ? std::string("passive cluster") : after.target) +
                        " ready to take over: " + readiness_line(after));
}

void note_readiness(Change& change, const ReadinessVerdict& v) {
  if (!change.transition || v.answer != ReadinessAnswer::kNo || change.next == std::nullopt ||
      change.next->active != v.target) {
    return;
  }
  for (auto& e : change.events) {
    if (e.kind == event_kind_of(*change.transition)) {
      e.message += "; " + v.target + " was not ready: " + v.reasons.front().text;
    }
  }
}

}  // namespace haes
