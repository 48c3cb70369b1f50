// CCR mode's decisions: reading the follow info and stats, the lag, the
// indices not followed, the promotion's steps and their answers.
#include "ccr/rules.hpp"

#include <gtest/gtest.h>

#include "ccr/report.hpp"

namespace haes::ccr {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

Answer http(int status, json body, const std::string& summary = "") {
  Answer a;
  a.status = status;
  a.body = std::move(body);
  a.summary = summary.empty() ? "HTTP " + std::to_string(status) : summary;
  return a;
}

Answer no_answer() {
  Answer a;
  a.transport = Error{ErrorCode::kConnect, "127.0.0.1:9200: connection refused"};
  return a;
}

json info_entry(const std::string& index, const std::string& status) {
  return {{"follower_index", index}, {"remote_cluster", "dc1"}, {"leader_index", index}, {"status", status}};
}

json shard(int64_t leader, int64_t follower, int64_t since_ms, json exceptions = json::array()) {
  return {{"shard_id", 0},
          {"leader_global_checkpoint", leader},
          {"follower_global_checkpoint", follower},
          {"time_since_last_read_millis", since_ms},
          {"read_exceptions", exceptions}};
}

Answer stats(json indices) {
  return http(200, {{"auto_follow_stats", json::object()}, {"follow_stats", {{"indices", indices}}}});
}

const SysTime kT0 = from_unix_ms(1'700'000'000'000);

TEST(FollowInfo, ReadsEveryFollowerSortedByName) {
  auto r = parse_follow_info(
      http(200, {{"follower_indices", {info_entry("logs-b", "paused"), info_entry("logs-a", "active")}}}), "dc2");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].index, "logs-a");
  EXPECT_EQ((*r)[0].status, FollowStatus::kActive);
  EXPECT_EQ((*r)[1].status, FollowStatus::kPaused);
  EXPECT_EQ((*r)[1].remote_cluster, "dc1");
}

TEST(FollowInfo, BadShapesAreClearErrorsNamingTheCluster) {
  auto missing = parse_follow_info(http(200, json::object()), "dc2");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kBadResponse);
  EXPECT_NE(missing.error().message.find("dc2"), std::string::npos);
  EXPECT_NE(missing.error().message.find("follower_indices"), std::string::npos);
  auto status = parse_follow_info(http(200, {{"follower_indices", {info_entry("x", "sleeping")}}}), "dc2");
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("sleeping"), std::string::npos);
  auto license =
      parse_follow_info(http(403, json::object(), "HTTP 403 security_exception: non-compliant for [ccr]"), "dc2");
  ASSERT_FALSE(license);
  EXPECT_EQ(license.error().code, ErrorCode::kEsError);
  EXPECT_NE(license.error().message.find("non-compliant"), std::string::npos);
  EXPECT_EQ(parse_follow_info(no_answer(), "dc2").error().code, ErrorCode::kConnect);
}

TEST(FollowStats, LagIsTheSumOverShardsOfLeaderMinusFollowerCheckpoints) {
  json ex = json::array({{{"from_seq_no", 5},
                          {"retries", 2},
                          {"exception", {{"type", "connect_transport_exception"}, {"reason", "refused"}}}}});
  auto r = parse_follow_stats(
      stats({{{"index", "logs-a"}, {"shards", {shard(10, 7, 40), shard(5, 5, 900, ex), shard(3, 4, 10)}}}}), "dc2");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].operations_behind, 3);  // 3 + 0 + 0 (a follower ahead never counts negative)
  EXPECT_EQ((*r)[0].since_last_read_ms, 900);
  EXPECT_EQ((*r)[0].read_exceptions, 1);
  EXPECT_EQ((*r)[0].first_exception, "connect_transport_exception: refused");
}

TEST(FollowStats, AShardWithoutCheckpointsIsABadAnswer) {
  auto r = parse_follow_stats(stats({{{"index", "logs-a"}, {"shards", {{{"shard_id", 0}}}}}}), "dc2");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadResponse);
  EXPECT_NE(r.error().message.find("leader_global_checkpoint"), std::string::npos);
  EXPECT_FALSE(parse_follow_stats(http(200, {{"follow_stats", json::object()}}), "dc2"));
}

