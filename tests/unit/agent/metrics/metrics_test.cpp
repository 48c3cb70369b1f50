#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/health.hpp"
#include "metrics/stats.hpp"

namespace haes {
#define TEST_COLOR_LIST(X) X(kRed, "red") X(kGreen, "green") X(kBlue, "blue")
HAES_ENUM(TestColor, uint8_t, "color", TEST_COLOR_LIST)

namespace {

TEST(MetricsText, WritesHelpAndTypeOncePerFamily) {
  MetricsText m;
  m.single("haes_epoch", MetricType::kGauge, "Current epoch.", 3);
  m.family("haes_active_cluster", MetricType::kGauge, "1 for the active cluster.");
  m.sample({{"cluster", "dc1"}}, 1);
  m.sample({{"cluster", "dc2"}}, 0);
  m.family("haes_active_cluster", MetricType::kGauge, "1 for the active cluster.");  // continued, not repeated
  m.sample({{"cluster", "dc3"}}, 0);
  EXPECT_EQ(m.take(),
            "# HELP haes_epoch Current epoch.\n# TYPE haes_epoch gauge\nhaes_epoch 3\n"
            "# HELP haes_active_cluster 1 for the active cluster.\n"
            "# TYPE haes_active_cluster gauge\nhaes_active_cluster{cluster=\"dc1\"} 1\n"
            "haes_active_cluster{cluster=\"dc2\"} 0\nhaes_active_cluster{cluster=\"dc3\"} 0\n");
}

TEST(MetricsText, EscapesLabelValuesAndFormatsNumbers) {
  MetricsText m;
  m.family("haes_node_probe_latency_seconds", MetricType::kGauge, "x");
  m.sample({{"cluster", "a\"b\\c\nd"}, {"node", "n"}}, 0.0015);
  m.family("haes_spoe_latency_seconds", MetricType::kHistogram, "y");
  m.sample({{"le", "+Inf"}}, 7, "_bucket");
  std::string t = m.take();
  EXPECT_NE(t.find("{cluster=\"a\\\"b\\\\c\\nd\",node=\"n\"} 0.0015\n"), std::string::npos);
  EXPECT_NE(t.find("haes_spoe_latency_seconds_bucket{le=\"+Inf\"} 7\n"), std::string::npos);
}

TEST(EnumNames, OneTableGivesNamesParsingAndEveryValue) {
  EXPECT_EQ(to_string(TestColor::kGreen), "green");
  EXPECT_EQ(enum_from_name<TestColor>("blue"), TestColor::kBlue);
  EXPECT_FALSE(enum_from_name<TestColor>("Blue"));
  EXPECT_EQ(enum_count<TestColor>(), 3u);
  EXPECT_EQ(enum_values<TestColor>().back(), TestColor::kBlue);
  EXPECT_EQ(label_of<TestColor>(), "color");
  EXPECT_EQ(name_of(static_cast<TestColor>(9)), "invalid");
  nlohmann::json j = {{"c", TestColor::kRed}};
  EXPECT_EQ(j.dump(), R"({"c":"red"})");  // never a number
}

struct TestStats {
  Counter plain;
  EnumCounter<TestColor> by_color;
  EnumCounter<ProbeFailure> failures;
  PerLabel<EnumCounter<TestColor>> per_node{{{{"node", "n1"}}, {{"node", "n2"}}}};
  Gauge level;
  template <class V>
  void visit(V& v) const {
    v(plain, "t_plain_total", "Plain.");
    v(by_color, "t_color_total", "By color.");
    v(failures, "t_failures_total", "By reason.");
    v(per_node, "t_node_color_total", "Per node and color.");
    v(level, "t_level", "A gauge.");
  }
};

TEST(StatsExporter, EveryFieldAndEveryEnumValueIsExported) {
  TestStats s;
  s.plain.inc(2);
  s.by_color.inc(TestColor::kBlue);
  s.failures.inc(ProbeFailure::kTimeout, 3);
  s.per_node.at(1).inc(TestColor::kRed);
  s.level.set(0.5);
  MetricsText m;
  export_stats(m, s);
  std::string t = m.take();
  EXPECT_NE(t.find("# TYPE t_plain_total counter\nt_plain_total 2\n"), std::string::npos) << t;
  // Zero-valued labels are there too: a series never appears from nowhere.
  EXPECT_NE(
      t.find("t_color_total{color=\"red\"} 0\nt_color_total{color=\"green\"} 0\nt_color_total{color=\"blue\"} 1\n"),
      std::string::npos)
      << t;
  EXPECT_NE(t.find("t_failures_total{reason=\"timeout\"} 3\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("reason=\"none\""), std::string::npos) << "kNone is not a failure: " << t;
  EXPECT_NE(t.find("t_node_color_total{node=\"n2\",color=\"red\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("t_node_color_total{node=\"n1\",color=\"blue\"} 0\n"), std::string::npos) << t;
  EXPECT_NE(t.find("# TYPE t_level gauge\nt_level 0.5\n"), std::string::npos) << t;
  ASSERT_EQ(m.families().size(), 5u);
  EXPECT_EQ(m.families()[3].help, "Per node and color.");
}

}  // namespace
}  // namespace haes
