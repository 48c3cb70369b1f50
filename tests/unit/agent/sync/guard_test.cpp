// The rule every Elasticsearch step of the sync passes first: the agent not
// stopping, roles as planned, syncs not held, and (automatic operations)
// this agent allowed to run automatic work, or the step is not sent — and
// the refusal says what was not touched.
#include "sync/guard.hpp"

#include <gtest/gtest.h>

namespace haes::sync {
namespace {

Plan planned() {
  Plan p;
  p.epoch = 3;
  p.source = "dc1";
  p.target = "dc2";
  return p;
}

State now(uint64_t epoch, const std::string& active) {
  State s;
  s.epoch = epoch;
  s.active = active;
  return s;
}

WriteIntent restore_on_dc2() { return WriteIntent{SyncWrite::kRestore, "dc2", "restoring haes-e3-x"}; }

TEST(Guard, RolesAsPlannedAndNoHoldLetsEveryWriteThrough) {
  for (SyncWrite k : enum_values<SyncWrite>()) {
    const std::string cluster = k == SyncWrite::kSnapshot || k == SyncWrite::kBlockWrites ? "dc1" : "dc2";
    EXPECT_FALSE(guard_check(planned(), now(3, "dc1"), WriteIntent{k, cluster, "x"}, {})) << to_string(k);
  }
}

TEST(Guard, ANewEpochRefusesEvenWithTheSameActiveCluster) {
  // Failed over to dc2 and back to dc1 meanwhile: not the roles planned in.
  auto e = guard_check(planned(), now(5, "dc1"), restore_on_dc2(), {});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, ErrorCode::kRolesChanged);
  EXPECT_EQ(e->message,
            "roles changed (epoch 3 -> 5, active dc1 -> dc1): stopped before restoring haes-e3-x on dc2; "
            "dc2 was not touched");
}

TEST(Guard, ANewActiveClusterRefusesEveryWriteAndSaysWhatWasAlreadyDone) {
  std::vector<WriteIntent> sent{{SyncWrite::kRepository, "dc2", "registering repository haes"},
                                {SyncWrite::kSnapshot, "dc1", "snapshot haes-e3-x"},
                                {SyncWrite::kScratchRestore, "dc2", "restoring haes-e3-x under scratch names"}};
  for (SyncWrite k : enum_values<SyncWrite>()) {
    auto e = guard_check(planned(), now(4, "dc2"), WriteIntent{k, "dc2", "deleting haes-verify-orders"}, sent);
    ASSERT_TRUE(e) << to_string(k);
    EXPECT_EQ(e->code, ErrorCode::kRolesChanged);
  }
  auto e = guard_check(planned(), now(4, "dc2"), WriteIntent{SyncWrite::kScratchDelete, "dc2", "deleting x"}, sent);
  EXPECT_EQ(e->message,
            "roles changed (epoch 3 -> 4, active dc1 -> dc2): stopped before deleting x on dc2; already done on dc2: "
            "restoring haes-e3-x under scratch names");
  auto none = guard_check(planned(), now(4, ""), restore_on_dc2(), {});
  EXPECT_NE(none->message.find("active dc1 -> none"), std::string::npos);
}

TEST(Guard, AHoldRefusesEveryWriteButGivingTheActiveClusterItsWritesBack) {
  State s = now(3, "dc1");
  s.sync_hold = SyncHold{true, "operator ann@h", "rescue", from_unix_ms(0)};
  auto e = guard_check(planned(), s, restore_on_dc2(), {});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, ErrorCode::kSyncHeld);
  EXPECT_NE(e->message.find("syncs are held by operator ann@h"), std::string::npos);
  EXPECT_NE(e->message.find("stopped before restoring haes-e3-x on dc2; dc2 was not touched"), std::string::npos);
  for (SyncWrite k : enum_values<SyncWrite>()) {
    const bool refused = guard_check(planned(), s, WriteIntent{k, "dc1", "x"}, {}).has_value();
    EXPECT_EQ(refused, k != SyncWrite::kUnblockWrites) << to_string(k);
  }
  // Roles changed and held: the role change is what is reported.
  State moved = s;
  moved.epoch = 4;
  moved.active = "dc2";
  EXPECT_EQ(guard_check(planned(), moved, WriteIntent{SyncWrite::kUnblockWrites, "dc1", "x"}, {})->code,
            ErrorCode::kRolesChanged);
}

TEST(Guard, NeverSendsARestoreCloseOrScratchWriteToTheActiveCluster) {
  Plan bad = planned();
  bad.target = "dc1";  // a planning error
  for (SyncWrite k : {SyncWrite::kClose, SyncWrite::kRestore, SyncWrite::kScratchRestore, SyncWrite::kScratchDelete}) {
    auto e = guard_check(bad, now(3, "dc1"), WriteIntent{k, "dc1", "x"}, {});
    ASSERT_TRUE(e) << to_string(k);
    EXPECT_EQ(e->code, ErrorCode::kInternal);
  }
}

