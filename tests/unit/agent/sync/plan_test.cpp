// What a sync operation may do, decided before it touches anything: source
// and target, refusals for unhealthy clusters, the red-target rule, the hold,
// verify-restore's preconditions.
#include "sync/plan.hpp"

#include <gtest/gtest.h>

#include "support/rounds.hpp"

namespace haes::sync {
namespace {

const std::vector<std::string> kClusters{"dc1", "dc2"};

State active(const std::string& cluster, uint64_t epoch = 1) {
  State s;
  s.epoch = epoch;
  s.active = cluster;
  return s;
}

using test::round_of;

Answer ok_answer(nlohmann::json body) {
  Answer a;
  a.status = 200;
  a.body = std::move(body);
  return a;
}

TEST(PlanOperation, SourceIsTheActiveClusterAndTargetTheOther) {
  auto r = round_of(Health::kGreen, Health::kYellow);
  auto p = plan_operation(active("dc2", 4), kClusters, "", &r, RedTarget::kRefuse, "");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->epoch, 4u);
  EXPECT_EQ(p->source, "dc2");
  EXPECT_EQ(p->target, "dc1");
  EXPECT_FALSE(p->target_red);
}

TEST(PlanOperation, NoActiveClusterIsRefused) {
  auto r = round_of(Health::kGreen, Health::kGreen);
  auto p = plan_operation(active(""), kClusters, "", &r, RedTarget::kRefuse, "");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kNoActive);
}

TEST(PlanOperation, AnUnhealthyOrUnknownSourceIsRefusedWithItsState) {
  auto red = round_of(Health::kRed, Health::kGreen);
  auto p = plan_operation(active("dc1"), kClusters, "", &red, RedTarget::kIfOurRestoreLeftIt, "");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kSourceUnhealthy);
  EXPECT_NE(p.error().message.find("the active cluster dc1 is red"), std::string::npos) << p.error().message;
  // No health round yet: unknown, refused.
  auto none = plan_operation(active("dc1"), kClusters, "", nullptr, RedTarget::kRefuse, "");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("dc1 is unknown"), std::string::npos) << none.error().message;
}

TEST(PlanOperation, AnUnreachableTargetIsRefused) {
  auto r = round_of(Health::kGreen, Health::kUnreachable);
  auto p = plan_operation(active("dc1"), kClusters, "", &r, RedTarget::kIfOurRestoreLeftIt, "dc2");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kTargetUnhealthy);
  EXPECT_NE(p.error().message.find("the passive cluster dc2 is unreachable: not restoring into it"), std::string::npos);
}

TEST(PlanOperation, ARedTargetIsPlannedOnlyForASyncAfterOurOwnFailedRestoreThere) {
  auto r = round_of(Health::kGreen, Health::kRed);
  // A sync, and our failed restore left dc2 red: planned, marked red.
  auto p = plan_operation(active("dc1"), kClusters, "", &r, RedTarget::kIfOurRestoreLeftIt, "dc2");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->target_red);
  // Red for another reason (no failed restore of ours there): refused.
  auto other = plan_operation(active("dc1"), kClusters, "", &r, RedTarget::kIfOurRestoreLeftIt, "");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kTargetUnhealthy);
  EXPECT_NE(other.error().message.find("the passive cluster dc2 is red: not restoring into it"), std::string::npos);
  // A planned move never restores into a red cluster.
  auto planned = plan_operation(active("dc1"), kClusters, "dc2", &r, RedTarget::kRefuse, "dc2");
  ASSERT_FALSE(planned);
  EXPECT_EQ(planned.error().code, ErrorCode::kTargetUnhealthy);
}

TEST(PlanOperation, TheTargetCannotBeTheActiveCluster) {
  auto r = round_of(Health::kGreen, Health::kGreen);
  auto p = plan_operation(active("dc1"), kClusters, "dc1", &r, RedTarget::kRefuse, "");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kAlreadyActive);
}

TEST(HoldRefusal, SaysWhoSinceWhenWhyAndHowToRelease) {
  EXPECT_FALSE(hold_refusal(SyncHold{}));
  SyncHold h{true, "operator ann@h1", "rescue dc2", from_unix_ms(0)};
  auto e = hold_refusal(h);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, ErrorCode::kSyncHeld);
  EXPECT_NE(e->message.find("held by operator ann@h1"), std::string::npos);
  EXPECT_NE(e->message.find("(rescue dc2)"), std::string::npos);
  EXPECT_NE(e->message.find("haesctl sync release"), std::string::npos);
}

