#include "daemon/route_handler.hpp"

#include <optional>

namespace haes {
namespace {

// The verdict pointer this thread last saw, refreshed when the generation
// moves (see VerdictView::Reader). One per thread and view.
const Verdict& current(const VerdictView& view) {
  thread_local const VerdictView* owner = nullptr;
  thread_local std::optional<VerdictView::Reader> reader;
  if (owner != &view) {
    owner = &view;
    reader.emplace(view);
  }
  return reader->get();
}

bool node_active(const Verdict& v, std::string_view cluster, std::string_view node) {
  if (!cluster.empty() && !node.empty()) {
    const NodeVerdict* n = v.find_node(cluster, node);
    return n != nullptr && n->may_take_traffic;
  }
  if (!cluster.empty()) {
    const ClusterVerdict* c = v.find_cluster(cluster);
    return c != nullptr && c->may_take_traffic;
  }
  // A node without a cluster: is it a node of the cluster taking traffic?
  const NodeVerdict* n = v.cluster.empty() ? nullptr : v.find_node(v.cluster, node);
  return n != nullptr && n->may_take_traffic;
}

}  // namespace

std::vector<uint8_t> encode_route_actions(const Verdict& v) {
  spoe::Bytes out;
  if (v.allow) {
    spoe::append_set_var(out, spoe::Scope::kTxn, "cluster", spoe::Value::string(v.cluster));
  } else {
    spoe::append_unset_var(out, spoe::Scope::kTxn, "cluster");
  }
  spoe::append_set_var(out, spoe::Scope::kTxn, "epoch",
                       spoe::Value::int64(static_cast<int64_t>(v.epoch)));
  spoe::append_set_var(out, spoe::Scope::kTxn, "allow", spoe::Value::boolean_value(v.allow));
  return out;
}

void RouteHandler::operator()(const spoe::NotifyView& notify, spoe::AckWriter& ack) const {
  spoe::MessageReader messages = notify.messages();
  spoe::Message m;
  bool answered = false;
  while (messages.next(m)) {
    if (m.name != kRouteMessage) {
      counters_.unknown_messages.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    counters_.messages.fetch_add(1, std::memory_order_relaxed);
    if (answered) {
      continue;  // one set of variables per ACK
    }
    answered = true;
    const Verdict& v = current(view_);
    ack.raw_actions(v.spoe_actions);
    std::string_view cluster, node;
    spoe::ArgReader args = m.args();
    spoe::Arg a;
    while (args.next(a)) {
      if (a.value.type != spoe::DataType::kString) {
        continue;  // a missing sample arrives as NULL: treated as absent
      }
      if (a.name == "cluster") {
        cluster = a.value.bytes;
      } else if (a.name == "node") {
        node = a.value.bytes;
      }
    }
    if (!cluster.empty() || !node.empty()) {
      counters_.node_queries.fetch_add(1, std::memory_order_relaxed);
      ack.set_var(spoe::Scope::kTxn, "node_active",
                  spoe::Value::boolean_value(node_active(v, cluster, node)));
    }
  }
}

}  // namespace haes