TEST(Guard, StoppingRefusesEveryStepFirst) {
  GuardContext stopping{true, {}};
  State moved = now(4, "dc2");
  moved.sync_hold = SyncHold{true, "operator ann@h", "rescue", from_unix_ms(0)};
  for (SyncWrite k : enum_values<SyncWrite>()) {
    // Even a rollback's unblock: after stop() no request is sent at all.
    auto e = guard_check(planned(), now(3, "dc1"), WriteIntent{k, "dc1", "x"}, {}, stopping);
    ASSERT_TRUE(e) << to_string(k);
    EXPECT_EQ(e->code, ErrorCode::kCancelled);
    // Stopping wins over moved roles and a hold: nothing else matters then.
    EXPECT_EQ(guard_check(planned(), moved, WriteIntent{k, "dc2", "x"}, {}, stopping)->code, ErrorCode::kCancelled);
  }
  auto e = guard_check(planned(), now(3, "dc1"), restore_on_dc2(), {}, stopping);
  EXPECT_EQ(e->message, "the agent is stopping: stopped before restoring haes-e3-x on dc2; dc2 was not touched");
  EXPECT_EQ(read_check(planned(), now(3, "dc1"), "dc2", "counting orders", {}, stopping)->code, ErrorCode::kCancelled);
}

TEST(Guard, MayRunIsAskedForAutomaticOperationsOnly) {
  int asked = 0;
  std::optional<std::string> answer = "agent-b is not the leader (agent-a is)";
  GuardContext ctx{false, [&]() {
                     ++asked;
                     return answer;
                   }};
  // An operator's operation: never asked.
  EXPECT_FALSE(guard_check(planned(), now(3, "dc1"), restore_on_dc2(), {}, ctx));
  EXPECT_EQ(asked, 0);
  Plan automatic = planned();
  automatic.automatic = true;
  for (SyncWrite k : enum_values<SyncWrite>()) {
    const std::string cluster = k == SyncWrite::kSnapshot || k == SyncWrite::kBlockWrites ? "dc1" : "dc2";
    auto e = guard_check(automatic, now(3, "dc1"), WriteIntent{k, cluster, "x"}, {}, ctx);
    ASSERT_TRUE(e) << to_string(k);
    EXPECT_EQ(e->code, ErrorCode::kNotPermitted) << to_string(k);
  }
  auto e = guard_check(automatic, now(3, "dc1"), restore_on_dc2(), {{SyncWrite::kClose, "dc2", "closing orders"}}, ctx);
  EXPECT_EQ(e->message,
            "this agent may not run automatic work now (agent-b is not the leader (agent-a is)): stopped before "
            "restoring haes-e3-x on dc2; already done on dc2: closing orders");
  auto r = read_check(automatic, now(3, "dc1"), "dc1", "watching snapshot haes-e3-x", {}, ctx);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, ErrorCode::kNotPermitted);
  // Asked at every step: the answer may change between two steps.
  answer.reset();
  const int before = asked;
  EXPECT_FALSE(guard_check(automatic, now(3, "dc1"), restore_on_dc2(), {}, ctx));
  EXPECT_FALSE(read_check(automatic, now(3, "dc1"), "dc2", "listing indices", {}, ctx));
  EXPECT_EQ(asked, before + 2);
  // No predicate: always allowed.
  EXPECT_FALSE(guard_check(automatic, now(3, "dc1"), restore_on_dc2(), {}, GuardContext{}));
  // Roles and hold are reported before the predicate (it is not even asked).
  answer = "not the leader";
  const int n = asked;
  EXPECT_EQ(guard_check(automatic, now(4, "dc2"), restore_on_dc2(), {}, ctx)->code, ErrorCode::kRolesChanged);
  EXPECT_EQ(asked, n);
}

TEST(Guard, ReadsStopWithTheOperationToo) {
  State s = now(3, "dc1");
  EXPECT_FALSE(read_check(planned(), s, "dc2", "listing indices", {}));
  auto moved = read_check(planned(), now(4, "dc2"), "dc2", "counting haes-verify-orders",
                          {{SyncWrite::kScratchRestore, "dc2", "restoring haes-e3-x under scratch names"}});
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->code, ErrorCode::kRolesChanged);
  EXPECT_EQ(moved->message,
            "roles changed (epoch 3 -> 4, active dc1 -> dc2): stopped before counting haes-verify-orders on dc2; "
            "already done on dc2: restoring haes-e3-x under scratch names");
  s.sync_hold = SyncHold{true, "operator ann@h", "rescue", from_unix_ms(0)};
  EXPECT_EQ(read_check(planned(), s, "dc1", "watching snapshot x", {})->code, ErrorCode::kSyncHeld);
  // A read is never "a write to the active cluster": reading dc1 (the source) is fine.
  EXPECT_FALSE(read_check(planned(), now(3, "dc1"), "dc1", "watching snapshot x", {}));
}

TEST(Guard, TheCodesThatStopAnOperation) {
  for (ErrorCode c : enum_values<ErrorCode>()) {
    const bool stops = c == ErrorCode::kCancelled || c == ErrorCode::kRolesChanged || c == ErrorCode::kSyncHeld ||
                       c == ErrorCode::kNotPermitted;
    EXPECT_EQ(is_guard_refusal(c), stops) << to_string(c);
  }
}

TEST(TouchedText, TheRepositoryRegistrationHoldsNoData) {
  EXPECT_EQ(touched_text("dc2", {{SyncWrite::kRepository, "dc2", "registering repository haes"}}),
            "dc2 was not touched");
  EXPECT_EQ(
      touched_text("dc2", {{SyncWrite::kClose, "dc2", "closing orders"}, {SyncWrite::kClose, "dc2", "closing logs"}}),
      "already done on dc2: closing orders, closing logs");
  EXPECT_EQ(touched_text("", {}), "");
}

}  // namespace
}  // namespace haes::sync
