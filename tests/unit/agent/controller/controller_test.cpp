// One test per rule of docs/failover.md, on simulated time.
#include "controller/controller.hpp"

#include <gtest/gtest.h>

namespace haes {
namespace {

using namespace std::chrono_literals;

// The agent's loop around the controller, on simulated time.
struct Sim {
  Sim() : ctl_(ControllerConfig{{"dc1", "dc2"}, "dc1", 3, 5min, true}) {
    state_.epoch = 1;
    state_.active = "dc1";
    state_.revision = 1;
  }

  // One round at the current simulated time; applies `next` like the agent
  // would after a successful compare-and-swap. Time moves 1 s per round.
  Decision round(Health dc1, Health dc2, const std::string& reason1 = "") {
    HealthRound r;
    r.seq = ++seq_;
    r.at = now_;
    r.clusters = {{"dc1", dc1, reason1, {}}, {"dc2", dc2, "", {}}};
    last_round_ = r;
    Decision d = ctl_.on_round(state_, r, now_);
    apply(d);
    now_ += 1s;
    return d;
  }

  Decision command(CommandKind kind, std::string target = "", bool force = false, bool dry = false) {
    Command c;
    c.kind = kind;
    c.target = std::move(target);
    c.force = force;
    c.dry_run = dry;
    c.actor = "operator alice@ops1";
    Decision d = ctl_.on_command(state_, c, seq_ ? &last_round_ : nullptr, now_);
    apply(d);
    return d;
  }

  void apply(const Decision& d) {
    if (d.next) {
      uint64_t rev = state_.revision;
      state_ = *d.next;
      state_.revision = rev + 1;
    }
    for (const auto& e : d.events) {
      events_.push_back(e);
    }
  }

  int count(EventKind kind) const {
    int n = 0;
    for (const auto& e : events_) {
      n += e.kind == kind ? 1 : 0;
    }
    return n;
  }

