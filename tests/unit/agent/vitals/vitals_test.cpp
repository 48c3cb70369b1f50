// Cluster vitals, the pure half: ES answers (shapes of ES 8's _nodes/stats,
// _cluster/health and _cluster/state/blocks) parsed, and the judgement.
#include "vitals/vitals.hpp"

#include <gtest/gtest.h>

namespace haes {
namespace {

constexpr int64_t kGiB = 1024LL * 1024 * 1024;

nlohmann::json node_stats(const std::string& name, int64_t disk_total, int64_t disk_available, int64_t heap_used,
                          int64_t heap_max) {
  return {
      {"name", name},
      {"fs",
       {{"timestamp", 1},
        {"total",
         {{"total_in_bytes", disk_total}, {"free_in_bytes", disk_available}, {"available_in_bytes", disk_available}}},
        {"data", nlohmann::json::array()}}},
      {"jvm",
       {{"mem",
         {{"heap_used_in_bytes", heap_used},
          {"heap_used_percent", heap_max ? heap_used * 100 / heap_max : 0},
          {"heap_max_in_bytes", heap_max}}}}}};
}

nlohmann::json stats_of(std::initializer_list<std::pair<std::string, nlohmann::json>> nodes) {
  nlohmann::json out = {{"_nodes", {{"total", nodes.size()}, {"successful", nodes.size()}, {"failed", 0}}},
                        {"cluster_name", "dc1"},
                        {"nodes", nlohmann::json::object()}};
  for (const auto& [id, n] : nodes) {
    out["nodes"][id] = n;
  }
  return out;
}

nlohmann::json health_of(const std::string& status, int nodes, int unassigned, std::optional<int> primaries = 0) {
  nlohmann::json h = {{"cluster_name", "dc1"},
                      {"status", status},
                      {"timed_out", false},
                      {"number_of_nodes", nodes},
                      {"number_of_data_nodes", nodes},
                      {"active_primary_shards", 4},
                      {"active_shards", 8},
                      {"relocating_shards", 0},
                      {"initializing_shards", 1},
                      {"unassigned_shards", unassigned},
                      {"delayed_unassigned_shards", 0},
                      {"number_of_pending_tasks", 2},
                      {"number_of_in_flight_fetch", 0},
                      {"task_max_waiting_in_queue_millis", 0},
                      {"active_shards_percent_as_number", 88.5}};
  if (primaries) {
    h["unassigned_primary_shards"] = *primaries;
  }
  return h;
}

VitalsReading reading(std::vector<NodeVitals> nodes, int present, int unassigned = 0,
                      std::vector<std::string> read_only = {}) {
  VitalsReading r;
  r.nodes = std::move(nodes);
  r.health.status = "green";
  r.health.number_of_nodes = present;
  r.health.unassigned_shards = unassigned;
  r.health.unassigned_primary_shards = 0;
  r.read_only_indices = std::move(read_only);
  return r;
}

NodeVitals node(const std::string& name, double disk, double heap) {
  NodeVitals n;
  n.name = name;
  n.disk_used_ratio = disk;
  n.heap_used_ratio = heap;
  return n;
}

TEST(ParseNodesStats, DiskFromFsTotalAndHeapFromBytesSortedByName) {
  auto body = stats_of({{"id-b", node_stats("dc1-n2", 100 * kGiB, 9 * kGiB, int64_t{512} * 1024 * 1024, kGiB)},
                        {"id-a", node_stats("dc1-n1", 100 * kGiB, 70 * kGiB, int64_t{300} * 1024 * 1024, kGiB)}});
  auto nodes = parse_nodes_stats(body);
  ASSERT_TRUE(nodes.ok()) << nodes.error().message;
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].name, "dc1-n1");
  EXPECT_EQ((*nodes)[1].name, "dc1-n2");
  ASSERT_TRUE((*nodes)[1].disk_used_ratio);
  EXPECT_NEAR(*(*nodes)[1].disk_used_ratio, 0.91, 1e-9);
  EXPECT_EQ((*nodes)[1].disk_total_bytes, 100 * kGiB);
  EXPECT_EQ((*nodes)[1].disk_available_bytes, 9 * kGiB);
  ASSERT_TRUE((*nodes)[1].heap_used_ratio);
  EXPECT_NEAR(*(*nodes)[1].heap_used_ratio, 0.5, 1e-9);
  EXPECT_NEAR(*(*nodes)[0].disk_used_ratio, 0.30, 1e-9);
}

