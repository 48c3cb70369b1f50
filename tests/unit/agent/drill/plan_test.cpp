#include "drill/plan.hpp"

#include <gtest/gtest.h>

namespace haes {
namespace {

const std::vector<std::string> kClusters{"dc1", "dc2"};

State active(const std::string& c) {
  State s;
  s.epoch = 4;
  s.active = c;
  return s;
}

SysTime at() { return from_unix_ms(1764657000123); }  // 2025-12-02T06:30:00.123Z

TEST(DrillPlan, GoesToThePassiveClusterAndBackInSevenSteps) {
  auto p = plan_drill(active("dc1"), kClusters, "", 20, at());
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->from, "dc1");
  EXPECT_EQ(p->to, "dc2");
  EXPECT_EQ(p->id, "20251202t063000123z");
  EXPECT_EQ(p->scratch_index, "haes-drill-20251202t063000123z");
  EXPECT_EQ(p->steps,
            (std::vector{DrillStep::kReadinessBefore, DrillStep::kSwitchover, DrillStep::kWrite, DrillStep::kRead,
                         DrillStep::kCleanup, DrillStep::kSwitchBack, DrillStep::kReadinessAfter}));
  const std::string text = render_plan(*p);
  EXPECT_NE(text.find("2. switchover: planned switchover dc1 -> dc2"), std::string::npos) << text;
  EXPECT_NE(text.find("3. write: write 20 documents to haes-drill-20251202t063000123z on dc2"), std::string::npos);
  EXPECT_NE(text.find("6. switch_back: planned switchover back dc2 -> dc1"), std::string::npos);
}

TEST(DrillPlan, RefusesWithoutAnActiveClusterOrAPassiveTarget) {
  EXPECT_EQ(plan_drill(State{}, kClusters, "", 20, at()).error().code, ErrorCode::kNoActive);
  EXPECT_EQ(plan_drill(active("dc1"), kClusters, "dc1", 20, at()).error().code, ErrorCode::kAlreadyActive);
  EXPECT_EQ(plan_drill(active("dc1"), kClusters, "dc9", 20, at()).error().code, ErrorCode::kUsage);
  State fenced = active("dc1");
  fenced.fenced = {"dc2"};
  EXPECT_EQ(plan_drill(fenced, kClusters, "", 20, at()).error().code, ErrorCode::kUnhealthyTarget);
  EXPECT_EQ(plan_drill(fenced, kClusters, "dc2", 20, at()).error().code, ErrorCode::kUnhealthyTarget);
}

TEST(DrillPlan, AFailureAfterTheSwitchoverCleansUpAndSwitchesBack) {
  EXPECT_TRUE(recovery_steps(DrillStep::kReadinessBefore).empty());
  EXPECT_TRUE(recovery_steps(DrillStep::kSwitchover).empty());  // the switchover rolled itself back
  EXPECT_EQ(recovery_steps(DrillStep::kWrite), (std::vector{DrillStep::kCleanup, DrillStep::kSwitchBack}));
  EXPECT_EQ(recovery_steps(DrillStep::kRead), (std::vector{DrillStep::kCleanup, DrillStep::kSwitchBack}));
  EXPECT_EQ(recovery_steps(DrillStep::kCleanup), std::vector{DrillStep::kSwitchBack});
}

TEST(DrillPlan, ReportsRoundTripThroughJson) {
  DrillReport r;
  r.id = "x";
  r.from = "dc1";
  r.to = "dc2";
  r.actor = "operator a@h";
  r.started_at = at();
  r.finished_at = at() + Duration(12000);
  r.running = false;
  r.ok = false;
  r.reason = "read: read back 3 documents of 20 written";
  r.rolled_back = true;
  r.write_block_to = Duration(1500);
  r.rpo_seconds = 42;
  r.readiness_before = "yes";
  r.documents_written = 20;
  r.documents_read = 3;
  r.steps.push_back({DrillStep::kSwitchover, true, Duration(2000), "dc2 active"});
  r.steps.push_back({DrillStep::kRead, false, Duration(10), "read back 3 documents of 20 written"});
  auto back = drill_report_from_json(drill_report_json(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(drill_report_json(*back), drill_report_json(r));
  EXPECT_FALSE(back->write_block_back);
  const std::string text = render_drill_report(r);
  EXPECT_NE(text.find("drill x: FAILED: read: read back 3"), std::string::npos) << text;
  EXPECT_NE(text.find("write_unavailable dc1->dc2: 1.500s"), std::string::npos) << text;
  EXPECT_NE(text.find("write_unavailable dc2->dc1: not measured"), std::string::npos) << text;
  EXPECT_NE(text.find("rolled back: dc1 active again"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL read 0.010s"), std::string::npos) << text;
  EXPECT_FALSE(drill_report_from_json(nlohmann::json::object()));
  EXPECT_EQ(drill_summary(r, at() + Duration(60000)).substr(0, 19), "x FAILED, 60s ago: ");
  EXPECT_EQ(text.find("through:"), std::string::npos) << text;

  r.through = "http://127.0.0.1:9200";
  r.front_door_wait = Duration(250);
  back = drill_report_from_json(drill_report_json(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->through, "http://127.0.0.1:9200");
  EXPECT_EQ(back->front_door_wait, Duration(250));
  EXPECT_NE(render_drill_report(r).find("through: http://127.0.0.1:9200 (the front door), routing to dc2 after 0.250s"),
            std::string::npos)
      << render_drill_report(r);
}

TEST(DrillPlan, WithAFrontDoorTheWriteAndReadStepsSayWhere) {
  auto p = plan_drill(active("dc1"), kClusters, "", 5, at(), "http://127.0.0.1:9200");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->through, "http://127.0.0.1:9200");
  const std::string text = render_plan(*p);
  EXPECT_NE(text.find("3. write: write 5 documents to haes-drill-20251202t063000123z on dc2 through the front door "
                      "http://127.0.0.1:9200"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("4. read: count them through the front door, on dc2 directly, and check dc1 has none"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("5. cleanup: delete haes-drill-20251202t063000123z on dc2 (and on dc1)"), std::string::npos);
}

TEST(DrillPlan, OnlyTheFrontDoorsOwnUnavailableAnswersAreWaitedFor) {
  EXPECT_TRUE(front_door_not_routing_yet(503, ""));  // HAProxy: no server available yet
  EXPECT_TRUE(front_door_not_routing_yet(502, ""));
  EXPECT_TRUE(front_door_not_routing_yet(504, ""));
  EXPECT_TRUE(front_door_not_routing_yet(503, "haes_unavailable_exception"));  // haproxy.cfg: agent not answering
  // Elasticsearch's own answers are answers: the drill fails on them.
  EXPECT_FALSE(front_door_not_routing_yet(503, "cluster_block_exception"));
  EXPECT_FALSE(front_door_not_routing_yet(400, "resource_already_exists_exception"));
  EXPECT_FALSE(front_door_not_routing_yet(401, ""));
  EXPECT_FALSE(front_door_not_routing_yet(500, ""));
  EXPECT_FALSE(front_door_not_routing_yet(200, ""));
}

TEST(DrillPlan, ThePlacementOfTheDocumentsDecidesTheReadStep) {
  auto direct = plan_drill(active("dc1"), kClusters, "", 20, at());
  auto door = plan_drill(active("dc1"), kClusters, "", 20, at(), "http://hap:9200");
  ASSERT_TRUE(direct && door);
  // Straight to the nodes: the count is the whole check.
  EXPECT_EQ(*judge_placement(*direct, {20, 20, -1, false}), "20 documents read back");
  EXPECT_EQ(judge_placement(*direct, {20, 3, -1, false}).error().message, "read back 3 documents of 20 written");
  EXPECT_EQ(judge_placement(*direct, {20, -1, -1, false}).error().code, ErrorCode::kVerifyFailed);
  // Through the front door: every document on dc2, none on dc1.
  EXPECT_EQ(*judge_placement(*door, {20, 20, 20, false}),
            "20 documents read back through http://hap:9200, all on dc2, none on dc1");
  auto stale = judge_placement(*door, {20, 20, -1, true});  // a front door still routing to dc1
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kVerifyFailed);
  EXPECT_NE(stale.error().message.find("sent the drill's documents to dc1, not to dc2"), std::string::npos)
      << stale.error().message;
  EXPECT_NE(judge_placement(*door, {20, 20, 7, false}).error().message.find("dc2 holds 7 documents of 20 written"),
            std::string::npos);
  EXPECT_NE(judge_placement(*door, {20, 19, 19, false})
                .error()
                .message.find("read back 19 documents of 20 written "
                              "(through http://hap:9200)"),
            std::string::npos);
}

}  // namespace
}  // namespace haes