TEST(RedIndices, ReadsTheLevelIndicesAnswer) {
  auto red = red_indices_of(
      ok_answer({{"status", "red"},
                 {"indices",
                  {{"orders", {{"status", "red"}}}, {"logs", {{"status", "green"}}}, {"x", {{"status", "red"}}}}}}),
      "dc2");
  ASSERT_TRUE(red);
  EXPECT_EQ(*red, (std::vector<std::string>{"orders", "x"}));
  Answer down;
  down.transport = Error{ErrorCode::kUnreachable, "no node answered"};
  auto e = red_indices_of(down, "dc2");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, ErrorCode::kUnreachable);
}

TEST(RedTargetRule, RedOnlyWhereOurFailedRestoreLeftItAndThisRestoreReplacesIsRestoredOver) {
  EXPECT_TRUE(red_target_check("dc2", {"orders"}, {"orders", "logs"}, {"orders"}));
  EXPECT_TRUE(red_target_check("dc2", {}, {"orders"}, {"orders"}));
}

TEST(RedTargetRule, RedAnywhereElseIsRefusedNamingTheIndices) {
  // Red in an index no restore of ours left red.
  auto e = red_target_check("dc2", {"orders", "local-only"}, {"orders"}, {"orders"});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, ErrorCode::kTargetUnhealthy);
  EXPECT_NE(e.error().message.find("no failed restore of ours left red (local-only)"), std::string::npos)
      << e.error().message;
  // Our failed restore left it red, but this restore does not replace it.
  EXPECT_FALSE(red_target_check("dc2", {"orders"}, {"logs"}, {"orders"}));
  // This restore replaces it, but no failed restore of ours left it red.
  EXPECT_FALSE(red_target_check("dc2", {"orders"}, {"orders"}, {}));
}

TEST(VerifyPoint, NeedsASyncPointRestoredOnAClusterThatIsNotActive) {
  State s = active("dc1");
  auto never = verify_point(s);
  ASSERT_FALSE(never);
  EXPECT_EQ(never.error().code, ErrorCode::kNeverSynced);
  s.last_sync = SyncPoint{"haes-e1-x-dc1", "dc1", "dc2", 1, from_unix_ms(1), from_unix_ms(2)};
  auto ok = verify_point(s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->target, "dc2");
  s.active = "dc2";  // failed over since
  auto now_active = verify_point(s);
  ASSERT_FALSE(now_active);
  EXPECT_EQ(now_active.error().code, ErrorCode::kTargetActive);
}

TEST(WaitVerdict, GoesWhenNothingRunsAndItIsFirstInLine) {
  using namespace std::chrono_literals;
  const SteadyTime t0{};
  const SteadyTime deadline = t0 + 30min;  // sync.timeout
  EXPECT_EQ(wait_verdict(false, true, true, t0 + 1s, deadline), WaitVerdict::kWait);
  EXPECT_EQ(wait_verdict(false, false, true, t0 + 5min, deadline), WaitVerdict::kGo);
  // Another operation waited before this one: it goes first.
  EXPECT_EQ(wait_verdict(false, false, false, t0 + 5min, deadline), WaitVerdict::kWait);
  // Bounded by sync.timeout...
  EXPECT_EQ(wait_verdict(false, true, true, t0 + 30min - 1ms, deadline), WaitVerdict::kWait);
  EXPECT_EQ(wait_verdict(false, true, true, t0 + 30min, deadline), WaitVerdict::kGiveUp);
  EXPECT_EQ(wait_verdict(false, false, false, t0 + 31min, deadline), WaitVerdict::kGiveUp);
  // ...but an operation that may go at its deadline goes.
  EXPECT_EQ(wait_verdict(false, false, true, t0 + 31min, deadline), WaitVerdict::kGo);
  // The agent stopping ends every wait.
  EXPECT_EQ(wait_verdict(true, false, true, t0, deadline), WaitVerdict::kCancelled);
}

}  // namespace
}  // namespace haes::sync