TEST(Patterns, WildcardsExclusionsAndDotIndices) {
  const std::vector<std::string> p{"logs-*", "-logs-tmp*", "orders"};
  EXPECT_TRUE(selected(p, "logs-a"));
  EXPECT_TRUE(selected(p, "orders"));
  EXPECT_FALSE(selected(p, "orders-2"));
  EXPECT_FALSE(selected(p, "logs-tmp1"));
  EXPECT_FALSE(selected({"*"}, ".security"));
  EXPECT_TRUE(selected({".ds-*"}, ".ds-logs"));
  EXPECT_TRUE(selected({"*a*b"}, "xxaxxb"));
}

TEST(Patterns, ABackingIndexIsSelectedByItsDataStreamsName) {
  EXPECT_EQ(backing_data_stream(".ds-logs-app-2026.12.03-000001"), "logs-app");
  EXPECT_EQ(backing_data_stream(".ds-logs-app-000002"), "logs-app");  // before 7.11
  EXPECT_EQ(backing_data_stream(".ds-my-stream-2026.12.03-0000123"), "my-stream");
  EXPECT_EQ(backing_data_stream(".ds-x-2026.12.03-00001"), "");  // generations have 6 digits at least
  EXPECT_EQ(backing_data_stream("logs-app-2026.12.03-000001"), "");
  EXPECT_EQ(backing_data_stream(".ds--000001"), "");
  EXPECT_EQ(backing_data_stream(".ds-"), "");
  const std::vector<std::string> p{"logs-*", "-logs-tmp*"};
  EXPECT_TRUE(selected(p, ".ds-logs-app-2026.12.03-000001"));
  EXPECT_FALSE(selected(p, ".ds-logs-tmp-2026.12.03-000001"));  // its stream is excluded
  EXPECT_FALSE(selected(p, ".ds-metrics-2026.12.03-000001"));
  EXPECT_FALSE(selected(p, ".ds-logs-app"));  // not a backing index's name
  EXPECT_TRUE(selected({".ds-logs-*"}, ".ds-logs-app-2026.12.03-000001"));
}

TEST(DataStreams, ReadsEveryStreamWithItsBackingIndicesAndWhetherReplicated) {
  auto a = http(
      200, {{"data_streams",
             {{{"name", "logs-b"},
               {"indices", {{{"index_name", ".ds-logs-b-2026.12.03-000001"}, {"index_uuid", "u1"}}}},
               {"replicated", true}},
              {{"name", "logs-a"},
               {"indices",
                {{{"index_name", ".ds-logs-a-2026.12.03-000001"}}, {{"index_name", ".ds-logs-a-2026.12.03-000002"}}}},
               {"replicated", false}}}}});
  auto d = parse_data_streams(a, "dc2");
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0].name, "logs-a");
  EXPECT_EQ((*d)[0].indices.back(), ".ds-logs-a-2026.12.03-000002");
  EXPECT_FALSE((*d)[0].replicated);
  EXPECT_TRUE((*d)[1].replicated);
  auto bad = parse_data_streams(http(200, {{"data_streams", {{{"name", "x"}, {"indices", json::array()}}}}}), "dc2");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("data streams of dc2"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(parse_data_streams(http(200, json::object()), "dc2"));
  EXPECT_EQ(parse_data_streams(no_answer(), "dc2").error().code, ErrorCode::kConnect);
}

TEST(DataStreams, FollowTasksMissingFromTheFollowInfoAreFollowersToo) {
  // ES's follow info leaves a data stream's (hidden) backing indices out of
  // `_all`; their follow tasks are in the stats.
  std::vector<FollowerInfo> info{{"logs-b", "dc1", "logs-b", FollowStatus::kPaused}};
  std::vector<FollowerStats> stats{{".ds-logs-app-2026.12.03-000001", 0, 10, 0, ""}, {"logs-b", 0, 10, 0, ""}};
  auto all = with_task_followers(info, stats);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].index, ".ds-logs-app-2026.12.03-000001");
  EXPECT_EQ(all[0].leader_index, ".ds-logs-app-2026.12.03-000001");
  EXPECT_EQ(all[0].status, FollowStatus::kActive);
  EXPECT_EQ(all[1].status, FollowStatus::kPaused);  // the info's entry wins
}

