// How the sync reads Elasticsearch's snapshot, restore, listing and count
// answers; the snapshot watch runs on simulated time.
#include "sync/answers.hpp"

#include <gtest/gtest.h>

namespace haes::sync {
namespace {

using namespace std::chrono_literals;

Answer http(int status, nlohmann::json body, std::string es_type = "") {
  Answer a;
  a.status = status;
  a.body = std::move(body);
  a.es_type = es_type;
  a.summary = "HTTP " + std::to_string(status) + (es_type.empty() ? "" : " " + es_type);
  return a;
}

Answer no_answer(ErrorCode code = ErrorCode::kConnect) {
  Answer a;
  a.transport = Error{code, "127.0.0.1:9200: connection refused"};
  return a;
}

Answer snapshot_in(const std::string& state, nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json info = {{"snapshot", "s1"}, {"state", state}, {"indices", {"orders"}}};
  info.update(extra);
  return http(200, {{"snapshots", {info}}});
}

const SteadyTime t0{};

SnapshotWatch watch() { return SnapshotWatch{"s1", "dc1", t0 + 30s, 30s, 0}; }

TEST(SnapshotWatch, RunsUntilSuccessThenHandsTheInfoOver) {
  auto w = watch();
  EXPECT_EQ(judge_snapshot_poll(snapshot_in("IN_PROGRESS"), w, t0 + 1s).verdict, WatchVerdict::kRunning);
  EXPECT_EQ(judge_snapshot_poll(snapshot_in("STARTED"), w, t0 + 2s).verdict, WatchVerdict::kRunning);
  auto done = judge_snapshot_poll(snapshot_in("SUCCESS"), w, t0 + 3s);
  ASSERT_EQ(done.verdict, WatchVerdict::kSucceeded);
  EXPECT_EQ(string_list(at(done.info, "indices")), (std::vector<std::string>{"orders"}));
}

TEST(SnapshotWatch, PartialAndFailedAreNeverRestored) {
  auto w = watch();
  auto partial = judge_snapshot_poll(snapshot_in("PARTIAL", {{"failures", {{{"index", "orders"}}}}}), w, t0 + 1s);
  ASSERT_EQ(partial.verdict, WatchVerdict::kFailed);
  EXPECT_EQ(partial.error.code, ErrorCode::kSnapshotPartial);
  EXPECT_NE(partial.error.message.find("snapshot s1 of dc1 ended PARTIAL (failures: "), std::string::npos);
  EXPECT_NE(partial.error.message.find("never restored"), std::string::npos);
  auto failed = judge_snapshot_poll(snapshot_in("FAILED", {{"failures", nlohmann::json::array()}}), w, t0 + 1s);
  ASSERT_EQ(failed.verdict, WatchVerdict::kFailed);
  EXPECT_EQ(failed.error.code, ErrorCode::kSnapshotFailed);
  EXPECT_EQ(failed.error.message, "snapshot s1 of dc1 ended FAILED: never restored");
  // Any other final state (ES may add some) is not a success either.
  EXPECT_EQ(judge_snapshot_poll(snapshot_in("INCOMPATIBLE"), w, t0).error.code, ErrorCode::kSnapshotFailed);
}

TEST(SnapshotWatch, StillRunningAtTheDeadlineIsATimeout) {
  auto w = watch();
  EXPECT_EQ(judge_snapshot_poll(snapshot_in("IN_PROGRESS"), w, t0 + 29'999ms).verdict, WatchVerdict::kRunning);
  auto late = judge_snapshot_poll(snapshot_in("IN_PROGRESS"), w, t0 + 30s);
  ASSERT_EQ(late.verdict, WatchVerdict::kFailed);
  EXPECT_EQ(late.error.code, ErrorCode::kTimeout);
  EXPECT_EQ(late.error.message, "snapshot s1 of dc1 still running after sync.timeout 30s: not restored");
}

TEST(SnapshotWatch, ConnectionErrorsAreRetriedUntilTheDeadline) {
  auto w = watch();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(judge_snapshot_poll(no_answer(), w, t0 + std::chrono::seconds(i)).verdict, WatchVerdict::kRunning);
  }
  EXPECT_EQ(judge_snapshot_poll(no_answer(), w, t0 + 31s).error.code, ErrorCode::kTimeout);
}

TEST(SnapshotWatch, AFewServerErrorsInARowAreRetriedNotMore) {
  auto w = watch();
  auto busy = http(503, nullptr, "master_not_discovered_exception");
  for (int i = 1; i < kMaxWatchServerErrors; ++i) {
    EXPECT_EQ(judge_snapshot_poll(busy, w, t0 + 1s).verdict, WatchVerdict::kRunning) << i;
  }
  // A good answer in between starts the count again.
  EXPECT_EQ(judge_snapshot_poll(snapshot_in("IN_PROGRESS"), w, t0 + 2s).verdict, WatchVerdict::kRunning);
  for (int i = 1; i < kMaxWatchServerErrors; ++i) {
    EXPECT_EQ(judge_snapshot_poll(busy, w, t0 + 3s).verdict, WatchVerdict::kRunning) << i;
  }
  auto last = judge_snapshot_poll(busy, w, t0 + 4s);
  ASSERT_EQ(last.verdict, WatchVerdict::kFailed);
  EXPECT_EQ(last.error.code, ErrorCode::kEsError);
  EXPECT_NE(last.error.message.find("watching snapshot s1 of dc1: HTTP 503"), std::string::npos);
}

TEST(SnapshotWatch, AMissingSnapshotOrADisabledRepositoryEndsItAtOnce) {
  auto w = watch();
  EXPECT_EQ(judge_snapshot_poll(http(404, nullptr, "snapshot_missing_exception"), w, t0).verdict,
            WatchVerdict::kFailed);
  auto w2 = watch();
  EXPECT_EQ(judge_snapshot_poll(http(500, nullptr, "repository_exception"), w2, t0).verdict, WatchVerdict::kFailed);
}

Answer cat_rows() {
  return http(200, {{{"index", "orders"}, {"status", "open"}},
                    {{"index", "logs"}, {"status", "close"}},
                    {{"index", "other"}, {"status", "open"}},
                    {{"index", "haes-verify-orders"}, {"status", "open"}}});
}

TEST(IndicesToClose, OnlyTheOpenOnesTheRestoreReplaces) {
  auto c = indices_to_close(cat_rows(), {"orders", "logs", "missing"}, "dc2");
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, (std::vector<std::string>{"orders"}));
  auto e = indices_to_close(http(200, {{"not", "a list"}}), {"orders"}, "dc2");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("listing indices on dc2"), std::string::npos);
}

TEST(PresentIndices, FindsLeftoversWhateverTheirState) {
  auto p = present_indices(cat_rows(), {"haes-verify-orders", "haes-verify-logs", "logs"}, "dc2");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (std::vector<std::string>{"logs", "haes-verify-orders"}));
}