  FailoverController ctl_;
  State state_;
  HealthRound last_round_;
  std::vector<Event> events_;
  SysTime now_ = from_unix_ms(1'795'000'000'000);
  uint64_t seq_ = 0;
};

class Rules : public ::testing::Test, public Sim {};

TEST_F(Rules, TwoBadRoundsAreNotEnoughThreeAre) {
  EXPECT_FALSE(round(Health::kRed, Health::kGreen).next);
  EXPECT_FALSE(round(Health::kRed, Health::kGreen).next);
  EXPECT_EQ(state_.active, "dc1");
  Decision d = round(Health::kRed, Health::kGreen);
  ASSERT_TRUE(d.roles_changed());
  EXPECT_EQ(d.transition, Transition::kFailover);
  EXPECT_EQ(state_.active, "dc2");
  EXPECT_EQ(state_.epoch, 2u);
  EXPECT_EQ(state_.changed_by, "controller");
}

TEST_F(Rules, ABlipResetsTheStreak) {
  round(Health::kUnreachable, Health::kGreen);
  round(Health::kUnreachable, Health::kGreen);
  round(Health::kGreen, Health::kGreen);  // one good round
  round(Health::kUnreachable, Health::kGreen);
  round(Health::kUnreachable, Health::kGreen);
  EXPECT_EQ(state_.active, "dc1");
  EXPECT_EQ(ctl_.bad_rounds("dc1"), 2);
  EXPECT_TRUE(events_.empty());
}

TEST_F(Rules, YellowIsNotBad) {
  for (int i = 0; i < 10; ++i) {
    round(Health::kYellow, Health::kGreen);
  }
  EXPECT_EQ(state_.active, "dc1");
  EXPECT_EQ(ctl_.bad_rounds("dc1"), 0);
}

TEST_F(Rules, UnknownHealthIsNeitherGoodNorBad) {
  round(Health::kRed, Health::kGreen);
  round(Health::kUnknown, Health::kGreen);  // not probed: neither resets nor counts
  EXPECT_EQ(ctl_.bad_rounds("dc1"), 1);
  round(Health::kRed, Health::kGreen);
  round(Health::kRed, Health::kGreen);
  EXPECT_EQ(state_.active, "dc2");
}

TEST_F(Rules, RedIsNotUnreachableInTheReason) {
  for (int i = 0; i < 3; ++i) {
    round(Health::kRed, Health::kGreen, "2/2 nodes report red");
  }
  EXPECT_EQ(state_.reason, "dc1 reports red for 3 rounds (2/2 nodes report red)");
  Sim other;
  for (int i = 0; i < 3; ++i) {
    other.round(Health::kUnreachable, Health::kGreen, "2/2 nodes: connect refused");
  }
  EXPECT_EQ(other.state_.reason, "dc1 is unreachable from here for 3 rounds (2/2 nodes: connect refused)");
  Sim mixed;
  mixed.round(Health::kRed, Health::kGreen);
  mixed.round(Health::kUnreachable, Health::kGreen);
  mixed.round(Health::kRed, Health::kGreen);
  EXPECT_EQ(mixed.state_.reason.rfind("dc1 is red or unreachable for 3 rounds", 0), 0u);
}

TEST_F(Rules, OnlyIfThePassiveClusterIsGreenOrYellow) {
  for (int i = 0; i < 3; ++i) {
    round(Health::kRed, Health::kYellow);
  }
  EXPECT_EQ(state_.active, "dc2");  // yellow is a valid target
}

TEST_F(Rules, BothBadMeansNoTransitionAndOneEvent) {
  for (int i = 0; i < 20; ++i) {
    EXPECT_FALSE(round(Health::kRed, Health::kUnreachable).roles_changed());
  }
  EXPECT_EQ(state_.active, "dc1");
  EXPECT_EQ(state_.epoch, 1u);
  EXPECT_EQ(count(EventKind::kFailoverImpossible), 1);
  EXPECT_EQ(ctl_.view(state_, &last_round_, now_).blocker, Blocker::kNoHealthyTarget);
}

TEST_F(Rules, NoFailoverWhilePausedAndOneNotice) {
  command(CommandKind::kPause);
  for (int i = 0; i < 10; ++i) {
    round(Health::kRed, Health::kGreen);
  }
  EXPECT_EQ(state_.active, "dc1");
  EXPECT_EQ(count(EventKind::kFailoverBlocked), 1);
  EXPECT_NE(events_.back().message.find("paused by operator alice@ops1"), std::string::npos);
  // Resumed while dc1 is still red: the robot acts on the next round.
  command(CommandKind::kResume);
  round(Health::kRed, Health::kGreen);
  EXPECT_EQ(state_.active, "dc2");
}

TEST_F(Rules, PauseIsStoredWithWhoWhyAndExpiry) {
  Command c;
  c.kind = CommandKind::kPause;
  c.reason = "disk swap on dc2";
  c.for_duration = 10min;
  c.actor = "operator bob@ops2";
  apply(ctl_.on_command(state_, c, nullptr, now_));
  EXPECT_TRUE(state_.pause.paused);
  EXPECT_EQ(state_.pause.by, "operator bob@ops2");
  EXPECT_EQ(state_.pause.reason, "disk swap on dc2");
  EXPECT_EQ(state_.pause.until, now_ + 10min);
}

TEST_F(Rules, PauseExpiresOnTheNextRound) {
  Command c;
  c.kind = CommandKind::kPause;
  c.for_duration = 2s;
  c.actor = "operator bob@ops2";
  apply(ctl_.on_command(state_, c, nullptr, now_));
  round(Health::kGreen, Health::kGreen);  // t+0: still paused
  EXPECT_TRUE(state_.pause.paused);
  round(Health::kGreen, Health::kGreen);               // t+1
  Decision d = round(Health::kGreen, Health::kGreen);  // t+2: expired
  ASSERT_TRUE(d.next);
  EXPECT_FALSE(state_.pause.paused);
  EXPECT_EQ(events_.back().kind, EventKind::kResume);
  EXPECT_EQ(events_.back().actor, "controller");
}

TEST_F(Rules, HeldDownAfterAnyTransitionUntilAck) {
  round(Health::kGreen, Health::kGreen);
  command(CommandKind::kSwitchover, "dc2");
  EXPECT_EQ(state_.hold_down_until, now_ + 5min);
  for (int i = 0; i < 5; ++i) {
    round(Health::kGreen, Health::kRed);  // dc2 (active) red: robot held down
  }
  EXPECT_EQ(state_.active, "dc2");
  EXPECT_EQ(count(EventKind::kFailoverBlocked), 1);
  ControllerView v = ctl_.view(state_, &last_round_, now_);
  EXPECT_EQ(v.blocker, Blocker::kHeldDown);
  EXPECT_EQ(v.text.rfind("blocked until ", 0), 0u);
  command(CommandKind::kAck);
  EXPECT_EQ(to_unix_ms(state_.hold_down_until), 0);
  round(Health::kGreen, Health::kRed);
  EXPECT_EQ(state_.active, "dc1");  // a planned switchover left dc1 unfenced: a valid target
}

TEST_F(Rules, HoldDownEndsByItself) {
  round(Health::kGreen, Health::kGreen);
  command(CommandKind::kSwitchover, "dc2");
  now_ += 5min;
  for (int i = 0; i < 3; ++i) {
    round(Health::kGreen, Health::kRed);
  }
  EXPECT_EQ(state_.active, "dc1");
}

TEST_F(Rules, OperatorIsNeverHeldDownNorPaused) {
  round(Health::kGreen, Health::kGreen);
  command(CommandKind::kPause);
  command(CommandKind::kSwitchover, "dc2");  // sets a hold-down
  round(Health::kGreen, Health::kGreen);
  Decision d = command(CommandKind::kFailback);
  EXPECT_TRUE(d.ok) << d.reply;
  EXPECT_EQ(state_.active, "dc1");
  EXPECT_EQ(state_.epoch, 3u);
}

TEST_F(Rules, NeverFailsBackByItself) {
  for (int i = 0; i < 3; ++i) {
    round(Health::kRed, Health::kGreen);
  }
  ASSERT_EQ(state_.active, "dc2");
  now_ += 1h;  // long past the hold-down
  for (int i = 0; i < 20; ++i) {
    round(Health::kGreen, Health::kRed);  // dc1 healthy again, dc2 now red
  }
  EXPECT_EQ(state_.active, "dc2");
  EXPECT_EQ(state_.epoch, 2u);
  EXPECT_EQ(count(EventKind::kFailoverImpossible), 1);  // dc1 is fenced: not a target
}

TEST_F(Rules, FencedClusterIsNeverAnAutomaticTargetUntilAnOperatorActs) {
  for (int i = 0; i < 3; ++i) {
    round(Health::kRed, Health::kGreen);
  }
  EXPECT_TRUE(state_.is_fenced("dc1"));
  round(Health::kGreen, Health::kGreen);
  command(CommandKind::kFailback);
  EXPECT_EQ(state_.active, "dc1");
  EXPECT_FALSE(state_.is_fenced("dc1"));
}

TEST_F(Rules, FailbackReturnsOnlyWhenThePreferredClusterIsHealthy) {
  for (int i = 0; i < 3; ++i) {
    round(Health::kRed, Health::kGreen);
  }
  Decision d = command(CommandKind::kFailback);
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.code, ErrorCode::kUnhealthyTarget);
  EXPECT_EQ(state_.active, "dc2");
  EXPECT_EQ(count(EventKind::kRefused), 1);
  round(Health::kYellow, Health::kGreen);
  EXPECT_TRUE(command(CommandKind::kFailback).ok);
  EXPECT_EQ(state_.active, "dc1");
}

TEST_F(Rules, SwitchoverRefusesAnUnhealthyUnknownOrActiveTarget) {
  round(Health::kGreen, Health::kRed);
  EXPECT_EQ(command(CommandKind::kSwitchover, "dc2").code, ErrorCode::kUnhealthyTarget);
  EXPECT_EQ(command(CommandKind::kSwitchover, "dc9").code, ErrorCode::kUsage);
  EXPECT_EQ(command(CommandKind::kSwitchover, "dc1").code, ErrorCode::kAlreadyActive);
  EXPECT_EQ(state_.epoch, 1u);
}

TEST_F(Rules, HealthGatedCommandsWaitForTheFirstRound) {
  Decision d = command(CommandKind::kSwitchover, "dc2");
  EXPECT_EQ(d.code, ErrorCode::kNoHealthYet);
  EXPECT_TRUE(command(CommandKind::kFailover, "dc2", /*force=*/true).ok);
}

TEST_F(Rules, ForcedFailoverSaysSoInTheEvent) {
  round(Health::kGreen, Health::kRed);
  EXPECT_EQ(command(CommandKind::kFailover, "dc2").code, ErrorCode::kUnhealthyTarget);
  Decision d = command(CommandKind::kFailover, "dc2", /*force=*/true);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.transition, Transition::kForcedFailover);
  EXPECT_NE(events_.back().message.find("forced: dc2 was red"), std::string::npos) << events_.back().message;
  EXPECT_TRUE(state_.is_fenced("dc1"));  // an abandoned cluster is fenced
}