TEST(DataStreams, AReplicatedStreamIsPromotedAndRolledOverBeforeTheRunbook) {
  const std::vector<DataStreamInfo> streams{
      {"logs-app", {".ds-logs-app-2026.12.03-000001", ".ds-logs-app-2026.12.03-000002"}, true},
      {"logs-done", {".ds-logs-done-2026.12.03-000001"}, false},  // promoted before, written since
      {"logs-half", {".ds-logs-half-2026.12.03-000001"}, false},  // promoted, its rollover failed
      {"metrics", {".ds-metrics-2026.12.03-000001"}, true},       // not of the patterns
  };
  const std::vector<FollowerInfo> followers{
      {".ds-logs-app-2026.12.03-000001", "dc1", ".ds-logs-app-2026.12.03-000001", FollowStatus::kActive},
      {".ds-logs-app-2026.12.03-000002", "dc1", ".ds-logs-app-2026.12.03-000002", FollowStatus::kActive},
      {".ds-logs-half-2026.12.03-000001", "dc1", ".ds-logs-half-2026.12.03-000001", FollowStatus::kPaused},
      {".ds-metrics-2026.12.03-000001", "dc1", ".ds-metrics-2026.12.03-000001", FollowStatus::kActive}};
  auto steps = data_stream_steps(streams, followers, {"logs-*"});
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].path, "/_data_stream/_promote/logs-app");
  EXPECT_EQ(steps[0].step, PromoteStep::kPromoteDataStream);
  EXPECT_EQ(steps[1].path, "/logs-app/_rollover");
  EXPECT_EQ(steps[1].step, PromoteStep::kRollover);
  EXPECT_EQ(steps[2].path, "/logs-half/_rollover");
  auto groups = by_target(steps);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].size(), 2u);
  EXPECT_EQ(groups[1].front().index, "logs-half");
  // The backing indices then go through the runbook like any follower.
  auto runbook = promotion_steps(followers, {"logs-*"});
  ASSERT_EQ(runbook.size(), 11u);
  EXPECT_EQ(runbook[0].path, "/.ds-logs-app-2026.12.03-000001/_ccr/pause_follow");
  EXPECT_EQ(runbook[8].path, "/.ds-logs-half-2026.12.03-000001/_close");
  // The ES answers: a rollover refused while replicated is a failed step.
  auto refused = judge_step(steps[1],
                            http(400, json::object(),
                                 "HTTP 400 illegal_argument_exception: data stream [logs-app] cannot be rolled "
                                 "over, because it is a replicated data stream"),
                            "dc2");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("rollover of logs-app on dc2"), std::string::npos);
  EXPECT_TRUE(judge_step(steps[0], http(200, {{"acknowledged", true}}), "dc2"));
  EXPECT_TRUE(judge_step(steps[1], http(200, {{"acknowledged", true}, {"rolled_over", true}}), "dc2"));
}

Observation observation() {
  Observation o;
  o.active = "dc1";
  o.passive = "dc2";
  o.leader_indices = std::vector<std::string>{"logs-a", "logs-b", "logs-c", "other"};
  o.followers = std::vector<FollowerInfo>{{"logs-a", "dc1", "logs-a", FollowStatus::kActive},
                                          {"logs-b", "dc1", "logs-b", FollowStatus::kActive}};
  o.stats = std::vector<FollowerStats>{{"logs-a", 0, 20, 0, ""}, {"logs-b", 0, 30, 0, ""}};
  return o;
}

