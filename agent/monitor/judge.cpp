#include "monitor/judge.hpp"

#include "es/response.hpp"

#include <algorithm>

namespace haes {
namespace {

int rank(Health h) {
  switch (h) {
    case Health::kGreen: return 3;
    case Health::kYellow: return 2;
    case Health::kRed: return 1;
    default: return 0;
  }
}

// A number field of an ES answer, 0 when absent or not a number (ES input
// is never trusted to have the documented type).
int64_t int_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

ProbeFailure failure_of(const Error& e) {
  if (e.code == ErrorCode::kConnect) return ProbeFailure::kConnect;
  if (e.code == ErrorCode::kTimeout) return ProbeFailure::kTimeout;
  if (e.code == ErrorCode::kTls) return ProbeFailure::kTls;
  return ProbeFailure::kBadBody;
}

NodeObservation judge_node(const Result<es::Response>& answer) {
  NodeObservation o;
  if (!answer) {
    o.health = Health::kUnreachable;
    o.failure = failure_of(answer.error());
    o.reason = answer.error().message;
    return o;
  }
  const auto& r = *answer;
  o.latency = r.latency;
  if (r.status == 503 && r.es_type == "master_not_discovered_exception") {
    o.health = Health::kUnreachable;
    o.failure = ProbeFailure::kNoMaster;
    o.reason = "the node sees no elected master (" + r.error_summary() + ")";
    return o;
  }
  if (r.status == 401 || r.status == 403) {
    o.health = Health::kUnreachable;
    o.failure = ProbeFailure::kAuth;
    o.reason = "credentials refused: " + r.error_summary() + "; check clusters[].auth";
    return o;
  }
  if (!r.ok()) {
    o.health = Health::kUnreachable;
    o.failure = ProbeFailure::kHttpError;
    o.reason = r.error_summary();
    return o;
  }
  std::string status;
  if (r.json.is_object() && r.json.contains("status") && r.json["status"].is_string()) {
    status = r.json["status"].get<std::string>();
  }
  if (status == "green") {
    o.health = Health::kGreen;
  } else if (status == "yellow") {
    o.health = Health::kYellow;
    o.reason = "yellow: " + std::to_string(int_field(r.json, "unassigned_shards")) + " replica shard(s) unassigned";
  } else if (status == "red") {
    o.health = Health::kRed;
    o.reason = "red: the cluster reports unassigned primary shards (" +
               std::to_string(int_field(r.json, "unassigned_shards")) + " shard(s) unassigned)";
  } else {
    o.health = Health::kUnreachable;
    o.failure = ProbeFailure::kBadBody;
    const std::string shown = es::shown_text(r.body, 80);
    o.reason = r.json.is_null() ? "the health answer is not JSON: \"" + shown + "\""
                                : "the health answer has no green/yellow/red \"status\": " + shown;
  }
  return o;
}

ClusterObservation judge_cluster(std::string name, std::vector<NodeObservation> nodes) {
  ClusterObservation c;
  c.name = std::move(name);
  c.nodes = std::move(nodes);
  Health best = Health::kUnknown;
  int voters = 0;
  std::string failures;
  for (const auto& n : c.nodes) {
    if (rank(n.health) > 0) {
      ++voters;
      if (rank(n.health) > rank(best)) {
        best = n.health;
      }
    } else if (n.health == Health::kUnreachable) {
      failures += (failures.empty() ? "" : "; ") + n.name + ": " + std::string(to_string(n.failure)) +
                  (n.reason.empty() ? "" : " (" + n.reason + ")");
    }
  }
  const std::string of = std::to_string(voters) + "/" + std::to_string(c.nodes.size()) + " node(s)";
  if (voters == 0) {
    c.health = c.nodes.empty() ? Health::kUnknown : Health::kUnreachable;
    c.reason = "no node gave a health answer: " + failures;
    return c;
  }
  c.health = best;
  c.reason = best == Health::kRed ? "a primary shard is unassigned, reported by " + of : "reported by " + of;
  if (!failures.empty()) {
    c.reason += "; not answering: " + failures;
  }
  return c;
}

}  // namespace haes
