// Which fenced cluster gets its writes blocked (sync/fence.hpp).
#include "sync/fence.hpp"

#include <gtest/gtest.h>

#include "support/rounds.hpp"

namespace haes::sync {
namespace {

State after_failover() {
  State s;
  s.epoch = 2;
  s.active = "dc2";
  s.fenced = {"dc1"};
  return s;
}

using test::round_of;

TEST(FenceTarget, AFencedClusterThatAnswersIsBlocked) {
  const State s = after_failover();
  for (Health h : {Health::kGreen, Health::kYellow, Health::kRed}) {
    const HealthRound r = round_of(h, Health::kGreen);
    EXPECT_EQ(fence_target(s, &r), std::optional<std::string>("dc1")) << to_string(h);
  }
}

TEST(FenceTarget, AnUnreachableOrUnknownClusterCannotBeBlockedYet) {
  const State s = after_failover();
  for (Health h : {Health::kUnreachable, Health::kUnknown}) {
    const HealthRound r = round_of(h, Health::kGreen);
    EXPECT_EQ(fence_target(s, &r), std::nullopt) << to_string(h);
  }
  EXPECT_EQ(fence_target(s, nullptr), std::nullopt) << "no round yet";
}

TEST(FenceTarget, AlreadyUnderTheMarkerIsNotBlockedAgain) {
  State s = after_failover();
  s.write_block.cluster = "dc1";
  const HealthRound r = round_of(Health::kGreen, Health::kGreen);
  EXPECT_EQ(fence_target(s, &r), std::nullopt);
}

TEST(FenceTarget, AMarkerLeftOnTheActiveClusterIsLiftedFirst) {
  State s = after_failover();
  s.write_block = {"dc2", {}, "operator bob", false};  // an interrupted switchover's block, still to lift
  const HealthRound r = round_of(Health::kGreen, Health::kGreen);
  EXPECT_EQ(fence_target(s, &r), std::nullopt);
  s.write_block = {};
  EXPECT_EQ(fence_target(s, &r), std::optional<std::string>("dc1")) << "once it is lifted";
}

TEST(FenceTarget, NothingWithoutAFencedClusterOrWithoutAnActiveOne) {
  State s = after_failover();
  const HealthRound r = round_of(Health::kGreen, Health::kGreen);
  s.fenced.clear();
  EXPECT_EQ(fence_target(s, &r), std::nullopt) << "an operator unfenced it";
  s = after_failover();
  s.active.clear();
  EXPECT_EQ(fence_target(s, &r), std::nullopt) << "no active cluster: nothing to protect it from";
  s = after_failover();
  s.fenced = {"dc2"};  // inconsistent, never stored: the active cluster is never blocked
  EXPECT_EQ(fence_target(s, &r), std::nullopt);
}

TEST(FenceTarget, AClusterNotInTheRoundIsNotBlocked) {
  State s = after_failover();
  s.fenced = {"dc3"};
  const HealthRound r = round_of(Health::kGreen, Health::kGreen);
  EXPECT_EQ(fence_target(s, &r), std::nullopt);
}

}  // namespace
}  // namespace haes::sync
