#pragma once
// What the HealthMonitor observes, as typed values (STYLE.md §3, §4).
// "Unreachable from here" and "the cluster reports red" are different
// observations and are never folded into one another.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/enum_names.hpp"
#include "common/time.hpp"

namespace haes {

// Order matters only for display; use is_serving()/worse() for decisions.
//   unknown      not probed yet
//   red          answered, and reports at least one primary shard unassigned
//   unreachable  did not give a usable answer (see ProbeFailure)
// clang-format off
#define HAES_HEALTH_LIST(X)      \
  X(kUnknown, "unknown")         \
  X(kGreen, "green")             \
  X(kYellow, "yellow")           \
  X(kRed, "red")                 \
  X(kUnreachable, "unreachable")
// clang-format on
HAES_ENUM(Health, uint8_t, "state", HAES_HEALTH_LIST)

// Green and yellow clusters serve every index: they may take traffic.
inline bool is_serving(Health h) { return h == Health::kGreen || h == Health::kYellow; }

// Why a probe gave no usable answer. One metric counter per value.
//   connect     connection refused, no route, DNS
//   timeout     no complete answer within failover.timeout
//   tls         handshake or certificate verification failed
//   auth        401/403 from Elasticsearch
//   http_error  any other non-2xx status (ES error type kept in reason)
//   bad_body    2xx but not the JSON shape we expect
//   no_master   the node answers but sees no elected master (503 master_not_discovered)
// clang-format off
#define HAES_PROBE_FAILURE_LIST(X)\
  X(kNone, "none")            \
  X(kConnect, "connect")      \
  X(kTimeout, "timeout")      \
  X(kTls, "tls")              \
  X(kAuth, "auth")            \
  X(kHttpError, "http_error") \
  X(kBadBody, "bad_body")     \
  X(kNoMaster, "no_master")
// clang-format on
HAES_ENUM(ProbeFailure, uint8_t, "reason", HAES_PROBE_FAILURE_LIST)
constexpr bool exported(ProbeFailure f) { return f != ProbeFailure::kNone; }  // metric labels

struct NodeObservation {
  std::string name;  // node name as configured (unique within its cluster)
  std::string url;
  Health health = Health::kUnknown;            // what this node says the cluster is
  ProbeFailure failure = ProbeFailure::kNone;  // set iff health == kUnreachable
  std::chrono::microseconds latency{0};        // of the health request
  std::string reason;                          // one line for status/logs; empty when healthy
  std::string version;                         // Elasticsearch version from GET /; "" until it answered
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
