#include "route/route_handler.hpp"

#include <cstdio>
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
  spoe::append_set_var(out, spoe::Scope::kTxn, "epoch", spoe::Value::int64(static_cast<int64_t>(v.epoch)));
  spoe::append_set_var(out, spoe::Scope::kTxn, "allow", spoe::Value::boolean_value(v.allow));
  return out;
}

void RouteHandler::operator()(const spoe::NotifyView& notify, spoe::AckWriter& ack) const {
  spoe::MessageReader messages = notify.messages();
  spoe::Message m;
  bool answered = false;
  while (messages.next(m) == spoe::Next::kItem) {
    if (m.name != kRouteMessage) {
      counters_.unknown_messages.inc();
      continue;
    }
    counters_.messages.inc();
    if (answered) {
      continue;  // one set of variables per ACK
    }
    answered = true;
    const Verdict& v = current(view_);
    ack.raw_actions(v.spoe_actions);
    std::string_view cluster, node;
    spoe::ArgReader args = m.args();
    spoe::Arg a;
    while (args.next(a) == spoe::Next::kItem) {
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
      counters_.node_queries.inc();
      ack.set_var(spoe::Scope::kTxn, "node_active", spoe::Value::boolean_value(node_active(v, cluster, node)));
    }
  }
}

namespace {

// The visitor spoe::Stats::visit() expects, writing haes_spoe_<name>.
class SpoeExporter {
 public:
  explicit SpoeExporter(MetricsText& out) : out_(out) {}
  void gauge(uint64_t v, std::string_view name, std::string_view help) {
    out_.single(full(name), MetricType::kGauge, help, static_cast<double>(v));
  }
  void counter(uint64_t v, std::string_view name, std::string_view help) {
    out_.single(full(name), MetricType::kCounter, help, static_cast<double>(v));
  }
  void by_status(const std::array<uint64_t, spoe::kStatusSlots>& a, std::string_view name, std::string_view help) {
    out_.family(full(name), MetricType::kCounter, help);
    for (size_t i = 0; i < spoe::kStatusSlots; ++i) {
      std::string code = std::to_string(static_cast<uint32_t>(spoe::slot_status(i)));
      out_.sample({{"status", code}}, static_cast<double>(a[i]));
    }
  }
  void latency(const spoe::Stats& s, std::string_view name, std::string_view help) {
    out_.family(full(name), MetricType::kHistogram, help);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < spoe::kLatencyBoundsNs.size(); ++i) {
      cumulative += s.latency_buckets[i];
      char le[32];
      std::snprintf(le, sizeof le, "%g", static_cast<double>(spoe::kLatencyBoundsNs[i]) / 1e9);
      out_.sample({{"le", le}}, static_cast<double>(cumulative), "_bucket");
    }
    cumulative += s.latency_buckets.back();
    out_.sample({{"le", "+Inf"}}, static_cast<double>(cumulative), "_bucket");
    out_.sample({}, static_cast<double>(s.latency_sum_ns) / 1e9, "_sum");
    out_.sample({}, static_cast<double>(s.latency_count), "_count");
  }

 private:
  static std::string full(std::string_view name) { return "haes_spoe_" + std::string(name); }
  MetricsText& out_;
};

}  // namespace

void export_spoe_stats(MetricsText& out, const spoe::Stats& stats) {
  SpoeExporter e(out);
  stats.visit(e);
}

}  // namespace haes