TEST(Judge, NamesTheLeaderIndicesNotFollowedAndLeavesTheLagUnknown) {
  CaughtUp memory;
  auto s = judge(observation(), {"logs-*"}, memory, kT0);
  EXPECT_EQ(s.not_followed, std::vector<std::string>{"logs-c"});
  EXPECT_FALSE(s.lag_seconds);
  EXPECT_NE(s.lag_why.find("logs-c"), std::string::npos);
  ASSERT_EQ(s.indices.size(), 2u);
  EXPECT_EQ(s.indices[0].lag_seconds, 0);
}

TEST(Judge, LagIsTheTimeSinceAFollowerWasLastCaughtUp) {
  CaughtUp memory;
  auto o = observation();
  o.leader_indices = std::vector<std::string>{"logs-a", "logs-b"};
  auto s = judge(o, {"logs-*"}, memory, kT0);
  ASSERT_TRUE(s.lag_seconds);
  EXPECT_EQ(*s.lag_seconds, 0);
  (*o.stats)[1].operations_behind = 12;  // logs-b falls behind
  s = judge(o, {"logs-*"}, memory, kT0 + 7s);
  ASSERT_TRUE(s.lag_seconds);
  EXPECT_EQ(*s.lag_seconds, 7);
  EXPECT_EQ(s.indices[1].operations_behind, 12);
  (*o.stats)[1].operations_behind = 0;  // caught up again
  s = judge(o, {"logs-*"}, memory, kT0 + 9s);
  EXPECT_EQ(*s.lag_seconds, 0);
}

TEST(Judge, APausedFollowerHasNoStatsAndItsLagGrows) {
  CaughtUp memory;
  auto o = observation();
  o.leader_indices = std::vector<std::string>{"logs-a", "logs-b"};
  (void)judge(o, {"logs-*"}, memory, kT0);
  (*o.followers)[0].status = FollowStatus::kPaused;
  o.stats->erase(o.stats->begin());
  auto s = judge(o, {"logs-*"}, memory, kT0 + 30s);
  EXPECT_EQ(s.indices[0].status, FollowStatus::kPaused);
  EXPECT_EQ(s.indices[0].operations_behind, -1);
  EXPECT_EQ(*s.lag_seconds, 30);
}

TEST(Judge, AFollowerNeverCaughtUpOrAnUnreadableClusterLeavesTheLagUnknown) {
  CaughtUp memory;
  auto o = observation();
  o.leader_indices = std::vector<std::string>{"logs-a", "logs-b"};
  (*o.stats)[0].operations_behind = 4;
  auto s = judge(o, {"logs-*"}, memory, kT0);
  EXPECT_FALSE(s.lag_seconds);
  EXPECT_NE(s.lag_why.find("logs-a"), std::string::npos);
  o.stats.reset();
  o.errors = {"CCR stats of dc2: connect: refused"};
  s = judge(o, {"logs-*"}, memory, kT0);
  EXPECT_FALSE(s.read_ok);
  EXPECT_FALSE(s.lag_seconds);
}

TEST(Blocker, ARefusedPromotionShowsOnlyWhenTheControllerWouldFailOver) {
  CcrStatus s;
  s.blocked = "failover to dc2 refused: could not promote logs-b";
  ControllerView would;
  apply_blocker(would, s);
  EXPECT_EQ(would.blocker, Blocker::kCcrPromotion);
  EXPECT_EQ(would.text, s.blocked);
  ControllerView healthy;
  healthy.blocker = Blocker::kNotBad;
  apply_blocker(healthy, s);
  EXPECT_EQ(healthy.blocker, Blocker::kNotBad);
}

TEST(Promotion, StepsFollowTheRunbookIndexByIndexAndSkipPauseWhenPaused) {
  std::vector<FollowerInfo> f{{"logs-a", "dc1", "logs-a", FollowStatus::kActive},
                              {"logs-b", "dc1", "logs-b", FollowStatus::kPaused},
                              {"other", "dc1", "other", FollowStatus::kActive}};
  auto steps = promotion_steps(f, {"logs-*"});
  ASSERT_EQ(steps.size(), 7u);
  EXPECT_EQ(steps[0].path, "/logs-a/_ccr/pause_follow");
  EXPECT_EQ(steps[1].path, "/logs-a/_close");
  EXPECT_EQ(steps[2].path, "/logs-a/_ccr/unfollow");
  EXPECT_EQ(steps[3].path, "/logs-a/_open");
  EXPECT_EQ(steps[4].path, "/logs-b/_close");
  EXPECT_EQ(steps[4].step, PromoteStep::kClose);
}