TEST(ParseNodesStats, WrongTypesAndMissingFieldsAreAbsentNotACrash) {
  nlohmann::json body = {
      {"nodes",
       {{"x", {{"name", 7}, {"fs", {{"total", {{"total_in_bytes", "lots"}}}}}, {"jvm", "hot"}}},
        {"y", {{"name", "only-percent"}, {"jvm", {{"mem", {{"heap_used_percent", 42}}}}}}},
        {"z", {{"name", "zero-disk"}, {"fs", {{"total", {{"total_in_bytes", 0}, {"available_in_bytes", 0}}}}}}},
        {"w", "not an object"}}}};
  auto nodes = parse_nodes_stats(body);
  ASSERT_TRUE(nodes.ok()) << nodes.error().message;
  ASSERT_EQ(nodes->size(), 3u);
  EXPECT_EQ((*nodes)[0].name, "only-percent");
  EXPECT_FALSE((*nodes)[0].disk_used_ratio);
  ASSERT_TRUE((*nodes)[0].heap_used_ratio);
  EXPECT_NEAR(*(*nodes)[0].heap_used_ratio, 0.42, 1e-9);
  EXPECT_EQ((*nodes)[1].name, "x");  // a name that is not a string: the node id
  EXPECT_FALSE((*nodes)[1].disk_used_ratio);
  EXPECT_FALSE((*nodes)[1].heap_used_ratio);
  EXPECT_FALSE((*nodes)[2].disk_used_ratio) << "a zero total is no ratio, not a division by zero";
}

TEST(ParseNodesStats, FreeBytesWhenAvailableIsMissing) {
  nlohmann::json body = {
      {"nodes", {{"a", {{"name", "n"}, {"fs", {{"total", {{"total_in_bytes", 200}, {"free_in_bytes", 50}}}}}}}}}};
  auto nodes = parse_nodes_stats(body);
  ASSERT_TRUE(nodes.ok());
  EXPECT_NEAR(*(*nodes)[0].disk_used_ratio, 0.75, 1e-9);
}

TEST(ParseNodesStats, NoNodesObjectIsAnErrorNamingTheAnswer) {
  auto r = parse_nodes_stats(nlohmann::json{{"error", "x"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("_nodes/stats"), std::string::npos) << r.error().message;
  EXPECT_FALSE(parse_nodes_stats(nlohmann::json()).ok());
}

TEST(ParseHealthDetails, EveryFieldOfEs8) {
  auto h = parse_health_details(health_of("yellow", 3, 2, 0));
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->status, "yellow");
  EXPECT_EQ(h->number_of_nodes, 3);
  EXPECT_EQ(h->number_of_data_nodes, 3);
  EXPECT_EQ(h->active_shards, 8);
  EXPECT_EQ(h->initializing_shards, 1);
  EXPECT_EQ(h->unassigned_shards, 2);
  ASSERT_TRUE(h->unassigned_primary_shards);
  EXPECT_EQ(*h->unassigned_primary_shards, 0);
  EXPECT_EQ(h->number_of_pending_tasks, 2);
  EXPECT_DOUBLE_EQ(h->active_shards_percent, 88.5);
}

TEST(ParseHealthDetails, Es7HasNoUnassignedPrimariesAndNoStatusIsAnError) {
  auto h = parse_health_details(health_of("green", 2, 0, std::nullopt));
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->unassigned_primary_shards);
  auto bad = parse_health_details(nlohmann::json{{"number_of_nodes", 3}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("status"), std::string::npos);
}

TEST(ParseFloodStageBlocks, OnlyIndicesCarryingBlock12) {
  nlohmann::json body = {{"cluster_name", "dc1"},
                         {"cluster_uuid", "u"},
                         {"blocks",
                          {{"indices",
                            {{"logs-2",
                              {{"12",
                                {{"description",
                                  "disk usage exceeded flood-stage watermark, index has "
                                  "read-only-allow-delete block"},
                                 {"retryable", true},
                                 {"levels", {"write", "metadata_write"}}}}}},
                             {"closed-one", {{"4", {{"description", "index closed"}}}}},
                             {"write-blocked", {{"8", {{"description", "index write (api)"}}}}},
                             {"logs-1", {{"8", nlohmann::json::object()}, {"12", nlohmann::json::object()}}}}}}}};
  auto r = parse_flood_stage_blocks(body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<std::string>{"logs-1", "logs-2"}));
}

TEST(ParseFloodStageBlocks, NoBlocksIsEmptyAndANonStateIsAnError) {
  auto r = parse_flood_stage_blocks(nlohmann::json{{"cluster_name", "dc1"}, {"blocks", nlohmann::json::object()}});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  EXPECT_FALSE(parse_flood_stage_blocks(nlohmann::json("oops")).ok());
}

TEST(JudgeVitals, AllWellIsOkWithTheFullestNodes) {
  auto j = judge_vitals(reading({node("a", 0.30, 0.60), node("b", 0.55, 0.20)}, 2), 2, {});
  EXPECT_EQ(j.level, VitalsLevel::kOk);
  EXPECT_TRUE(j.concerns.empty());
  EXPECT_EQ(j.disk_max_node, "b");
  EXPECT_DOUBLE_EQ(*j.disk_max_ratio, 0.55);
  EXPECT_EQ(j.heap_max_node, "a");
  EXPECT_DOUBLE_EQ(*j.heap_max_ratio, 0.60);
}

