#include "readiness/es_reads.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace haes {
namespace {

const char* const kWatermark = "cluster.routing.allocation.disk.watermark.";

std::string shown(const nlohmann::json& body) {
  std::string s = body.is_null() ? "not JSON" : body.dump();
  return s.size() > 80 ? s.substr(0, 80) + "…" : s;
}

// _cat values come as strings with format=json ("123"), sometimes as
// numbers; null for a closed index.
std::optional<int64_t> int_of(const nlohmann::json& v) {
  if (v.is_number_integer()) {
    return v.get<int64_t>();
  }
  if (v.is_number_float() && std::isfinite(v.get<double>())) {
    return static_cast<int64_t>(v.get<double>());
  }
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (!s.empty() && s.size() < 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::stoll(s);
    }
  }
  return std::nullopt;
}

// ES byte sizes: "500mb", "1.5gb", "100b", "0" (ByteSizeValue).
std::optional<int64_t> parse_bytes(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "-1") {
    return -1;
  }
  static const std::pair<const char*, double> kUnits[] = {{"pb", 1125899906842624.0},
                                                          {"tb", 1099511627776.0},
                                                          {"gb", 1073741824.0},
                                                          {"mb", 1048576.0},
                                                          {"kb", 1024.0},
                                                          {"p", 1125899906842624.0},
                                                          {"t", 1099511627776.0},
                                                          {"g", 1073741824.0},
                                                          {"m", 1048576.0},
                                                          {"k", 1024.0},
                                                          {"b", 1.0}};
  double mult = 0;
  for (const auto& [suffix, m] : kUnits) {
    const size_t n = std::char_traits<char>::length(suffix);
    if (s.size() > n && s.compare(s.size() - n, n, suffix) == 0) {
      mult = m;
      s.resize(s.size() - n);
      break;
    }
  }
  if (mult == 0) {
    if (s == "0") {
      return 0;
    }
    return std::nullopt;
  }
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v) || v < 0) {
    return std::nullopt;
  }
  return static_cast<int64_t>(v * mult);
}

// A watermark value: "85%", "0.85" (a used ratio) or a byte size (free space).
std::optional<Watermark> parse_watermark(const std::string& v) {
  Watermark w;
  if (!v.empty() && v.back() == '%') {
    char* end = nullptr;
    const double p = std::strtod(v.c_str(), &end);
    if (end != v.c_str() + v.size() - 1 || !std::isfinite(p) || p < 0 || p > 100) {
      return std::nullopt;
    }
    w.used_ratio = p / 100.0;
    return w;
  }
  char* end = nullptr;
  const double r = std::strtod(v.c_str(), &end);
  if (!v.empty() && end == v.c_str() + v.size() && std::isfinite(r) && r >= 0 && r <= 1) {
    w.used_ratio = r;
    return w;
  }
  auto b = parse_bytes(v);
  if (!b || *b < 0) {
    return std::nullopt;
  }
  w.free_bytes = *b;
  return w;
}

}  // namespace

int64_t Watermark::required_free(int64_t total) const {
  if (!used_ratio) {
    return free_bytes;
  }
  auto free = static_cast<int64_t>(std::ceil(static_cast<double>(total) * (1.0 - *used_ratio)));
  if (max_headroom && *max_headroom >= 0) {
    free = std::min(free, *max_headroom);
  }
  return free;
}

std::string Watermark::text() const {
  if (used_ratio) {
    char buf[32];
    const double p = std::round(*used_ratio * 1000.0) / 10.0;
    std::snprintf(buf, sizeof buf, p == std::floor(p) ? "%.0f%%" : "%.1f%%", p);
    return buf;
  }
  return bytes_text(free_bytes) + " free";
}

std::string bytes_text(int64_t bytes) {
  static const char* const kNames[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(std::max<int64_t>(bytes, 0));
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < std::size(kNames)) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (u == 0 || v >= 100) {
    std::snprintf(buf, sizeof buf, "%.0f %s", v, kNames[u]);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kNames[u]);
  }
  return buf;
}

Result<std::vector<IndexStat>> parse_cat_indices(const nlohmann::json& body) {
  if (!body.is_array()) {
    return Error{ErrorCode::kBadResponse, "the _cat/indices answer is not an array: " + shown(body)};
  }
  std::vector<IndexStat> out;
  for (const auto& row : body) {
    if (!row.is_object() || !row.contains("index") || !row["index"].is_string()) {
      continue;
    }
    IndexStat s;
    s.name = row["index"].get<std::string>();
    s.open = !(row.contains("status") && row["status"].is_string() && row["status"].get<std::string>() == "close");
    if (row.contains("docs.count")) {
      s.docs = int_of(row["docs.count"]);
    }
    if (row.contains("store.size")) {
      s.store_bytes = int_of(row["store.size"]).value_or(0);
    }
    if (row.contains("creation.date")) {
      if (auto ms = int_of(row["creation.date"])) {
        s.created = from_unix_ms(*ms);
      }
    }
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const IndexStat& a, const IndexStat& b) { return a.name < b.name; });
  return out;
}

Result<AllocationLimits> parse_allocation_limits(const nlohmann::json& body) {
  if (!body.is_object() || (!body.contains("persistent") && !body.contains("defaults"))) {
    return Error{ErrorCode::kBadResponse, "the _cluster/settings answer is not a settings object: " + shown(body)};
  }
  // The value of a flat setting, transient first; `explicit_set` tells
  // whether it was set (not a default).
  auto value = [&](const std::string& key, bool* explicit_set = nullptr) -> std::optional<std::string> {
    for (const char* scope : {"transient", "persistent", "defaults"}) {
      if (body.contains(scope) && body[scope].is_object() && body[scope].contains(key)) {
        const auto& v = body[scope][key];
        if (explicit_set) {
          *explicit_set = std::string(scope) != "defaults";
        }
        if (v.is_string()) {
          return v.get<std::string>();
        }
        if (v.is_number() || v.is_boolean()) {
          return v.dump();
        }
      }
    }
    return std::nullopt;
  };
  AllocationLimits l;
  if (auto v = value("cluster.routing.allocation.disk.threshold_enabled")) {
    l.disk_threshold_enabled = *v != "false";
  }
  if (auto v = value("cluster.max_shards_per_node")) {
    auto n = int_of(nlohmann::json(*v));
    if (!n || *n < 1) {
      return Error{ErrorCode::kBadResponse, "cluster.max_shards_per_node: '" + *v + "' is not a positive number"};
    }
    l.max_shards_per_node = *n;
  }
  for (auto [level, mark] :
       {std::pair<const char*, Watermark*>{"low", &l.low}, {"high", &l.high}, {"flood_stage", &l.flood_stage}}) {
    const std::string key = std::string(kWatermark) + level;
    bool mark_set = false;
    if (auto v = value(key, &mark_set)) {
      auto w = parse_watermark(*v);
      if (!w) {
        return Error{ErrorCode::kBadResponse, key + ": '" + *v + "' is neither a ratio nor a byte size"};
      }
      const std::optional<int64_t> default_headroom = mark->max_headroom;
      *mark = *w;
      bool headroom_set = false;
      auto h = value(key + ".max_headroom", &headroom_set);
      if (h && (headroom_set || !mark_set)) {
        auto b = parse_bytes(*h);
        if (!b) {
          return Error{ErrorCode::kBadResponse, key + ".max_headroom: '" + *h + "' is not a byte size"};
        }
        mark->max_headroom = *b < 0 ? std::nullopt : std::optional<int64_t>(*b);
      } else if (!mark_set) {
        mark->max_headroom = default_headroom;
      }
    }
  }
  return l;
}

}  // namespace haes