TEST(Promotion, EachStepIsChecked) {
  StepRequest pause{"logs-a", PromoteStep::kPauseFollow, "POST", "/logs-a/_ccr/pause_follow"};
  StepRequest unfollow{"logs-a", PromoteStep::kUnfollow, "POST", "/logs-a/_ccr/unfollow"};
  EXPECT_TRUE(judge_step(pause, http(200, {{"acknowledged", true}}), "dc2"));
  EXPECT_TRUE(judge_step(
      pause, http(400, json::object(), "HTTP 400 illegal_argument_exception: no shard follow tasks for [logs-a]"),
      "dc2"));
  auto refused = judge_step(unfollow,
                            http(400, json::object(),
                                 "HTTP 400 illegal_argument_exception: cannot convert the follower index "
                                 "[logs-a] to a non-follower, because it has not been closed"),
                            "dc2");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPromotionFailed);
  EXPECT_NE(refused.error().message.find("unfollow of logs-a on dc2"), std::string::npos);
  EXPECT_FALSE(judge_step(unfollow, http(200, {{"acknowledged", false}}), "dc2"));
  EXPECT_EQ(judge_step(unfollow, no_answer(), "dc2").error().code, ErrorCode::kConnect);
}

TEST(Promotion, ReportSaysWhatWasNotPromoted) {
  PromotionReport r;
  r.cluster = "dc2";
  r.indices.push_back(IndexPromotion{"logs-a", true, {PromoteStep::kPauseFollow, PromoteStep::kClose}, {}, ""});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.summary(), "promoted 1 follower index(es) on dc2 (logs-a)");
  r.indices.push_back(IndexPromotion{"logs-b", false, {PromoteStep::kPauseFollow}, PromoteStep::kClose, "boom"});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.not_promoted(), std::vector<std::string>{"logs-b"});
  EXPECT_NE(r.summary().find("logs-b (boom)"), std::string::npos);
  EXPECT_EQ(index_event_text(r.indices[1], "dc2"),
            "could not promote follower logs-b on dc2: pause_follow ok, close FAILED: boom");
  PromotionReport d;
  d.cluster = "dc2";
  d.indices.push_back(
      IndexPromotion{"logs-app", true, {PromoteStep::kPromoteDataStream, PromoteStep::kRollover}, {}, "", true});
  d.indices.push_back(IndexPromotion{".ds-logs-app-2026.12.03-000001", true, {PromoteStep::kClose}, {}, ""});
  EXPECT_EQ(d.summary(),
            "promoted 1 data stream(s) and 1 follower index(es) on dc2 (data stream logs-app, "
            ".ds-logs-app-2026.12.03-000001)");
  EXPECT_EQ(index_event_text(d.indices[0], "dc2"),
            "promoted data stream logs-app on dc2: promote_data_stream ok, rollover ok");
}

TEST(Setup, AutoFollowPatternAndRemoteSettings) {
  auto body = auto_follow_body("dc1", {"logs-*", "-logs-tmp*"});
  EXPECT_EQ(body["remote_cluster"], "dc1");
  EXPECT_EQ(body["leader_index_patterns"], json::array({"logs-*"}));
  EXPECT_EQ(body["leader_index_exclusion_patterns"], json::array({"logs-tmp*"}));
  EXPECT_EQ(remote_settings_body("dc1", {"10.0.0.1:9300"}).dump(),
            R"({"persistent":{"cluster.remote.dc1.seeds":["10.0.0.1:9300"]}})");
  EXPECT_EQ(remote_alias("", "dc1"), "dc1");
  EXPECT_EQ(remote_alias("primary", "dc1"), "primary");
  EXPECT_FALSE(remote_problem(http(200, {{"dc1", {{"connected", true}}}}), "dc1", "dc2"));
  EXPECT_NE(remote_problem(http(200, json::object()), "dc1", "dc2")->find("not set"), std::string::npos);
  EXPECT_NE(remote_problem(http(200, {{"dc1", {{"connected", false}}}}), "dc1", "dc2")->find("not connected"),
            std::string::npos);
}

