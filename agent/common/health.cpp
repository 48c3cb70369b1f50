#include "common/health.hpp"

namespace haes {

std::string_view to_string(Health h) {
  switch (h) {
    case Health::kUnknown: return "unknown";
    case Health::kGreen: return "green";
    case Health::kYellow: return "yellow";
    case Health::kRed: return "red";
    case Health::kUnreachable: return "unreachable";
  }
  return "invalid";
}

std::string_view to_string(ProbeFailure f) {
  switch (f) {
    case ProbeFailure::kNone: return "none";
    case ProbeFailure::kConnect: return "connect";
    case ProbeFailure::kTimeout: return "timeout";
    case ProbeFailure::kTls: return "tls";
    case ProbeFailure::kAuth: return "auth";
    case ProbeFailure::kHttpError: return "http_error";
    case ProbeFailure::kBadBody: return "bad_body";
    case ProbeFailure::kNoMaster: return "no_master";
  }
  return "invalid";
}

const NodeObservation* ClusterObservation::find_node(std::string_view node) const {
  for (const auto& n : nodes) {
    if (n.name == node) {
      return &n;
    }
  }
  return nullptr;
}

const ClusterObservation* HealthRound::find(std::string_view cluster) const {
  for (const auto& c : clusters) {
    if (c.name == cluster) {
      return &c;
    }
  }
  return nullptr;
}

}  // namespace haes
