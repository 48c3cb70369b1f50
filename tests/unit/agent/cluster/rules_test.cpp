// The rules that keep several agents from ever answering positive for two
// different clusters at once (cluster/rules.hpp), on simulated time.
#include "cluster/rules.hpp"

#include <gtest/gtest.h>

namespace haes::cluster {
namespace {

using namespace std::chrono_literals;

const Steady kT0 = Steady{} + std::chrono::hours(1);

WindowConfig config() { return WindowConfig{1500ms, 100ms}; }

// A simulated agent: when it read the state, what it learned when.
struct Agent {
  std::string name;
  ViewClock clock;
  std::string active;
  // A read that started at `start` and ended at `end` and returned `active`.
  void read(Steady start, Steady end, const std::string& seen_active) {
    clock.confirmed_at = start;
    if (seen_active != active || !clock.learned_at) {
      active = seen_active;
      clock.learned_at = end;
    }
  }
  bool positive_for(const std::string& cluster, Steady now) const {
    return active == cluster && window_for(clock, config()).open_at(now);
  }
};

TEST(Window, ClosesStaleAfterTheLastConfirmedReadStarted) {
  Agent a{"a1"};
  a.read(kT0, kT0 + 10ms, "dc1");
  EXPECT_FALSE(a.positive_for("dc1", kT0 + 1s)) << "a new view waits stale_after before it is positive";
  a.read(kT0 + 1s, kT0 + 1010ms, "dc1");
  EXPECT_FALSE(a.positive_for("dc1", kT0 + 10ms + 1600ms - 1ms));
  EXPECT_TRUE(a.positive_for("dc1", kT0 + 10ms + 1600ms));
  // Reads keep it open...
  a.read(kT0 + 1500ms, kT0 + 1510ms, "dc1");
  EXPECT_TRUE(a.positive_for("dc1", kT0 + 2800ms));
  // ...and without one, it closes stale_after - margin after the last one started.
  EXPECT_FALSE(a.positive_for("dc1", kT0 + 1500ms + 1400ms));
  auto w = window_for(a.clock, config());
  EXPECT_NE(window_text(w, a.clock, kT0 + 3s).find("no confirmed view of the shared state for 1.5s"), std::string::npos)
      << window_text(w, a.clock, kT0 + 3s);
}

TEST(Window, NeverReadMeansNeverPositive) {
  ViewClock never;
  EXPECT_FALSE(window_for(never, config()).open_at(kT0));
  EXPECT_EQ(window_text(window_for(never, config()), never, kT0), "has not read the shared state yet");
}

// The property the design promises: whatever the read timings, an agent
// that learns a role change and one that still holds the old epoch are
// never both positive for different clusters. Simulated over many
// interleavings of reads around a commit at time T.
TEST(Window, NoTwoAgentsArePositiveForDifferentClustersAtAnyInstant) {
  for (int before = 0; before < 40; ++before) {  // B's last read before the commit
    for (int after = 1; after < 40; ++after) {   // A's first read after the commit
      for (int len = 0; len < 5; ++len) {        // how long reads take
        const Steady commit = kT0 + 10s;
        Agent a{"a1"}, b{"a2"};
        // Both held dc1 for long.
        a.read(kT0, kT0, "dc1");
        b.read(kT0, kT0, "dc1");
        for (Steady t = kT0 + 250ms; t < commit - std::chrono::milliseconds(before * 37); t += 250ms) {
          a.read(t, t + std::chrono::milliseconds(len * 40), "dc1");
          b.read(t, t + std::chrono::milliseconds(len * 40), "dc1");
        }
        // B is cut off just before the commit; its last read started before it.
        const Steady b_last = commit - std::chrono::milliseconds(before * 37 + 1);
        b.read(b_last, b_last, "dc1");
        // A reads after the commit (its read may have started before it,
        // but it ended after, and returned the new active cluster).
        const Steady a_start = commit - std::chrono::milliseconds(len * 30);
        const Steady a_end = commit + std::chrono::milliseconds(after * 29);
        a.read(a_start, a_end, "dc2");
        for (Steady t = a_end; t < commit + 5s; t += 250ms) {
          a.read(t, t + std::chrono::milliseconds(len * 40), "dc2");
        }
        for (Steady now = commit - 1s; now < commit + 5s; now += 5ms) {
          ASSERT_FALSE(a.positive_for("dc2", now) && b.positive_for("dc1", now))
              << "overlap at " << std::chrono::duration_cast<std::chrono::milliseconds>(now - commit).count()
              << "ms after the commit (before=" << before << " after=" << after << " len=" << len << ")";
        }
      }
    }
  }
}

TEST(Failsafe, EveryOtherMemberMustConfirmEtcdIsDownForAll) {
  std::vector<std::string> members = {"a2", "a3"};
  auto down = [](const std::string& n) { return PeerAnswer{n, n, true, "", false, 5, "dc1"}; };
  EXPECT_TRUE(failsafe(members, {down("a2"), down("a3")}, 5, "dc1").confirmed);
  auto one_reaches = down("a3");
  one_reaches.store_reachable = true;
  auto r = failsafe(members, {down("a2"), one_reaches}, 5, "dc1");
  EXPECT_FALSE(r.confirmed);
  EXPECT_EQ(r.text, "member a3 reaches etcd");
  r = failsafe(members, {down("a2")}, 5, "dc1");
  EXPECT_FALSE(r.confirmed) << "a member that does not answer may be the one changing the roles";
  EXPECT_EQ(r.text, "member a3 did not answer");
  auto newer = down("a2");
  newer.epoch = 6;
  newer.active = "dc2";
  r = failsafe(members, {newer, down("a3")}, 5, "dc1");
  EXPECT_FALSE(r.confirmed);
  EXPECT_NE(r.text.find("member a2 holds epoch 6, active dc2"), std::string::npos);
  EXPECT_FALSE(failsafe({}, {}, 5, "dc1").confirmed) << "alone, an agent cannot tell etcd down from itself cut off";
}

TEST(Failsafe, AnAnswerFromAnotherAgentThanTheOneAskedConfirmsNothing) {
  // a3 advertised http://0.0.0.0:9500: asking it reaches the asker, a1,
  // whose own answer (no etcd, same epoch) must not stand in for a3's.
  std::vector<std::string> members = {"a2", "a3"};
  PeerAnswer a2{"a2", "a2", true, "", false, 5, "dc1"};
  PeerAnswer a3{"a3", "a1", true, "", false, 5, "dc1"};
  auto r = failsafe(members, {a2, a3}, 5, "dc1");
  EXPECT_FALSE(r.confirmed);
  EXPECT_EQ(r.text, "member a3's peer URL answered as a1 (its health.advertise_url must reach it)");
  a3.answered_as = "";
  EXPECT_FALSE(failsafe(members, {a2, a3}, 5, "dc1").confirmed) << "an answer without a name is no one's";
}

TEST(Confirm, OneAgentsBrokenNetworkNeverMovesThePair) {
  std::vector<AgentSeen> live = {{"a1", 3, false, true}, {"a2", 0, false, false}, {"a3", 0, false, false}};
  auto c = confirm("dc1", live, 3, 2);
  EXPECT_FALSE(c.satisfied);
  EXPECT_EQ(c.text, "1 of 3 live agent(s) see dc1 bad (a1: unreachable); 2 needed");
  live[1] = {"a2", 4, false, true};
  EXPECT_TRUE(confirm("dc1", live, 3, 2).satisfied) << "unreachable from two: failover";
}

TEST(Confirm, TwoBadRoundsAreNotEnoughAndALoneAgentDecidesAlone) {
  std::vector<AgentSeen> live = {{"a1", 3, true, false}, {"a2", 2, true, false}};
  EXPECT_FALSE(confirm("dc1", live, 3, 2).satisfied);
  live[1].bad_rounds = 3;
  EXPECT_TRUE(confirm("dc1", live, 3, 2).satisfied);
  auto alone = confirm("dc1", {{"a1", 3, true, false}}, 3, 2);
  EXPECT_TRUE(alone.satisfied);
  EXPECT_EQ(alone.needed, 1);
}

}  // namespace
}  // namespace haes::cluster
