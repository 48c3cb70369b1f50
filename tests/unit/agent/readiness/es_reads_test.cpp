#include "readiness/es_reads.hpp"

#include <gtest/gtest.h>

namespace haes {
namespace {

TEST(EsReads, CatIndicesReadsOpenAndClosedIndices) {
  auto j = nlohmann::json::parse(R"([
    {"index":"logs-2","status":"close","docs.count":null,"store.size":null,"creation.date":"1700000000000"},
    {"index":"logs-1","status":"open","docs.count":"42","store.size":"1024","creation.date":"1600000000000"},
    {"status":"open"}
  ])");
  auto r = parse_cat_indices(j);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].name, "logs-1");
  EXPECT_TRUE((*r)[0].open);
  EXPECT_EQ((*r)[0].docs, 42);
  EXPECT_EQ((*r)[0].store_bytes, 1024);
  EXPECT_EQ(to_unix_ms(*(*r)[0].created), 1600000000000);
  EXPECT_FALSE((*r)[1].open);
  EXPECT_FALSE((*r)[1].docs);
  EXPECT_FALSE(parse_cat_indices(nlohmann::json::object()));
}

TEST(EsReads, SettingsDefaultsAreEsDefaults) {
  auto j = nlohmann::json::parse(R"({"persistent":{},"transient":{},"defaults":{
    "cluster.max_shards_per_node":"1000",
    "cluster.routing.allocation.disk.watermark.low":"85%",
    "cluster.routing.allocation.disk.watermark.high":"90%",
    "cluster.routing.allocation.disk.watermark.high.max_headroom":"150gb",
    "cluster.routing.allocation.disk.watermark.flood_stage":"95%"}})");
  auto r = parse_allocation_limits(j);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->max_shards_per_node, 1000);
  EXPECT_DOUBLE_EQ(*r->high.used_ratio, 0.90);
  // 10 % of 100 GB free is under the 150 GB headroom; of 10 TB it is capped.
  EXPECT_EQ(r->high.required_free(int64_t{100} << 30), int64_t{10} << 30);
  EXPECT_EQ(r->high.required_free(int64_t{10} << 40), int64_t{150} << 30);
  EXPECT_EQ(r->high.text(), "90%");
}

TEST(EsReads, ExplicitSettingsWinAndAnExplicitRatioHasNoDefaultHeadroom) {
  auto j = nlohmann::json::parse(R"({"persistent":{
      "cluster.routing.allocation.disk.watermark.high":"0.8",
      "cluster.max_shards_per_node":"10"},
    "transient":{"cluster.routing.allocation.disk.watermark.flood_stage":"1gb"},
    "defaults":{"cluster.routing.allocation.disk.watermark.high":"90%",
      "cluster.routing.allocation.disk.watermark.high.max_headroom":"150gb"}})");
  auto r = parse_allocation_limits(j);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->max_shards_per_node, 10);
  EXPECT_DOUBLE_EQ(*r->high.used_ratio, 0.8);
  EXPECT_EQ(r->high.required_free(int64_t{10} << 40), (int64_t{10} << 40) / 5);
  EXPECT_FALSE(r->flood_stage.used_ratio);
  EXPECT_EQ(r->flood_stage.required_free(int64_t{10} << 40), int64_t{1} << 30);
  EXPECT_EQ(r->flood_stage.text(), "1.0 GB free");
}

TEST(EsReads, BadSettingsAreNamed) {
  auto j = nlohmann::json::parse(
      R"({"persistent":{"cluster.routing.allocation.disk.watermark.low":"lots"},"transient":{}})");
  auto r = parse_allocation_limits(j);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("watermark.low: 'lots'"), std::string::npos) << r.error().message;
}

TEST(EsReads, BytesText) {
  EXPECT_EQ(bytes_text(80), "80 B");
  EXPECT_EQ(bytes_text(int64_t{1319413953331}), "1.2 TB");
  EXPECT_EQ(bytes_text(int64_t{350} << 20), "350 MB");
}

}  // namespace
}  // namespace haes
