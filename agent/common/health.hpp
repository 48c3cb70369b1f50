#pragma once
// What the HealthMonitor observes, as typed values (STYLE.md §3, §4).
// "Unreachable from here" and "the cluster reports red" are different
// observations and are never folded into one another.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.hpp"

namespace haes {

// Order matters only for display; use is_serving()/worse() for decisions.
enum class Health : uint8_t {
  kUnknown,      // not probed yet
  kGreen,
  kYellow,
  kRed,          // answered, and reports at least one primary shard unassigned
  kUnreachable,  // did not give a usable answer (see ProbeFailure)
};
std::string_view to_string(Health h);

// Green and yellow clusters serve every index: they may take traffic.
inline bool is_serving(Health h) { return h == Health::kGreen || h == Health::kYellow; }

// Why a probe gave no usable answer. One metric counter per value.
enum class ProbeFailure : uint8_t {
  kNone,
  kConnect,    // connection refused, no route, DNS
  kTimeout,    // no complete answer within failover.timeout
  kTls,        // handshake or certificate verification failed
  kAuth,       // 401/403 from Elasticsearch
  kHttpError,  // any other non-2xx status (ES error type kept in reason)
  kBadBody,    // 2xx but not the JSON shape we expect
  kNoMaster,   // the node answers but sees no elected master (503 master_not_discovered)
};
std::string_view to_string(ProbeFailure f);

struct NodeObservation {
  std::string name;            // node name as configured (unique within its cluster)
  std::string url;
  Health health = Health::kUnknown;           // what this node says the cluster is
  ProbeFailure failure = ProbeFailure::kNone; // set iff health == kUnreachable
  std::chrono::microseconds latency{0};       // of the health request
  std::string reason;          // one line for status/logs; empty when healthy
};

struct ClusterObservation {
  std::string name;
  Health health = Health::kUnknown;  // the cluster's verdict, by the documented rule
  std::string reason;                // one line: why this verdict
  std::vector<NodeObservation> nodes;
  const NodeObservation* find_node(std::string_view node) const;
};

// One probe round over every node of every cluster.
struct HealthRound {
  uint64_t seq = 0;
  SysTime at{};
  std::vector<ClusterObservation> clusters;

  const ClusterObservation* find(std::string_view cluster) const;
};

}  // namespace haes
