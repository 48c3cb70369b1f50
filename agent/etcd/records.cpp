#include "etcd/records.hpp"

#include <cstdint>
#include <limits>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace haes::etcd {
namespace {

using nlohmann::json;

Error bad(const std::string& what) { return Error{ErrorCode::kBadResponse, what}; }

template <class T>
bool get(const json& j, const char* key, T& out) {
  if (!j.contains(key)) {
    return true;  // optional: keep the default
  }
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // nlohmann converts a float or an out-of-range number with a plain
    // cast (undefined behaviour for -1.5 into an unsigned): only an integer
    // that fits is taken (found by tests/fuzz/etcd_answer_fuzz.cpp).
    const json& v = j[key];
    if (v.is_number_unsigned()) {
      if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        return false;
      }
    } else if (v.is_number_integer()) {
      const auto n = v.get<int64_t>();
      if (n < 0 ? (std::is_unsigned_v<T> || n < static_cast<int64_t>(std::numeric_limits<T>::min()))
                : static_cast<uint64_t>(n) > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        return false;
      }
    } else {
      return false;
    }
  }
  try {
    out = j[key].get<T>();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

}  // namespace

std::string encode_record(const AgentRecord& r) {
  json clusters = json::array();
  for (const auto& c : r.clusters) {
    clusters.push_back({{"name", c.name},
                        {"health", c.health},
                        {"bad_rounds", c.bad_rounds},
                        {"red", c.red},
                        {"unreachable", c.unreachable}});
  }
  return json{{"name", r.name},         {"epoch", r.epoch},
              {"active", r.active},     {"members_version", r.members_version},
              {"peer_url", r.peer_url}, {"admin_url", r.admin_url},
              {"at_ms", r.at_ms},       {"clusters", clusters}}
      .dump();
}

Result<AgentRecord> decode_record(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return bad("agent record is not a JSON object");
  }
  AgentRecord r;
  if (!get(j, "name", r.name) || r.name.empty()) {
    return bad("agent record without a name");
  }
  if (!get(j, "epoch", r.epoch) || !get(j, "active", r.active) || !get(j, "members_version", r.members_version) ||
      !get(j, "peer_url", r.peer_url) || !get(j, "admin_url", r.admin_url) || !get(j, "at_ms", r.at_ms)) {
    return bad("agent record of " + r.name + " has a field of the wrong type");
  }
  if (j.contains("clusters")) {
    if (!j["clusters"].is_array()) {
      return bad("agent record of " + r.name + ": clusters is not a list");
    }
    for (const auto& c : j["clusters"]) {
      ClusterSeen s;
      std::string health;
      if (!c.is_object() || !get(c, "name", s.name) || !get(c, "health", health) ||
          !get(c, "bad_rounds", s.bad_rounds) || !get(c, "red", s.red) || !get(c, "unreachable", s.unreachable)) {
        return bad("agent record of " + r.name + ": a cluster entry of the wrong shape");
      }
      auto h = enum_from_name<Health>(health);
      if (!h) {
        return bad("agent record of " + r.name + ": unknown health '" + health + "'");
      }
      s.health = *h;
      r.clusters.push_back(std::move(s));
    }
  }
  return r;
}

std::string encode_members(const Members& m) {
  json agents = json::object();
  for (const auto& [name, a] : m.agents) {
    agents[name] = {{"peer_url", a.peer_url}, {"admin_url", a.admin_url}};
  }
  return json{{"version", m.version}, {"agents", agents}}.dump();
}

Result<Members> decode_members(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("agents") || !j["agents"].is_object()) {
    return bad("the membership list is not {\"version\", \"agents\": {...}}");
  }
  Members m;
  if (!get(j, "version", m.version)) {
    return bad("the membership list's version is not a number");
  }
  for (const auto& [name, a] : j["agents"].items()) {
    Member mem;
    if (!a.is_object() || !get(a, "peer_url", mem.peer_url) || !get(a, "admin_url", mem.admin_url)) {
      return bad("the membership entry of " + name + " has the wrong shape");
    }
    m.agents[name] = std::move(mem);
  }
  return m;
}

}  // namespace haes::etcd
