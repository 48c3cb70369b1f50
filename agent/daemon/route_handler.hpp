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

#include "spoe/server.hpp"
#include "verdict/verdict.hpp"

namespace haes {

inline constexpr std::string_view kRouteMessage = "haes-route";

// The request-independent actions of a verdict: set-var txn.cluster (or
// unset-var when no cluster may take traffic), txn.epoch, txn.allow.
std::vector<uint8_t> encode_route_actions(const Verdict& v);

struct RouteCounters {
  std::atomic<uint64_t> messages{0};          // haes-route messages answered
  std::atomic<uint64_t> unknown_messages{0};  // other message names (ignored)
  std::atomic<uint64_t> node_queries{0};      // messages carrying cluster/node args
};

class RouteHandler {
 public:
  RouteHandler(const VerdictView& view, RouteCounters& counters) : view_(view), counters_(counters) {}
  void operator()(const spoe::NotifyView& notify, spoe::AckWriter& ack) const;

 private:
  const VerdictView& view_;
  RouteCounters& counters_;
};

}  // namespace haes
