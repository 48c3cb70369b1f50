#include "readiness/readiness.hpp"

#include <gtest/gtest.h>

namespace haes {
namespace {

constexpr int64_t kGB = int64_t{1} << 30;

NodeVitals node(const std::string& name, int64_t total, double used, double heap = 0.3) {
  NodeVitals n;
  n.name = name;
  n.disk_total_bytes = total;
  n.disk_available_bytes = static_cast<int64_t>(static_cast<double>(total) * (1 - used));
  n.disk_used_ratio = used;
  n.heap_used_ratio = heap;
  return n;
}

IndexStat index(const std::string& name, int64_t docs, int64_t bytes, bool open = true) {
  IndexStat s;
  s.name = name;
  s.open = open;
  if (open) {
    s.docs = docs;
    s.store_bytes = bytes;
  }
  s.created = from_unix_ms(1000);
  return s;
}

using Indices = std::vector<IndexStat>;

// The reading's index list is shared and immutable: a test changes a copy.
template <class F>
void edit(ReadinessCluster& c, F f) {
  Indices copy = *c.vitals->indices;
  f(copy);
  c.vitals->indices = std::make_shared<const Indices>(std::move(copy));
}

ReadinessCluster cluster(const std::string& name, std::vector<IndexStat> indices) {
  ReadinessCluster c;
  c.name = name;
  c.health = Health::kGreen;
  c.nodes_configured = 2;
  VitalsReading r;
  r.nodes = {node(name + "-n1", 100 * kGB, 0.3), node(name + "-n2", 100 * kGB, 0.3)};
  r.health.status = "green";
  r.health.number_of_nodes = 2;
  r.health.number_of_data_nodes = 2;
  r.health.active_shards = 10;
  r.indices = std::make_shared<const Indices>(std::move(indices));
  r.limits = AllocationLimits{};
  c.vitals = std::move(r);
  return c;
}

// A healthy pair: dc2 holds dc1's two synced indices, 10 GB each, 30 % of
// its 200 GB used.
ReadinessInputs healthy() {
  ReadinessInputs in;
  in.active = cluster("dc1", {index("logs-1", 1000, 10 * kGB), index("logs-2", 500, 10 * kGB)});
  in.passive = cluster("dc2", {index("logs-1", 1000, 10 * kGB), index("logs-2", 480, 10 * kGB)});
  in.sync_configured = true;
  in.index_patterns = {"*"};
  in.last_sync.snapshot = "haes-1";
  in.last_sync.started_at = from_unix_ms(5000);
  return in;
}

ReadinessVerdict judge(const ReadinessInputs& in) { return judge_readiness(in, from_unix_ms(9000)); }

std::vector<ReadinessProblem> codes(const ReadinessVerdict& v) {
  std::vector<ReadinessProblem> out;
  for (const auto& r : v.reasons) {
    out.push_back(r.code);
  }
  return out;
}

TEST(Readiness, AHealthySyncedPassiveClusterIsReady) {
  auto v = judge(healthy());
  EXPECT_EQ(v.answer, ReadinessAnswer::kYes) << readiness_line(v);
  EXPECT_EQ(readiness_line(v), "yes");
  EXPECT_EQ(v.target, "dc2");
  EXPECT_EQ(v.indices_expected, 2u);
  EXPECT_EQ(*v.active_data_bytes, 20 * kGB);
  EXPECT_EQ(*v.shard_limit, 2000);
}

TEST(Readiness, AMissingOrClosedSyncedIndexSaysNo) {
  auto in = healthy();
  edit(in.passive, [](Indices& l) { l = {index("logs-2", 0, 0, false)}; });
  auto v = judge(in);
  EXPECT_EQ(v.answer, ReadinessAnswer::kNo);
  EXPECT_EQ(codes(v), (std::vector{ReadinessProblem::kIndexMissing, ReadinessProblem::kIndexClosed}));
  EXPECT_EQ(readiness_line(v), "no: dc2 lacks 1 synced index(es): logs-1");
  EXPECT_EQ(v.reasons[1].text, "1 synced index(es) closed on dc2: logs-2");
}

TEST(Readiness, AnIndexCreatedAfterTheLastSyncIsNotExpected) {
  auto in = healthy();
  auto fresh = index("logs-3", 10, kGB);
  fresh.created = from_unix_ms(6000);
  edit(in.active, [&](Indices& l) { l.push_back(fresh); });
  EXPECT_EQ(judge(in).answer, ReadinessAnswer::kYes);
}

TEST(Readiness, ScratchSystemAndExcludedIndicesAreNotSynced) {
  EXPECT_FALSE(synced_index("haes-drill-1", {"*"}, true));
  EXPECT_FALSE(synced_index(".kibana", {"*"}, false));
  EXPECT_TRUE(synced_index(".kibana", {"*"}, true));
  EXPECT_TRUE(synced_index("logs-1", {"logs-*", "-logs-tmp*"}, false));
  EXPECT_FALSE(synced_index("logs-tmp1", {"logs-*", "-logs-tmp*"}, false));
  EXPECT_FALSE(synced_index("metrics", {"logs-*"}, false));
}

TEST(Readiness, DocumentCountsWithinTheToleranceAreClose) {
  auto in = healthy();
  edit(in.passive, [](Indices& l) { l[1].docs = 450; });  // 500 - 10 %: still close
  EXPECT_EQ(judge(in).answer, ReadinessAnswer::kYes);
  edit(in.passive, [](Indices& l) { l[1].docs = 449; });
  auto v = judge(in);
  EXPECT_EQ(codes(v), std::vector{ReadinessProblem::kDocsBehind});
  EXPECT_EQ(v.reasons[0].text,
            "1 synced index(es) on dc2 more than 10% behind dc1's document count: logs-2 (449 of 500)");
}

TEST(Readiness, NeverSyncedSaysNo) {
  auto in = healthy();
  in.last_sync = {};
  EXPECT_EQ(codes(judge(in)), std::vector{ReadinessProblem::kNeverSynced});
  in.sync_configured = false;  // another way of copying: no index check
  EXPECT_EQ(judge(in).answer, ReadinessAnswer::kYes);
}

TEST(Readiness, ANodeOverTheHighWatermarkSaysNo) {
  auto in = healthy();
  in.passive.vitals->nodes[1] = node("dc2-n2", 100 * kGB, 0.92);
  auto v = judge(in);
  EXPECT_EQ(codes(v), std::vector{ReadinessProblem::kDiskWatermark});
  EXPECT_EQ(v.reasons[0].text, "dc2 disk over the high watermark (90%), no shard allocated there: dc2-n2 92%");
  in.passive.vitals->nodes[1] = node("dc2-n2", 100 * kGB, 0.96);
  EXPECT_NE(judge(in).reasons[0].text.find("flood-stage watermark (95%), its indices read-only: dc2-n2 96%"),
            std::string::npos);
}

TEST(Readiness, TheActiveDataPlusTheMarginMustFitUnderTheHighWatermark) {
  auto in = healthy();
  // dc1 grew to 120 GB of synced data; dc2 holds 20 GB of it: 100 GB more
  // plus 12 GB of margin on 200 GB of which 60 used → 172/200 = 86 %: fits.
  edit(in.active, [](Indices& l) { l[0].store_bytes = 110 * kGB; });
  auto v = judge(in);
  EXPECT_EQ(v.answer, ReadinessAnswer::kYes) << readiness_line(v);
  EXPECT_NEAR(*v.disk_projected_ratio, 0.86, 0.001);
  // 130 GB: 60 + 110 + 13 = 183 → 91.5 %, over 90 %.
  edit(in.active, [](Indices& l) { l[0].store_bytes = 120 * kGB; });
  v = judge(in);
  EXPECT_EQ(codes(v), std::vector{ReadinessProblem::kDiskHeadroom});
  EXPECT_EQ(v.reasons[0].text,
            "dc2 disk would reach 91.5% with dc1's 130 GB (+10% margin), over the high watermark (90%)");
  // With the disk threshold off, Elasticsearch enforces no watermark.
  in.passive.vitals->limits->disk_threshold_enabled = false;
  EXPECT_EQ(judge(in).answer, ReadinessAnswer::kYes);
}

TEST(Readiness, AMissingNodeSaysNo) {
  auto in = healthy();
  in.passive.nodes_configured = 3;
  auto v = judge(in);
  EXPECT_EQ(codes(v), std::vector{ReadinessProblem::kNodesMissing});
  EXPECT_EQ(v.reasons[0].text, "dc2 has 2 of its 3 configured nodes");
}

TEST(Readiness, TheShardLimitMustHoldTheActiveClustersShards) {
  auto in = healthy();
  in.passive.vitals->limits->max_shards_per_node = 10;
  in.active.vitals->health.active_shards = 25;
  auto v = judge(in);
  EXPECT_EQ(codes(v), std::vector{ReadinessProblem::kShardCapacity});
  EXPECT_EQ(v.reasons[0].text, "dc2 can hold 20 shards (cluster.max_shards_per_node 10 x 2 data nodes), 25 needed");
}

TEST(Readiness, ATightHeapSaysNo) {
  auto in = healthy();
  in.passive.vitals->nodes[0].heap_used_ratio = 0.9;
  EXPECT_EQ(codes(judge(in)), std::vector{ReadinessProblem::kHeap});
  in.passive.vitals->nodes[0].heap_used_ratio = 0.85;  // over is strictly greater
  EXPECT_EQ(judge(in).answer, ReadinessAnswer::kYes);
}

TEST(Readiness, UnhealthyOrUnreadIsNoOrUnknown) {
  auto in = healthy();
  in.passive.health = Health::kRed;
  EXPECT_EQ(readiness_line(judge(in)), "no: dc2 is red");
  in = healthy();
  in.passive.vitals.reset();
  auto v = judge(in);
  EXPECT_EQ(v.answer, ReadinessAnswer::kUnknown);
  EXPECT_EQ(codes(v), std::vector{ReadinessProblem::kNotRead});
  in = healthy();
  in.active.vitals->indices.reset();
  in.active.vitals->readiness_error = "GET /_cat/indices: timeout";
  EXPECT_EQ(readiness_line(judge(in)),
            "unknown: the indices or settings of dc1 could not be read: GET /_cat/indices: timeout");
  in = healthy();
  in.active.name.clear();
  EXPECT_EQ(codes(judge(in)), std::vector{ReadinessProblem::kNoPassive});
}

TEST(Readiness, OnlyAnswerAndCodesCountAsAChange) {
  auto in = healthy();
  in.passive.vitals->nodes[1] = node("dc2-n2", 100 * kGB, 0.92);
  auto a = judge(in);
  in.passive.vitals->nodes[1] = node("dc2-n2", 100 * kGB, 0.93);
  auto b = judge(in);
  EXPECT_FALSE(readiness_changed(a, b));
  EXPECT_TRUE(readiness_changed(a, judge(healthy())));
}

TEST(Readiness, AFailoverToAClusterNotReadySaysSoInItsJournalEntry) {
  auto in = healthy();
  in.passive.nodes_configured = 3;
  auto v = judge(in);
  Change c;
  c.next = State{};
  c.next->active = "dc2";
  c.transition = Transition::kFailover;
  c.events.push_back(Event{0, {}, 2, EventKind::kFailover, "controller", "dc1 red for 3 rounds"});
  note_readiness(c, v);
  EXPECT_EQ(c.events[0].message, "dc1 red for 3 rounds; dc2 was not ready: dc2 has 2 of its 3 configured nodes");
  Change untouched = c;
  note_readiness(untouched, judge(healthy()));
  EXPECT_EQ(untouched.events[0].message, c.events[0].message);
}

}  // namespace
}  // namespace haes

