// The operators' commands over the controller and the pipeline (a store in
// memory; the same commands run against the real agent in
// tests/integration/test_admin.py).
#include "commands/commands.hpp"

#include <gtest/gtest.h>

#include "support/memory_store.hpp"
#include "support/sync_wait.hpp"

namespace haes {
namespace {

const char* kConfig = R"(
spoe: {listen: 127.0.0.1:12345}
clusters:
  - name: dc1
    nodes: [{name: es1, url: http://127.0.0.1:9201}]
  - name: dc2
    nodes: [{name: es1, url: http://127.0.0.1:9202}]
preferred: dc1
)";

Config parse(const char* text) {
  auto c = parse_config(text, "test.yaml");
  EXPECT_TRUE(c.ok());
  return *c;
}

ControllerConfig controller_config(const Config& c) {
  return ControllerConfig{{"dc1", "dc2"}, c.preferred, 3, std::chrono::minutes(5), true};
}

class CommandsTest : public ::testing::Test {
 protected:
  CommandsTest()
      : config_(parse(kConfig)),
        controller_(controller_config(config_)),
        pipeline_(
            store_, [this](const State&) { ++published_; }, nullptr, "dc1") {
    auto first = controller_.on_start(std::nullopt, now_);
    EXPECT_TRUE(first.ok());
    EXPECT_TRUE(test::sync_wait(pipeline_.apply(*first)).ok());
    round_.seq = 1;
    round_.clusters = {ClusterObservation{"dc1", Health::kGreen, "", {}},
                       ClusterObservation{"dc2", Health::kGreen, "", {}}};
    CommandsContext ctx;
    ctx.config = &config_;
    ctx.controller = &controller_;
    ctx.pipeline = &pipeline_;
    ctx.latest_round = [this] { return &round_; };
    ctx.status = [this] {
      StatusInputs in;
      in.config = &config_;
      in.state = &pipeline_.state();
      in.round = &round_;
      in.now = now_;
      in.store = store_.describe();
      return build_status(in);
    };
    ctx.now = [this] { return now_; };
    register_commands(table_, ctx);
    table_.seal();
    store_.journal_.clear();
  }

  admin::Reply run(const std::string& line) {
    return test::sync_wait(table_.run_async(line, admin::Peer{1, 1000, "alice"}));
  }

  uint64_t counted(const std::string& command, CommandResult r) const {
    const auto& by = table_.stats().by_command;
    for (size_t i = 0; i < table_.commands().size(); ++i) {
      if (admin::CommandTable::label(table_.commands()[i]) == command) {
        return by.at(i).value(r);
      }
    }
    ADD_FAILURE() << "no command " << command;
    return 0;
  }

  Config config_;
  test::RecordingStore store_;
  FailoverController controller_;
  int published_ = 0;
  TransitionPipeline pipeline_;
  HealthRound round_;
  admin::CommandTable table_;
  SysTime now_ = from_unix_ms(1'795'000'000'000);
};

TEST_F(CommandsTest, FailoverMovesTheRoleThroughTheStoreAndJournal) {
  auto r = run("failover --to dc2 --reason \"dc1 maintenance went wrong\"");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_NE(r.text.find("epoch 2, active dc2"), std::string::npos) << r.text;
  EXPECT_EQ(store_.stored_->active, "dc2");
  EXPECT_EQ(store_.stored_->fenced, std::vector<std::string>{"dc1"});
  ASSERT_EQ(store_.journal_.size(), 1u);
  EXPECT_EQ(store_.journal_[0].kind, EventKind::kFailover);
  EXPECT_EQ(store_.journal_[0].actor, "operator alice");
  EXPECT_EQ(r.json["roles_changed"], true);
  EXPECT_EQ(counted("failover", CommandResult::kOk), 1u);
}

TEST_F(CommandsTest, AFailedStoreWriteChangesNothingAndSaysSo) {
  store_.fail_next_ = Error{ErrorCode::kIoError, "No space left on device"};
  const int published = published_;
  auto r = run("failover --to dc2");
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::kStoreError);
  EXPECT_NE(r.text.find("state store write failed (io_error): No space left on device; nothing changed"),
            std::string::npos)
      << r.text;
  EXPECT_EQ(pipeline_.state().active, "dc1");
  EXPECT_TRUE(store_.journal_.empty());
  EXPECT_EQ(published_, published);
  EXPECT_EQ(counted("failover", CommandResult::kFailed), 1u);
}

TEST_F(CommandsTest, AnUnknownClusterIsABadCommandLineNotARefusal) {
  auto r = run("switchover --to dc9");
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::kUsage);
  EXPECT_EQ(r.text, "unknown cluster 'dc9'; clusters: dc1, dc2");
  EXPECT_TRUE(store_.journal_.empty()) << "a typo is not journaled";
  EXPECT_EQ(run("failover").code, ErrorCode::kUsage);
  EXPECT_EQ(run("pause --for soon").code, ErrorCode::kUsage);
  EXPECT_EQ(counted("switchover", CommandResult::kUsage), 1u);
}

TEST_F(CommandsTest, ARefusalIsJournaledAndCounted) {
  round_.clusters[1].health = Health::kRed;
  auto r = run("switchover --to dc2");
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::kUnhealthyTarget);
  ASSERT_EQ(store_.journal_.size(), 1u);
  EXPECT_EQ(store_.journal_[0].kind, EventKind::kRefused);
  EXPECT_EQ(counted("switchover", CommandResult::kRefused), 1u);
}

TEST_F(CommandsTest, DryRunsChangeNothing) {
  auto r = run("failover --to dc2 --dry-run");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.text.rfind("dry run: would make dc2 active (epoch 2)", 0), 0u) << r.text;
  EXPECT_EQ(pipeline_.state().active, "dc1");
  EXPECT_TRUE(store_.journal_.empty());
  EXPECT_EQ(counted("failover", CommandResult::kDryRun), 1u);
}

TEST_F(CommandsTest, SyncCommandsWithoutSyncAreRefusedPlainly) {
  for (const char* line : {"sync hold", "sync release", "sync now", "verify-restore"}) {
    auto r = run(line);
    ASSERT_FALSE(r.ok) << line;
    EXPECT_EQ(r.code, ErrorCode::kSyncOff) << line;
    EXPECT_NE(r.text.find("snapshot sync is not configured"), std::string::npos) << line;
  }
}

TEST_F(CommandsTest, StatusAndEventsRenderTheModelAndTheJournal) {
  ASSERT_TRUE(run("pause --reason maintenance").ok);
  auto s = run("status");
  ASSERT_TRUE(s.ok);
  EXPECT_NE(s.text.find("paused: yes, by operator alice"), std::string::npos) << s.text;
  EXPECT_EQ(s.json["paused"], true);
  auto e = run("events 5");
  EXPECT_NE(e.text.find("pause by operator alice: automatic failover paused until resumed (maintenance)"),
            std::string::npos)
      << e.text;
  EXPECT_EQ(e.json["events"][0]["kind"], "pause");
  EXPECT_EQ(run("events zero").code, ErrorCode::kUsage);
}

TEST_F(CommandsTest, HelpListsEveryCommandOfTheTable) {
  auto r = run("help");
  ASSERT_TRUE(r.ok);
  for (const auto& c : table_.commands()) {
    EXPECT_NE(r.text.find(c.usage), std::string::npos) << c.usage;
  }
}

}  // namespace
}  // namespace haes