// sync.ccr.manage: false checks the auto-follow pattern as well as the
// remote: without one, new indices of the patterns are never followed.
TEST(Setup, AnAutoFollowPatternMustFollowEveryConfiguredPatternFromTheActiveCluster) {
  // Vectors, not braced json: a one-element braced list is an array with
  // GCC but the element itself with clang (nlohmann's initializer lists).
  auto entry = [](const std::string& name, const std::string& remote, const std::vector<std::string>& leaders,
                  bool active = true, const std::string& rename = "{{leader_index}}") {
    json p = json::object();
    p["remote_cluster"] = remote;
    p["leader_index_patterns"] = leaders;
    p["follow_index_pattern"] = rename;
    p["active"] = active;
    json e = json::object();
    e["name"] = name;
    e["pattern"] = p;
    return e;
  };
  auto answer = [](const std::vector<json>& entries) {
    json body = json::object();
    body["patterns"] = entries;
    return http(200, body);
  };
  const std::vector<std::string> patterns{"logs-*", "metrics-*", "-logs-tmp*"};
  EXPECT_FALSE(
      auto_follow_problem(answer({entry("haes-dc1", "dc1", {"logs-*", "metrics-*"})}), "dc1", patterns, "dc2"));
  EXPECT_FALSE(auto_follow_problem(answer({entry("a", "dc1", {"logs-*"}), entry("b", "dc1", {"metrics-*", "other-*"})}),
                                   "dc1", patterns, "dc2"))
      << "two patterns may share the work";
  EXPECT_EQ(*auto_follow_problem(answer({}), "dc1", patterns, "dc2"),
            "no auto-follow pattern on dc2 follows remote cluster dc1: its new indices would not be followed "
            "(PUT /_ccr/auto_follow/haes-dc1, or sync.ccr.manage: true)");
  EXPECT_EQ(*auto_follow_problem(answer({entry("x", "dc3", {"logs-*", "metrics-*"})}), "dc1", patterns, "dc2"),
            "no auto-follow pattern on dc2 follows remote cluster dc1: its new indices would not be followed "
            "(PUT /_ccr/auto_follow/haes-dc1, or sync.ccr.manage: true)");
  EXPECT_EQ(*auto_follow_problem(answer({entry("haes-dc1", "dc1", {"logs-*"})}), "dc1", patterns, "dc2"),
            "no active auto-follow pattern on dc2 from dc1 lists metrics-* "
            "(PUT /_ccr/auto_follow/haes-dc1, or sync.ccr.manage: true)");
  auto paused =
      auto_follow_problem(answer({entry("haes-dc1", "dc1", {"logs-*", "metrics-*"}, false)}), "dc1", patterns, "dc2");
  ASSERT_TRUE(paused);
  EXPECT_NE(paused->find("lists logs-*, metrics-*; paused: haes-dc1"), std::string::npos) << *paused;
  auto renamed =
      auto_follow_problem(answer({entry("haes-dc1", "dc1", {"logs-*", "metrics-*"}, true, "{{leader_index}}-copy")}),
                          "dc1", patterns, "dc2");
  ASSERT_TRUE(renamed);
  EXPECT_NE(renamed->find("follows under other names: haes-dc1 ({{leader_index}}-copy)"), std::string::npos)
      << *renamed;
  auto refused = auto_follow_problem(http(403, {{"error", {{"type", "security_exception"}, {"reason", "no"}}}}), "dc1",
                                     patterns, "dc2");
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("auto-follow patterns of dc2"), std::string::npos) << *refused;
}

