// The TransitionPipeline's contract: store → journal → publish → hook, in
// that order, and a failed compare-and-swap changes nothing.
#include "transitions/pipeline.hpp"

#include "support/memory_store.hpp"
#include "support/sync_wait.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace haes {
namespace {

State state_at(uint64_t epoch, std::string active) {
  State s;
  s.epoch = epoch;
  s.active = std::move(active);
  return s;
}

Change failover_to(const State& current, const std::string& target) {
  Change c;
  State n = current;
  n.epoch += 1;
  n.fenced.push_back(n.active);
  n.active = target;
  n.reason = "dc1 reports red for 3 rounds";
  n.changed_by = "controller";
  c.next = n;
  c.transition = Transition::kFailover;
  c.events.push_back(Event{0, {}, n.epoch, EventKind::kFailover, "controller", "failover dc1 -> dc2"});
  return c;
}

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest()
      : store_(log_),
        pipeline_(
            store_,
            [this](const State& s) {
              log_.push_back("publish epoch " + std::to_string(s.epoch) + " active " + s.active);
              published_.push_back(s);
            },
            [this](const RoleChange& c) {
              log_.push_back("hook " + std::string(to_string(c.transition)) + " " + c.old_active + "->" + c.new_active);
            },
            "dc1") {}

  void start_at(State s) {
    Change first;
    first.next = std::move(s);
    ASSERT_TRUE(test::sync_wait(pipeline_.apply(first)).ok());
    log_.clear();
  }

  std::vector<std::string> log_;
  test::RecordingStore store_;
  std::vector<State> published_;
  TransitionPipeline pipeline_;
};

TEST_F(PipelineTest, ARoleChangeIsStoredThenJournaledThenPublishedThenHooked) {
  start_at(state_at(1, "dc1"));
  ASSERT_TRUE(test::sync_wait(pipeline_.apply(failover_to(pipeline_.state(), "dc2"))).ok());
  EXPECT_EQ(log_, (std::vector<std::string>{"cas 1 epoch 2", "journal failover", "publish epoch 2 active dc2",
                                            "hook failover dc1->dc2"}));
  EXPECT_EQ(pipeline_.state().epoch, 2u);
  EXPECT_EQ(pipeline_.state().revision, 2u);
  EXPECT_EQ(pipeline_.stats().transitions.value(Transition::kFailover), 1u);
  EXPECT_EQ(pipeline_.stats().store_writes.value(StoreWrite::kOk), 2u);
}