TEST_F(Rules, PlannedSwitchoverLeavesTheOldActiveAsANormalPassive) {
  round(Health::kGreen, Health::kGreen);
  command(CommandKind::kSwitchover, "dc2");
  EXPECT_FALSE(state_.is_fenced("dc1"));
}

TEST_F(Rules, DryRunChangesNothing) {
  round(Health::kGreen, Health::kGreen);
  for (CommandKind k : {CommandKind::kSwitchover, CommandKind::kFailover, CommandKind::kPause}) {
    Decision d = command(k, "dc2", false, /*dry=*/true);
    EXPECT_TRUE(d.ok);
    EXPECT_FALSE(d.next);
    EXPECT_TRUE(d.events.empty());
    EXPECT_EQ(d.reply.rfind("dry run: would", 0), 0u) << d.reply;
  }
  EXPECT_EQ(state_.epoch, 1u);
  EXPECT_FALSE(state_.pause.paused);
}

TEST_F(Rules, EpochIncrementsOnEveryRoleChangeAndOnlyThen) {
  round(Health::kGreen, Health::kGreen);
  command(CommandKind::kPause);
  command(CommandKind::kResume);
  command(CommandKind::kAck);
  EXPECT_EQ(state_.epoch, 1u);
  command(CommandKind::kSwitchover, "dc2");
  EXPECT_EQ(state_.epoch, 2u);
  command(CommandKind::kFailback);
  EXPECT_EQ(state_.epoch, 3u);
}

