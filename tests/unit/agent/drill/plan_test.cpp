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
}

}  // namespace
}  // namespace haes