TEST(JudgeRestore, OkOnlyWithNoFailedShard) {
  EXPECT_TRUE(judge_restore(http(200, {{"snapshot", {{"shards", {{"total", 2}, {"failed", 0}}}}}}), "restore"));
  auto failed =
      judge_restore(http(200, {{"snapshot", {{"shards", {{"total", 2}, {"failed", 1}}}}}}), "restore of s1 on dc2");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kRestoreFailed);
  EXPECT_EQ(
      failed.error().message,
      "restore of s1 on dc2: 1 of 2 shards failed (HTTP 200); the passive data is NOT usable until the next sync");
  auto no_counts = judge_restore(http(200, {{"accepted", true}}), "restore of s1 on dc2");
  ASSERT_FALSE(no_counts);
  EXPECT_NE(no_counts.error().message.find("no shard counts in the answer"), std::string::npos);
  auto refused = judge_restore(http(500, nullptr, "snapshot_restore_exception"), "restore of s1 on dc2");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kEsError);
  auto gone = judge_restore(no_answer(ErrorCode::kTimeout), "restore of s1 on dc2");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kTimeout);
}

TEST(JudgeRestoredHealth, GreenOrYellowIsUsable) {
  EXPECT_TRUE(judge_restored_health(http(200, {{"status", "green"}}), "dc2"));
  EXPECT_TRUE(judge_restored_health(http(200, {{"status", "yellow"}}), "dc2"));
  auto red = judge_restored_health(http(408, {{"status", "red"}, {"timed_out", true}}), "dc2");
  ASSERT_FALSE(red);
  EXPECT_EQ(red.error().code, ErrorCode::kRestoreUnusable);
  EXPECT_EQ(red.error().message, "restored indices on dc2 are not usable (health red)");
  auto down = judge_restored_health(no_answer(), "dc2");
  ASSERT_FALSE(down);
  EXPECT_NE(down.error().message.find("connection refused"), std::string::npos);
}

TEST(SnapshotEntries, ReadsNamesStatesAndStartTimes) {
  auto l = snapshot_entries(http(200, {{"snapshots",
                                        {{{"snapshot", "haes-e1-a"}, {"state", "SUCCESS"}, {"start_time_in_millis", 5}},
                                         {{"snapshot", "other"}, {"state", "IN_PROGRESS"}},
                                         {{"snapshot", 7}}}}}));
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0].name, "haes-e1-a");
  EXPECT_EQ((*l)[0].start, from_unix_ms(5));
  EXPECT_EQ((*l)[1].state, "IN_PROGRESS");
  EXPECT_EQ((*l)[2].name, "");  // unreadable: never a retention victim (not ours)
  EXPECT_FALSE(snapshot_entries(http(500, nullptr, "repository_exception")));
}

TEST(CompareCounts, EqualReadableCountsAreOk) {
  auto c = compare_counts({{"orders", 40, 40}, {"logs", 0, 0}}, "dc2");
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.counts, "orders=40, logs=0");
  EXPECT_EQ(c.problems, "");
  EXPECT_TRUE(compare_counts({}, "dc2").ok);
}

TEST(CompareCounts, ADifferenceOrAnUnreadableCountIsAProblemNamingTheIndex) {
  auto c = compare_counts({{"orders", 40, 39}, {"logs", -1, 3}, {"x", 2, -1}}, "dc2");
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.problems,
            "orders: snapshot holds 40 documents, the synced copy on dc2 39; "
            "logs: snapshot holds an unreadable number of documents, the synced copy on dc2 3; "
            "x: snapshot holds 2 documents, the synced copy on dc2 cannot be counted");
}

TEST(CountOf, ReadsCountOrMinusOne) {
  EXPECT_EQ(count_of(http(200, {{"count", 12}})), 12);
  EXPECT_EQ(count_of(http(404, {{"count", 12}})), -1);
  EXPECT_EQ(count_of(http(200, {{"count", "12"}})), -1);
  EXPECT_EQ(count_of(no_answer()), -1);
}

TEST(ScratchName, PrefixesTheIndex) { EXPECT_EQ(scratch_name("orders"), "haes-verify-orders"); }

}  // namespace
}  // namespace haes::sync
