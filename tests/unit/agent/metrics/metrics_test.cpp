#include "metrics/metrics.hpp"

#include <set>

#include <gtest/gtest.h>

namespace haes {
namespace {

TEST(MetricsText, WritesHelpAndTypeOncePerFamily) {
  MetricsText m;
  m.sample("haes_epoch", {}, 3);
  m.sample("haes_active_cluster", {{"cluster", "dc1"}}, 1);
  m.sample("haes_active_cluster", {{"cluster", "dc2"}}, 0);
  std::string t = m.take();
  EXPECT_EQ(t,
            "# HELP haes_epoch Current epoch: +1 on every role change.\n# TYPE haes_epoch gauge\nhaes_epoch 3\n"
            "# HELP haes_active_cluster 1 for the cluster holding the active role, 0 for the others.\n"
            "# TYPE haes_active_cluster gauge\nhaes_active_cluster{cluster=\"dc1\"} 1\n"
            "haes_active_cluster{cluster=\"dc2\"} 0\n");
}

TEST(MetricsText, EscapesLabelValuesAndFormatsNumbers) {
  MetricsText m;
  m.sample("haes_node_probe_latency_seconds", {{"cluster", "a\"b\\c\nd"}, {"node", "n"}}, 0.0015);
  m.sample("haes_spoe_latency_seconds", {{"le", "+Inf"}}, 7, "_bucket");
  std::string t = m.take();
  EXPECT_NE(t.find("{cluster=\"a\\\"b\\\\c\\nd\",node=\"n\"} 0.0015\n"), std::string::npos);
  EXPECT_NE(t.find("haes_spoe_latency_seconds_bucket{le=\"+Inf\"} 7\n"), std::string::npos);
}

TEST(MetricFamilies, NamesAreUniqueAndPrometheusValid) {
  std::set<std::string_view> seen;
  for (const auto& f : metric_families()) {
    EXPECT_TRUE(seen.insert(f.name).second) << f.name;
    EXPECT_EQ(f.name.rfind("haes_", 0), 0u) << f.name;
    EXPECT_TRUE(f.type == "counter" || f.type == "gauge" || f.type == "histogram") << f.name;
    if (f.type == "counter") {
      EXPECT_EQ(f.name.substr(f.name.size() - 6), "_total") << f.name;
    }
    EXPECT_FALSE(f.help.empty()) << f.name;
  }
}

}  // namespace
}  // namespace haes