TEST_F(Rules, GreenPreferredOverYellowTarget) {
  FailoverController three(ControllerConfig{{"dc1", "dc2", "dc3"}, "dc1", 1, 0s, true});
  HealthRound r;
  r.clusters = {{"dc1", Health::kRed, "", {}}, {"dc2", Health::kYellow, "", {}}, {"dc3", Health::kGreen, "", {}}};
  Decision d = three.on_round(state_, r, now_);
  ASSERT_TRUE(d.next);
  EXPECT_EQ(d.next->active, "dc3");
}

TEST_F(Rules, AutomaticOffMeansOnlyOperators) {
  FailoverController manual(ControllerConfig{{"dc1", "dc2"}, "dc1", 1, 0s, false});
  HealthRound r;
  r.clusters = {{"dc1", Health::kRed, "", {}}, {"dc2", Health::kGreen, "", {}}};
  Decision d = manual.on_round(state_, r, now_);
  EXPECT_FALSE(d.next);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_NE(d.events[0].message.find("failover.automatic: false"), std::string::npos);
}

TEST_F(Rules, ResumeAndAckAreIdempotent) {
  EXPECT_EQ(command(CommandKind::kResume).reply, "automatic failover was not paused");
  EXPECT_EQ(command(CommandKind::kAck).reply, "nothing to acknowledge: automatic failover is not held down");
  EXPECT_TRUE(events_.empty());
}

// Several agents: the peers' confirmation decides, not this agent's streak.
TEST_F(Rules, WithPeersTheConfirmationDecidesNotTheOwnStreak) {
  HealthRound r;
  r.clusters = {{"dc1", Health::kUnreachable, "", {}}, {"dc2", Health::kGreen, "", {}}};
  PeerConfirmation one{false, "1 of 3 live agent(s) see dc1 bad (a1: unreachable); 2 needed"};
  for (int i = 0; i < 5; ++i) {
    ctl_.observe(r);
    Decision d = ctl_.evaluate(state_, r, now_, &one);
    EXPECT_FALSE(d.next) << "round " << i << ": one agent's broken network never moves the pair";
  }
  ControllerView v = ctl_.view(state_, &r, now_, &one);
  EXPECT_EQ(v.blocker, Blocker::kUnconfirmed);
  EXPECT_NE(v.text.find("not confirmed: 1 of 3"), std::string::npos);
  PeerConfirmation two{true, "2 of 3 live agent(s) see dc1 bad (a1: unreachable, a2: unreachable); 2 needed"};
  Decision d = ctl_.evaluate(state_, r, now_, &two);
  ASSERT_TRUE(d.next);
  EXPECT_EQ(d.next->active, "dc2");
  EXPECT_NE(d.next->reason.find("confirmed: 2 of 3"), std::string::npos) << d.next->reason;
}

TEST_F(Rules, APeerConfirmationDoesNotBypassPauseOrHoldDown) {
  state_.pause = PauseInfo{true, "operator bob", "", now_, {}};
  HealthRound r;
  r.clusters = {{"dc1", Health::kRed, "", {}}, {"dc2", Health::kGreen, "", {}}};
  PeerConfirmation yes{true, "3 of 3"};
  ctl_.observe(r);
  EXPECT_FALSE(ctl_.evaluate(state_, r, now_, &yes).next);
}

}  // namespace
}  // namespace haes
