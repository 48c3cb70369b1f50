#include "verdict/builder.hpp"

#include <gtest/gtest.h>

namespace haes {
namespace {

class VerdictRule : public ::testing::Test {
 protected:
  VerdictRule() {
    state_.epoch = 7;
    state_.active = "dc1";
    inputs_.state = &state_;
    inputs_.clusters = {{"dc1", {"es1", "es2"}}, {"dc2", {"es1", "es2"}}};
    inputs_.fail_threshold = 3;
  }

  void observe(const std::string& cluster, Health health, std::vector<Health> nodes, const std::string& reason = "") {
    ClusterObservation c;
    c.name = cluster;
    c.health = health;
    c.reason = reason;
    int i = 1;
    for (Health h : nodes) {
      NodeObservation n;
      n.name = "es" + std::to_string(i++);
      n.health = h;
      if (h == Health::kUnreachable) {
        n.failure = ProbeFailure::kConnect;
        n.reason = "connect refused";
      }
      c.nodes.push_back(n);
    }
    round_.clusters.push_back(c);
    round_.seq = 42;
    inputs_.round = &round_;
  }

  Verdict build() { return build_verdict(inputs_); }

  State state_;
  HealthRound round_;
  VerdictInputs inputs_;
};

TEST_F(VerdictRule, TheHealthyActiveClusterTakesTrafficAndThePassiveDoesNot) {
  observe("dc1", Health::kGreen, {Health::kGreen, Health::kGreen});
  observe("dc2", Health::kGreen, {Health::kGreen, Health::kGreen});
  Verdict v = build();
  EXPECT_TRUE(v.allow);
  EXPECT_EQ(v.cluster, "dc1");
  EXPECT_EQ(v.epoch, 7u);
  EXPECT_EQ(v.round_seq, 42u);
  EXPECT_TRUE(v.find_node("dc1", "es1")->may_take_traffic);
  EXPECT_FALSE(v.find_node("dc2", "es1")->may_take_traffic);
  EXPECT_EQ(v.find_node("dc2", "es2")->reason, "passive: dc1 is active (epoch 7)");
}

TEST_F(VerdictRule, BeforeTheFirstRoundTheStoredRoleIsTrusted) {
  Verdict v = build();
  EXPECT_TRUE(v.allow);
  EXPECT_EQ(v.cluster, "dc1");
  EXPECT_EQ(v.round_seq, 0u);
  EXPECT_EQ(v.find_cluster("dc1")->health, Health::kUnknown);
}

TEST_F(VerdictRule, OneOrTwoBadRoundsChangeNoVerdictThreeDo) {
  observe("dc1", Health::kRed, {Health::kRed, Health::kRed}, "2/2 nodes report red");
  for (int streak : {1, 2}) {
    inputs_.streaks = {{"dc1", streak}};
    EXPECT_TRUE(build().allow) << streak;
  }
  inputs_.streaks = {{"dc1", 3}};
  Verdict v = build();
  EXPECT_FALSE(v.allow);
  EXPECT_EQ(v.cluster, "");
  EXPECT_EQ(v.find_cluster("dc1")->reason, "active but red for 3 rounds: 2/2 nodes report red");
  EXPECT_EQ(v.reason, "no cluster may take traffic: dc1 is active but red for 3 rounds: 2/2 nodes report red");
  EXPECT_FALSE(v.find_node("dc1", "es1")->may_take_traffic);
}

TEST_F(VerdictRule, AnUnreachableNodeIsOutButItsClusterStaysIn) {
  observe("dc1", Health::kGreen, {Health::kGreen, Health::kUnreachable});
  Verdict v = build();
  EXPECT_TRUE(v.allow);
  EXPECT_TRUE(v.find_node("dc1", "es1")->may_take_traffic);
  EXPECT_FALSE(v.find_node("dc1", "es2")->may_take_traffic);
  EXPECT_EQ(v.find_node("dc1", "es2")->reason, "node unreachable: connect refused");
}

TEST_F(VerdictRule, AFencedClusterNeverTakesTrafficAndSaysWhatToDo) {
  state_.active = "dc2";
  state_.fenced = {"dc1"};
  observe("dc1", Health::kGreen, {Health::kGreen, Health::kGreen});
  observe("dc2", Health::kGreen, {Health::kGreen, Health::kGreen});
  Verdict v = build();
  EXPECT_EQ(v.cluster, "dc2");
  EXPECT_FALSE(v.find_cluster("dc1")->may_take_traffic);
  EXPECT_TRUE(v.find_cluster("dc1")->fenced);
  EXPECT_NE(v.find_node("dc1", "es1")->reason.find("fenced"), std::string::npos);
  EXPECT_NE(v.find_node("dc1", "es1")->reason.find("haesctl failback"), std::string::npos);
}

TEST_F(VerdictRule, NoActiveRoleMeansNobodyTakesTraffic) {
  state_.active.clear();
  Verdict v = build();
  EXPECT_FALSE(v.allow);
  EXPECT_EQ(v.reason, "no cluster may take traffic: none holds the active role (epoch 7)");
}

TEST_F(VerdictRule, AnActiveClusterMissingFromTheConfigIsNamed) {
  state_.active = "dc9";
  Verdict v = build();
  EXPECT_FALSE(v.allow);
  EXPECT_EQ(v.reason, "no cluster may take traffic: the active cluster dc9 is not in the configuration");
}

TEST_F(VerdictRule, AtMostOneClusterEverMayTakeTraffic) {
  for (Health h1 : {Health::kGreen, Health::kYellow, Health::kRed, Health::kUnreachable}) {
    for (Health h2 : {Health::kGreen, Health::kYellow, Health::kRed, Health::kUnreachable}) {
      round_.clusters.clear();
      observe("dc1", h1, {h1, h1});
      observe("dc2", h2, {h2, h2});
      Verdict v = build();
      int taking = 0;
      for (const auto& c : v.clusters) {
        taking += c.may_take_traffic ? 1 : 0;
      }
      EXPECT_LE(taking, 1);
      EXPECT_EQ(v.allow, taking == 1);
    }
  }
}

}  // namespace
}  // namespace haes