TEST(JudgeVitals, DiskThresholdsAreStrictlyOver) {
  VitalsThresholds t;  // 80 / 90 / 85
  EXPECT_EQ(judge_vitals(reading({node("a", 0.80, 0.1)}, 1), 1, t).level, VitalsLevel::kOk);
  auto w = judge_vitals(reading({node("a", 0.805, 0.1)}, 1), 1, t);
  EXPECT_EQ(w.level, VitalsLevel::kWarning);
  ASSERT_EQ(w.concerns.size(), 1u);
  EXPECT_EQ(w.concerns[0].text, "disk 80.5% used on a, over 80%");
  EXPECT_EQ(judge_vitals(reading({node("a", 0.90, 0.1)}, 1), 1, t).level, VitalsLevel::kWarning);
  auto c = judge_vitals(reading({node("a", 0.91, 0.1), node("b", 0.85, 0.1)}, 2), 2, t);
  EXPECT_EQ(c.level, VitalsLevel::kCritical);
  ASSERT_EQ(c.concerns.size(), 2u);
  EXPECT_EQ(c.concerns[0].level, VitalsLevel::kCritical);
  EXPECT_EQ(c.concerns[0].text, "disk 91% used on a, over 90%");
  EXPECT_EQ(c.concerns[1].level, VitalsLevel::kWarning);
}

TEST(JudgeVitals, ThresholdsComeFromTheCaller) {
  VitalsThresholds t;
  t.disk_warning_percent = 50;
  t.disk_critical_percent = 60;
  t.heap_warning_percent = 10;
  auto j = judge_vitals(reading({node("a", 0.61, 0.2)}, 1), 1, t);
  EXPECT_EQ(j.level, VitalsLevel::kCritical);
  ASSERT_EQ(j.concerns.size(), 2u);
  EXPECT_EQ(j.concerns[1].text, "heap 20% used on a, over 10%");
}

TEST(JudgeVitals, HeapOverIsAWarning) {
  auto j = judge_vitals(reading({node("a", 0.1, 0.86)}, 1), 1, {});
  EXPECT_EQ(j.level, VitalsLevel::kWarning);
  ASSERT_EQ(j.concerns.size(), 1u);
  EXPECT_EQ(j.concerns[0].text, "heap 86% used on a, over 85%");
}

TEST(JudgeVitals, TheFloodStageBlockIsCritical) {
  auto j = judge_vitals(reading({node("a", 0.5, 0.1)}, 1, 0, {"i1", "i2", "i3", "i4", "i5", "i6", "i7"}), 1, {});
  EXPECT_EQ(j.level, VitalsLevel::kCritical);
  ASSERT_EQ(j.concerns.size(), 1u);
  EXPECT_EQ(j.concerns[0].text,
            "7 index(es) read-only by the flood-stage disk watermark, writes refused: i1, i2, i3, i4, i5, … (2 more)");
}

TEST(JudgeVitals, MissingNodesAndUnassignedShards) {
  auto j = judge_vitals(reading({node("a", 0.1, 0.1), node("b", 0.1, 0.1)}, 2, 3), 3, {});
  EXPECT_EQ(j.level, VitalsLevel::kWarning);
  ASSERT_EQ(j.concerns.size(), 2u);
  EXPECT_EQ(j.concerns[0].text, "3 shard(s) unassigned");
  EXPECT_EQ(j.concerns[1].text, "2 node(s) in the cluster, 3 configured in haes");
  // More nodes than haes knows of (dedicated masters) is fine.
  EXPECT_EQ(judge_vitals(reading({node("a", 0.1, 0.1)}, 5), 3, {}).level, VitalsLevel::kOk);
  // An unassigned primary is critical.
  auto r = reading({node("a", 0.1, 0.1)}, 1, 2);
  r.health.unassigned_primary_shards = 1;
  auto p = judge_vitals(r, 1, {});
  EXPECT_EQ(p.level, VitalsLevel::kCritical);
  EXPECT_EQ(p.concerns[0].text, "2 shard(s) unassigned, 1 of them primary");
}

TEST(JudgeVitals, NodesWithoutNumbersDoNotCount) {
  NodeVitals blank;
  blank.name = "blank";
  auto j = judge_vitals(reading({blank, node("b", 0.4, 0.3)}, 2), 2, {});
  EXPECT_EQ(j.disk_max_node, "b");
  EXPECT_EQ(j.heap_max_node, "b");
  auto none = judge_vitals(reading({blank}, 1), 1, {});
  EXPECT_FALSE(none.disk_max_ratio);
  EXPECT_FALSE(none.heap_max_ratio);
  EXPECT_EQ(none.level, VitalsLevel::kOk);
}

TEST(PercentText, OneDecimalWithoutATrailingZero) {
  EXPECT_EQ(percent_text(0.3), "30%");
  EXPECT_EQ(percent_text(0.915), "91.5%");
  EXPECT_EQ(percent_text(0.91049), "91%");
  EXPECT_EQ(percent_text(1.0), "100%");
}

}  // namespace
}  // namespace haes