TEST_F(PipelineTest, AFailedCompareAndSwapChangesNothing) {
  start_at(state_at(1, "dc1"));
  const size_t published_before = published_.size();
  store_.fail_next_ = Error{ErrorCode::kIoError, "disk full"};
  auto r = test::sync_wait(pipeline_.apply(failover_to(pipeline_.state(), "dc2")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kIoError);
  // Only the attempt: no journal entry, no publish, no hook.
  EXPECT_EQ(log_, (std::vector<std::string>{"cas 1 epoch 2"}));
  EXPECT_EQ(published_.size(), published_before);
  EXPECT_TRUE(store_.journal_.empty());
  EXPECT_EQ(pipeline_.state().epoch, 1u);
  EXPECT_EQ(pipeline_.state().active, "dc1");
  EXPECT_EQ(pipeline_.stats().store_writes.value(StoreWrite::kFailed), 1u);
  EXPECT_EQ(pipeline_.stats().transitions.value(Transition::kFailover), 0u);
}

TEST_F(PipelineTest, AConflictChangesNothingAndReloadAdoptsTheOtherWriter) {
  start_at(state_at(1, "dc1"));
  State theirs = state_at(2, "dc2");
  store_.write_behind_our_back(theirs);
  auto r = test::sync_wait(pipeline_.apply(failover_to(pipeline_.state(), "dc2")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_EQ(log_, (std::vector<std::string>{"cas 1 epoch 2"}));
  EXPECT_EQ(pipeline_.stats().store_writes.value(StoreWrite::kConflict), 1u);
  EXPECT_EQ(pipeline_.state().active, "dc1");
  // Adopting the other writer's state publishes it, and journals and hooks
  // nothing (they were the writer's to do).
  log_.clear();
  ASSERT_TRUE(test::sync_wait(pipeline_.reload()).ok());
  EXPECT_EQ(log_, (std::vector<std::string>{"load", "publish epoch 2 active dc2"}));
  EXPECT_EQ(pipeline_.state().revision, 2u);
}

TEST_F(PipelineTest, AChangeWithoutNextIsOnlyJournaled) {
  start_at(state_at(1, "dc1"));
  Change refusal;
  refusal.events.push_back(Event{0, {}, 1, EventKind::kRefused, "operator bob", "failover --to dc9 refused"});
  ASSERT_TRUE(test::sync_wait(pipeline_.apply(refusal)).ok());
  EXPECT_EQ(log_, (std::vector<std::string>{"journal refused"}));
}

TEST_F(PipelineTest, AStateChangeWithoutATransitionRunsNoHook) {
  start_at(state_at(1, "dc1"));
  Change pause;
  State n = pipeline_.state();
  n.pause.paused = true;
  pause.next = n;
  pause.events.push_back(Event{0, {}, 1, EventKind::kPause, "operator bob", "paused"});
  ASSERT_TRUE(test::sync_wait(pipeline_.apply(pause)).ok());
  EXPECT_EQ(log_, (std::vector<std::string>{"cas 1 epoch 1", "journal pause", "publish epoch 1 active dc1"}));
}

}  // namespace
}  // namespace haes

namespace haes {
namespace {

// CCR mode's promotion plugs in here: it runs before the store write; its
// events are journaled with the change's; its refusal stores nothing.
TEST_F(PipelineTest, APrepareStepRunsBeforeTheStoreAndAddsItsEvents) {
  start_at(state_at(1, "dc1"));
  pipeline_.set_prepare([this](Change& c) -> boost::asio::awaitable<Result<void>> {
    log_.push_back("prepare " + c.next->active);
    c.events.push_back(Event{0, {}, c.next->epoch, EventKind::kCcrPromotion, "controller", "promoted logs-a"});
    co_return Ok{};
  });
  ASSERT_TRUE(test::sync_wait(pipeline_.apply(failover_to(pipeline_.state(), "dc2"))).ok());
  EXPECT_EQ(log_, (std::vector<std::string>{"prepare dc2", "cas 1 epoch 2", "journal failover", "journal ccr_promotion",
                                            "publish epoch 2 active dc2", "hook failover dc1->dc2"}));
}

TEST_F(PipelineTest, ARefusingPrepareStepStoresNothingAndJournalsOnlyItsEvents) {
  start_at(state_at(1, "dc1"));
  pipeline_.set_prepare([](Change& c) -> boost::asio::awaitable<Result<void>> {
    c.events = {Event{0, {}, 1, EventKind::kFailoverBlocked, "controller", "cannot promote logs-b"}};
    co_return Error{ErrorCode::kPromotionFailed, "cannot promote logs-b"};
  });
  auto r = test::sync_wait(pipeline_.apply(failover_to(pipeline_.state(), "dc2")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPromotionFailed);
  EXPECT_EQ(log_, (std::vector<std::string>{"journal failover_blocked"}));
  EXPECT_EQ(pipeline_.state().active, "dc1");
  EXPECT_EQ(pipeline_.stats().transitions.value(Transition::kFailover), 0u);
}

TEST_F(PipelineTest, ANonTransitionChangeSkipsThePrepareStep) {
  start_at(state_at(1, "dc1"));
  bool called = false;
  pipeline_.set_prepare([&called](Change&) -> boost::asio::awaitable<Result<void>> {
    called = true;
    co_return Ok{};
  });
  Change pause;
  State n = pipeline_.state();
  n.pause.paused = true;
  pause.next = n;
  ASSERT_TRUE(test::sync_wait(pipeline_.apply(pause)).ok());
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace haes
