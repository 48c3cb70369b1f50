#pragma once
// The pure half of the HealthMonitor: Elasticsearch answers in, typed
// observations out (docs/health.md states these rules for operators).
#include <optional>
#include <string>
#include <vector>

#include "common/health.hpp"
#include "common/result.hpp"
#include "es/client.hpp"

namespace haes {

// A node's observation from its answer to GET /_cluster/health (or the
// transport error instead of an answer):
//  - 200 with "status": green|yellow|red → that health;
//  - 503 master_not_discovered_exception → unreachable (no_master): the node
//    is up but cannot see an elected master, so its word on health is void;
//  - 401/403 → unreachable (auth); any other status → unreachable (http_error);
//  - 2xx whose body is not a health object → unreachable (bad_body);
//  - no answer → unreachable (connect, timeout, tls, bad_body).
// `name`, `url` and latency are filled by the caller.
NodeObservation judge_node(const Result<es::Response>& health_answer);

// The transport error of a failed request as a ProbeFailure.
ProbeFailure failure_of(const Error& transport_error);

// A cluster's verdict from its nodes' observations. The rule for nodes that
// disagree: the cluster's health is the BEST health reported by a node that
// gave a valid health answer (green > yellow > red); nodes that gave none do
// not vote. Only when no node gave a valid answer is the cluster unreachable.
// Why the best: every node that sees the elected master reports the same
// cluster state, so disagreement means some nodes are cut off from the
// master (they report no_master, or nothing); the nodes that do see it are
// right, and trusting the worst answer would turn one partitioned node into
// a false failover. The reason line says how many nodes voted and names
// the failures.
ClusterObservation judge_cluster(std::string name, std::vector<NodeObservation> nodes);

}  // namespace haes