namespace haes {
namespace {

TEST(Readiness, ChangesAreJournaledButNotTheFirstYes) {
  ReadinessInputs in = healthy();
  auto yes = judge_readiness(in, from_unix_ms(9000));
  EXPECT_FALSE(readiness_event(nullptr, yes, 3));
  edit(in.passive, [](Indices& l) { l.pop_back(); });
  auto no = judge_readiness(in, from_unix_ms(9000));
  auto e = readiness_event(&yes, no, 3);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, EventKind::kReadiness);
  EXPECT_EQ(e->epoch, 3u);
  EXPECT_EQ(e->message, "dc2 ready to take over: no: dc2 lacks 1 synced index(es): logs-2");
  EXPECT_FALSE(readiness_event(&no, no, 3));
  EXPECT_TRUE(readiness_event(&no, yes, 3));
  EXPECT_TRUE(readiness_event(nullptr, no, 3));
}

}  // namespace
}  // namespace haes

namespace haes {
namespace {

TEST(Readiness, APlannedMoveWithAFinalSyncIsRefusedOnlyForWhatTheSyncCannotMend) {
  ReadinessInputs in = healthy();
  edit(in.passive, [](Indices& l) { l.front().open = false; });  // index_closed: the final restore reopens it
  in.passive.vitals->nodes[0].heap_used_ratio = 0.95;            // heap: no restore helps
  auto v = judge_readiness(in, from_unix_ms(9000));
  auto refusing = refusing_planned_move(v, true);
  ASSERT_EQ(refusing.size(), 1u);
  EXPECT_EQ(refusing[0].code, ReadinessProblem::kHeap);
  EXPECT_EQ(refusing_planned_move(v, false).size(), 2u);  // no sync: nothing is mended
  EXPECT_TRUE(refusing_planned_move(judge_readiness(healthy(), from_unix_ms(9000)), true).empty());
  in = healthy();
  in.last_sync = {};
  EXPECT_TRUE(refusing_planned_move(judge_readiness(in, from_unix_ms(9000)), true).empty());
}

}  // namespace
}  // namespace haes
