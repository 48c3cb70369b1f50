#pragma once
// The SPOE side of the verdict: message `haes-route` (README "The SPOE
// contract"). Runs on the SPOP threads for every request: it reads the
// current verdict through a thread-local VerdictView::Reader and copies the
// verdict's pre-encoded actions, so the common case is one atomic load and
// one memcpy; `node_active` is added only when the message names a cluster
// or node.

#include <atomic>
#include <cstdint>
#include <vector>

#include "metrics/stats.hpp"
#include "spoe/server.hpp"
#include "verdict/verdict.hpp"

namespace haes {

inline constexpr std::string_view kRouteMessage = "haes-route";

// The request-independent actions of a verdict: set-var txn.cluster (or
// unset-var when no cluster may take traffic), txn.epoch, txn.allow.
std::vector<uint8_t> encode_route_actions(const Verdict& v);

struct RouteStats {
  Counter messages;          // haes-route messages answered
  Counter unknown_messages;  // other message names (ignored)
  Counter node_queries;      // messages carrying cluster/node args

  template <class V>
  void visit(V& v) const {
    v(messages, "haes_route_messages_total", "haes-route SPOE messages answered.");
    v(unknown_messages, "haes_route_unknown_messages_total", "SPOE messages with another name (ignored).");
    v(node_queries, "haes_route_node_queries_total", "haes-route messages that named a cluster or node.");
  }
};
using RouteCounters = RouteStats;

// Renders spoe::Server's counters (every field of spoe::Stats) as haes_spoe_*.
void export_spoe_stats(MetricsText& out, const spoe::Stats& stats);

class RouteHandler {
 public:
  RouteHandler(const VerdictView& view, RouteCounters& counters) : view_(view), counters_(counters) {}
  void operator()(const spoe::NotifyView& notify, spoe::AckWriter& ack) const;

 private:
  const VerdictView& view_;
  RouteCounters& counters_;
};

}  // namespace haes