TEST(Fence, TheFencedClusterIsBlockedOnceAndLiftedWhenActiveAgain) {
  State s;
  s.epoch = 2;
  s.active = "dc2";
  EXPECT_EQ(fence_step(s, "dc1").action, FenceAction::kNone) << "nothing fenced";
  s.fenced = {"dc1"};
  auto f = fence_step(s, "dc1");
  EXPECT_EQ(f.action, FenceAction::kBlock);
  EXPECT_EQ(f.cluster, "dc1");
  s.write_block = WriteBlock{"dc1", SysTime{}, "ccr", true};
  EXPECT_EQ(fence_step(s, "dc1").action, FenceAction::kNone) << "in force";
  // dc1 active again (an operator's failover --to dc1), the marker still there.
  s.active = "dc1";
  s.fenced = {};
  f = fence_step(s, "dc2");
  EXPECT_EQ(f.action, FenceAction::kLift);
  EXPECT_EQ(f.cluster, "dc1");
  // A marker this mode did not write (not a fence) is left alone.
  s.write_block.fence = false;
  EXPECT_EQ(fence_step(s, "dc2").action, FenceAction::kNone);
  s.active = "";
  s.write_block = WriteBlock{};
  s.fenced = {"dc1"};
  EXPECT_EQ(fence_step(s, "dc1").action, FenceAction::kNone) << "no active cluster: nothing to protect";
}

TEST(Refollow, DeletesOnlyRegularIndicesOfThePatternsThatTheActiveClusterHas) {
  std::vector<std::string> passive{"logs-a", "logs-b", "logs-old", "other"};
  std::vector<FollowerInfo> followers{{"logs-b", "dc2", "logs-b", FollowStatus::kActive}};
  std::vector<std::string> active{"logs-a", "logs-b", "logs-new", "other"};
  EXPECT_EQ(refollow_victims(passive, followers, active, {"logs-*"}), std::vector<std::string>{"logs-a"});
  EXPECT_EQ(missing_followers(passive, active, {"logs-*"}), std::vector<std::string>{"logs-new"});
}

TEST(Refollow, ADataStreamIsDeletedWholeAndItsBackingIndicesFollowedAgain) {
  // dc1 was promoted away from and is passive again; dc2 rolled logs-app over.
  std::vector<std::string> passive{".ds-logs-app-2026.12.03-000001", ".ds-logs-app-2026.12.03-000002", "logs-a"};
  std::vector<std::string> active{".ds-logs-app-2026.12.03-000001", ".ds-logs-app-2026.12.03-000002",
                                  ".ds-logs-app-2026.12.03-000003", "logs-a"};
  auto victims = refollow_victims(passive, {}, active, {"logs-*"});
  ASSERT_EQ(victims.size(), 3u);
  EXPECT_EQ(missing_followers(passive, active, {"logs-*"}), std::vector<std::string>{".ds-logs-app-2026.12.03-000003"});
  auto d = refollow_deletions(victims);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].path, "/_data_stream/logs-app");
  EXPECT_EQ(d[0].data_stream, "logs-app");
  EXPECT_EQ(d[0].indices,
            (std::vector<std::string>{".ds-logs-app-2026.12.03-000001", ".ds-logs-app-2026.12.03-000002"}));
  EXPECT_EQ(d[1].path, "/logs-a");
  EXPECT_EQ(d[1].indices, std::vector<std::string>{"logs-a"});
}

TEST(Report, MetricsAndTextCarryTheLag) {
  CaughtUp memory;
  auto o = observation();
  auto s = judge(o, {"logs-*"}, memory, kT0);
  MetricsText m;
  export_metrics(m, s);
  const std::string text = m.take();
  EXPECT_NE(text.find("haes_ccr_follower_operations_behind{index=\"logs-a\"} 0"), std::string::npos);
  EXPECT_NE(text.find("haes_ccr_not_followed_indices 1"), std::string::npos);
  EXPECT_NE(text.find("haes_sync_passive_data_age_seconds -1"), std::string::npos);
  const std::string status = status_text(s, kT0);
  EXPECT_NE(status.find("not_followed: logs-c"), std::string::npos);
}

}  // namespace
}  // namespace haes::ccr
