// The first state of a start: decided by the controller, written through the
// pipeline; an unreadable or impossible stored state is refused, never
// guessed; several agents racing to create it end on one state.
#include "transitions/first_start.hpp"

#include "support/memory_store.hpp"
#include "support/sync_wait.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace haes {
namespace {

ControllerConfig two_clusters() {
  ControllerConfig c;
  c.clusters = {"dc1", "dc2"};
  c.preferred = "dc1";
  return c;
}

State stored(uint64_t epoch, std::string active) {
  State s;
  s.epoch = epoch;
  s.active = std::move(active);
  return s;
}

class FirstStartTest : public ::testing::Test {
 protected:
  FirstStartTest()
      : store_(log_),
        pipeline_(
            store_,
            [this](const State& s) { log_.push_back("publish epoch " + std::to_string(s.epoch) + " " + s.active); },
            [](const RoleChange&) {}, "dc1"),
        controller_(two_clusters()) {}

  std::vector<std::string> log_;
  test::RecordingStore store_;
  TransitionPipeline pipeline_;
  FailoverController controller_;
};

TEST_F(FirstStartTest, AnEmptyStoreStartsWithThePreferredClusterActive) {
  auto r = test::sync_wait(start_local_state(pipeline_, controller_));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "first start: dc1 is active (preferred), epoch 1");
  EXPECT_EQ(log_, (std::vector<std::string>{"load", "cas 0 epoch 1", "journal start", "publish epoch 1 dc1"}));
  ASSERT_TRUE(store_.stored_.has_value());
  EXPECT_EQ(store_.stored_->active, "dc1");
}

TEST_F(FirstStartTest, ARestartAdoptsTheStoredStateAndOnlyJournalsTheStart) {
  store_.write_behind_our_back(stored(7, "dc2"));
  auto r = test::sync_wait(start_local_state(pipeline_, controller_));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "resuming epoch 7, active dc2");
  EXPECT_EQ(log_, (std::vector<std::string>{"load", "publish epoch 7 dc2", "journal start"}));
  EXPECT_EQ(pipeline_.state().active, "dc2");
  EXPECT_EQ(store_.stored_->epoch, 7u);
}

TEST_F(FirstStartTest, AnUnreadableStoreIsRefusedNotGuessed) {
  store_.load_failures.push_back(Error{ErrorCode::kCorrupt, "state file: bad checksum"});
  auto r = test::sync_wait(start_local_state(pipeline_, controller_));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(r.error().message.find("state store memory: state file: bad checksum"), std::string::npos);
  EXPECT_NE(r.error().message.find("refuses to guess roles"), std::string::npos);
  EXPECT_EQ(log_, (std::vector<std::string>{"load"}));  // nothing written
}

TEST_F(FirstStartTest, AStoredStateNamingAClusterTheConfigLacksIsRefused) {
  store_.write_behind_our_back(stored(3, "dc9"));
  auto r = test::sync_wait(start_local_state(pipeline_, controller_));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(r.error().message.find("\"dc9\""), std::string::npos) << r.error().message;
  EXPECT_EQ(log_, (std::vector<std::string>{"load"}));
  EXPECT_EQ(store_.stored_->active, "dc9");  // left as it was for the operator
}

TEST_F(FirstStartTest, AFailedFirstWriteIsAnErrorThatSaysSo) {
  store_.fail_next_ = Error{ErrorCode::kIoError, "disk full"};
  auto r = test::sync_wait(start_local_state(pipeline_, controller_));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "state store memory: cannot write the first state: disk full");
  EXPECT_FALSE(store_.stored_.has_value());
}

// Several agents: two start on an empty store; the other one's compare-and-
// swap lands first. This one reads again, adopts it, and journals its start.
TEST_F(FirstStartTest, SharedStartLosingTheRaceAdoptsTheOtherAgentsFirstState) {
  store_.before_cas = [this] { store_.write_behind_our_back(stored(1, "dc1")); };
  auto r = test::sync_wait(start_shared_state(pipeline_, controller_, "a2", std::chrono::milliseconds(1)));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "agent a2: resuming epoch 1, active dc1");
  EXPECT_EQ(log_, (std::vector<std::string>{"load", "cas 0 epoch 1", "load", "publish epoch 1 dc1", "journal start"}));
  ASSERT_EQ(store_.journal_.size(), 1u);
  EXPECT_EQ(store_.journal_[0].actor, "agent a2");
  EXPECT_EQ(store_.stored_->revision, 1u);  // the other agent's write, untouched
}

TEST_F(FirstStartTest, SharedStartWaitsForTheStoreToAnswer) {
  store_.load_failures = {Error{ErrorCode::kStoreUnreachable, "etcd: connection refused"},
                          Error{ErrorCode::kStoreUnreachable, "etcd: connection refused"}};
  auto r = test::sync_wait(start_shared_state(pipeline_, controller_, "a1", std::chrono::milliseconds(1)));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "agent a1: first start: dc1 is active (preferred), epoch 1");
  EXPECT_EQ(store_.stored_->active, "dc1");
}

TEST_F(FirstStartTest, SharedStartGivesUpAfterItsAttemptsAndSaysWhy) {
  for (int i = 0; i < 3; ++i) {
    store_.load_failures.push_back(Error{ErrorCode::kStoreUnreachable, "etcd: connection refused"});
  }
  auto r = test::sync_wait(start_shared_state(pipeline_, controller_, "a1", std::chrono::milliseconds(1), 3));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kStoreUnreachable);
  EXPECT_EQ(r.error().message, "state store memory: gave up after 3 attempts: etcd: connection refused");
  EXPECT_FALSE(store_.stored_.has_value());
}

TEST_F(FirstStartTest, SharedStartRefusesAStoredStateTheConfigCannotHold) {
  store_.write_behind_our_back(stored(4, "dc9"));
  auto r = test::sync_wait(start_shared_state(pipeline_, controller_, "a1", std::chrono::milliseconds(1)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_EQ(log_, (std::vector<std::string>{"load"}));
}

}  // namespace
}  // namespace haes
