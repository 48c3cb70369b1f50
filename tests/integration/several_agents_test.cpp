// cluster::SeveralAgents — who acts in a pair of several agents — against a
// real etcd (its endpoint in HAES_TEST_ETCD; test_several_agents.py starts
// it and runs this binary). Real EtcdStores, Coordinators, pipelines and
// controllers, one io_context; the health rounds are handed in by the test
// (the monitor, ports and HAProxy are the agents_* tests' business).
//
// What is shown: the first read starts the shared state (one agent creates
// it, the other adopts it); the leader alone applies the failover rules; a
// follower's own bad rounds move nothing, they are only published; the
// leader fails over once its peers confirm, and the follower adopts it; a
// follower's automatic work is refused in the leader's name.
#include <unistd.h>

#include <utility>  // before Asio 1.74 awaitable.hpp

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "cluster/several_agents.hpp"
#include "config/config.hpp"
#include "etcd/store.hpp"
#include "spoe/session.hpp"
#include "transitions/pipeline.hpp"

namespace haes {
namespace {

using namespace std::chrono_literals;

std::string etcd_endpoint() {
  const char* e = std::getenv("HAES_TEST_ETCD");
  if (e == nullptr || *e == '\0') {
    throw std::runtime_error(
        "HAES_TEST_ETCD is not set: run this binary through tests/integration/test_several_agents.py");
  }
  return e;
}

// One pair per test: its own prefix.
std::string test_prefix() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "/haes-test/" + std::string(info->name()) + "-" + std::to_string(::getpid()) + "/";
}

Config agent_config(const std::string& name, const std::string& prefix, int confirmations) {
  const std::string yaml =
      "spoe: {listen: \"127.0.0.1:1\"}\n"
      // Advertised to the others (the failsafe), never listened on here.
      "health: {listen: \"127.0.0.1:" +
      std::to_string(10 + name.back()) +
      "\"}\n"
      "agent: {name: " +
      name +
      "}\n"
      "clusters:\n"
      "  - {name: dc1, nodes: [http://127.0.0.1:1]}\n"
      "  - {name: dc2, nodes: [http://127.0.0.1:2]}\n"
      "preferred: dc1\n"
      "failover: {fail_threshold: 2, hold_down: 0s, confirmations: " +
      std::to_string(confirmations) +
      "}\n"
      "state: {store: etcd, etcd: {endpoints: [" +
      etcd_endpoint() + "], prefix: \"" + prefix + "\", poll_interval: 50ms, lease_ttl: 2s}}\n";
  auto c = parse_config(yaml, name + ".yaml");
  if (!c) {
    throw std::runtime_error(c.error().message);
  }
  return *c;
}

ControllerConfig controller_config(const Config& c) {
  ControllerConfig cc;
  cc.clusters = {"dc1", "dc2"};
  cc.preferred = c.preferred;
  cc.fail_threshold = static_cast<int>(c.failover.fail_threshold);
  cc.hold_down = c.failover.hold_down;
  cc.automatic = c.failover.automatic;
  return cc;
}

HealthRound round_of(Health dc1, Health dc2) {
  HealthRound r;
  ClusterObservation a;
  a.name = "dc1";
  a.health = dc1;
  ClusterObservation b;
  b.name = "dc2";
  b.health = dc2;
  r.clusters = {a, b};
  return r;
}

// One agent of the pair, built as the daemon builds it, without ports.
struct TestAgent {
  TestAgent(boost::asio::io_context& io, const std::string& name, const std::string& prefix, int confirmations)
      : config(agent_config(name, prefix, confirmations)),
        store(open(io)),
        pipeline(
            *store, [this](const State& s) { publish(s); }, [](const RoleChange&) {}, config.preferred),
        controller(controller_config(config)),
        agents(io, cluster::SeveralAgentsContext{.config = &config,
                                                 .store = store.get(),
                                                 .pipeline = &pipeline,
                                                 .controller = &controller,
                                                 .round = [this] { return latest ? &*latest : nullptr; },
                                                 .readiness = [] { return ReadinessVerdict{}; },
                                                 .publish = [this](const State& s) { publish(s); }}) {}

  std::unique_ptr<etcd::EtcdStore> open(boost::asio::io_context& io) {
    auto s = etcd::open_etcd_store(config.state.etcd, io.get_executor(), 100);
    if (!s) {
      throw std::runtime_error(s.error().message);
    }
    return std::move(*s);
  }

  // As the daemon publishes: every state through the verdict window.
  void publish(const State& s) {
    published.push_back(s);
    window = agents.window(s);
  }

  // A health round as the monitor would hand it in.
  boost::asio::awaitable<void> round(HealthRound r) {
    latest = r;
    co_await agents.on_round(std::move(r));
  }

  Config config;
  std::unique_ptr<etcd::EtcdStore> store;
  std::vector<State> published;
  std::optional<VerdictWindow> window;
  TransitionPipeline pipeline;
  FailoverController controller;
  std::optional<HealthRound> latest;
  cluster::SeveralAgents agents;
};

class SeveralAgentsTest : public ::testing::Test {
 protected:
  // As the daemon stops: the agents stop, what they cancelled runs, then
  // they go (before the io_context, declared first).
  ~SeveralAgentsTest() override {
    for (auto& a : agents_) {
      a->agents.stop();
    }
    spoe::net::drain(io_);
    agents_.clear();
  }

  TestAgent& make(const std::string& name, int confirmations = 2) {
    agents_.push_back(std::make_unique<TestAgent>(io_, name, prefix_, confirmations));
    return *agents_.back();
  }

  // Runs the io_context until `done` holds; throws (ending the test) after 15 s.
  void run_until(const std::function<bool()>& done, const std::string& what) {
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("timed out waiting for " + what);
      }
      io_.restart();
      io_.run_for(20ms);
    }
  }

  // Hands `a` one round and runs until it was applied.
  void feed(TestAgent& a, HealthRound r) {
    bool done = false;
    auto body = [](TestAgent* agent, HealthRound round, bool* flag) -> boost::asio::awaitable<void> {
      co_await agent->round(std::move(round));
      *flag = true;
    };
    boost::asio::co_spawn(io_, body(&a, std::move(r), &done), boost::asio::detached);
    run_until([&] { return done; }, "the round to be applied");
  }

  State stored(TestAgent& a) {
    std::optional<std::optional<State>> out;
    auto body = [](TestAgent* agent, std::optional<std::optional<State>>* o) -> boost::asio::awaitable<void> {
      auto r = co_await agent->store->load();
      if (!r) {
        throw std::runtime_error(r.error().message);
      }
      o->emplace(std::move(*r));
    };
    boost::asio::co_spawn(io_, body(&a, &out), boost::asio::detached);
    run_until([&] { return out.has_value(); }, "the stored state");
    return out->value_or(State{});
  }

  // The journal's last entries, as etcd holds them.
  std::vector<Event> events(TestAgent& a) {
    std::optional<std::vector<Event>> out;
    auto body = [](TestAgent* agent, std::optional<std::vector<Event>>* o) -> boost::asio::awaitable<void> {
      auto r = co_await agent->store->events(10);
      if (!r) {
        throw std::runtime_error(r.error().message);
      }
      o->emplace(std::move(*r));
    };
    boost::asio::co_spawn(io_, body(&a, &out), boost::asio::detached);
    run_until([&] { return out.has_value(); }, "the journal");
    return std::move(*out);
  }

  boost::asio::io_context io_;
  std::string prefix_ = test_prefix();
  std::vector<std::unique_ptr<TestAgent>> agents_;
};

// Open: this agent may answer positive now (closed_reason then says what
// it will say once the view is stale).
bool open_now(const std::optional<VerdictWindow>& w) {
  const auto now = std::chrono::steady_clock::now();
  return w && w->from <= now && now < w->until;
}

TEST_F(SeveralAgentsTest, AloneItCreatesTheFirstStateLeadsAndFailsOverOnItsOwnRounds) {
  auto& a1 = make("a1");
  a1.publish(a1.pipeline.state());
  EXPECT_FALSE(open_now(a1.window)) << "before any read of etcd no cluster may take traffic";
  a1.agents.start();
  run_until([&] { return a1.pipeline.state().epoch == 1 && a1.agents.leads(); }, "the first state and leadership");
  EXPECT_EQ(a1.pipeline.state().active, "dc1");
  EXPECT_EQ(stored(a1).active, "dc1");
  EXPECT_EQ(a1.agents.not_sync_leader(), std::nullopt);
  run_until([&] { return open_now(a1.window); }, "the verdict window to open");

  // One bad round is a blip; the second reaches fail_threshold. Alone, the
  // agent is every confirmation there is (min(confirmations, live) = 1).
  feed(a1, round_of(Health::kRed, Health::kGreen));
  EXPECT_EQ(a1.pipeline.state().epoch, 1u) << "one bad round must not fail over";
  feed(a1, round_of(Health::kRed, Health::kGreen));
  EXPECT_EQ(a1.pipeline.state().active, "dc2");
  EXPECT_EQ(a1.pipeline.state().epoch, 2u);
  EXPECT_EQ(stored(a1).active, "dc2");
}

TEST_F(SeveralAgentsTest, OnlyTheLeaderAppliesTheRulesAndTheFollowerAdoptsItsState) {
  auto& a1 = make("a1");
  auto& a2 = make("a2");
  a1.agents.start();
  run_until([&] { return a1.pipeline.state().epoch == 1 && a1.agents.leads(); }, "a1 to create the state and lead");
  a2.agents.start();
  run_until([&] { return a2.pipeline.state().epoch == 1 && a2.agents.coordinator().leader_name() == "a1"; },
            "a2 to adopt the state and see a1 lead");
  EXPECT_EQ(a2.pipeline.state().active, "dc1");
  EXPECT_FALSE(a2.agents.leads());
  ASSERT_TRUE(a2.agents.not_sync_leader().has_value());
  EXPECT_NE(a2.agents.not_sync_leader()->find("a1"), std::string::npos) << *a2.agents.not_sync_leader();

  // The follower sees dc1 red for more than fail_threshold rounds: it
  // publishes its streak and moves nothing.
  for (int i = 0; i < 3; ++i) {
    feed(a2, round_of(Health::kRed, Health::kGreen));
  }
  EXPECT_EQ(a2.pipeline.state().epoch, 1u) << "a follower applied the rules";
  // The leader reads that streak (and re-evaluates on that change) but one
  // agent's view is not the two confirmations the rules need.
  run_until(
      [&] {
        for (const auto& s : a1.agents.coordinator().seen("dc1")) {
          if (s.agent == "a2" && s.bad_rounds >= 3) {
            return true;
          }
        }
        return false;
      },
      "a1 to read a2's streak");
  EXPECT_EQ(a1.pipeline.state().epoch, 1u) << "the leader failed over on one agent's view";
  EXPECT_FALSE(a1.agents.confirmation().satisfied) << a1.agents.confirmation().text;

  // The leader's own rounds make two confirmations: it fails over, and the
  // follower adopts the new state from etcd.
  feed(a1, round_of(Health::kRed, Health::kGreen));
  feed(a1, round_of(Health::kRed, Health::kGreen));
  EXPECT_EQ(a1.pipeline.state().active, "dc2");
  EXPECT_EQ(a1.pipeline.state().epoch, 2u);
  run_until([&] { return a2.pipeline.state().epoch == 2; }, "a2 to adopt epoch 2");
  EXPECT_EQ(a2.pipeline.state().active, "dc2");

  // The status part: a2 names the leader and both agents.
  ControllerView view;
  PairReport p = a2.agents.report(view, a2.agents.confirmation(), now_sys());
  EXPECT_EQ(p.leader, "a1");
  EXPECT_FALSE(p.this_is_leader);
  EXPECT_EQ(p.agents.size(), 2u);
}

// failover.confirmations: 1 — one agent's streak is enough. The follower
// that sees it still applies nothing itself (its state is unchanged the
// moment its round is handled); the leader, which sees nothing wrong on its
// own, fails over when it reads that streak (the re-evaluation on a view
// change, not on a round of its own), and the follower adopts the result.
TEST_F(SeveralAgentsTest, TheLeaderActsOnAFollowersStreakAndTheFollowerNeverActsItself) {
  auto& a1 = make("a1", 1);
  auto& a2 = make("a2", 1);
  a1.agents.start();
  run_until([&] { return a1.pipeline.state().epoch == 1 && a1.agents.leads(); }, "a1 to create the state and lead");
  a2.agents.start();
  run_until([&] { return a2.pipeline.state().epoch == 1 && a2.agents.coordinator().leader_name() == "a1"; },
            "a2 to adopt the state and see a1 lead");
  feed(a1, round_of(Health::kGreen, Health::kGreen));
  for (int i = 0; i < 2; ++i) {
    feed(a2, round_of(Health::kRed, Health::kGreen));
    EXPECT_EQ(a2.pipeline.state().epoch, 1u) << "the follower applied the rules itself";
  }
  run_until([&] { return a1.pipeline.state().epoch == 2; }, "the leader to fail over on a2's streak");
  EXPECT_EQ(a1.pipeline.state().active, "dc2");
  // The journal says why: a2's view confirmed it.
  const std::vector<Event> journal = events(a1);
  ASSERT_FALSE(journal.empty());
  EXPECT_EQ(journal.back().kind, EventKind::kFailover);
  EXPECT_NE(journal.back().message.find("(a2: red)"), std::string::npos) << journal.back().message;
  run_until([&] { return a2.pipeline.state().epoch == 2; }, "a2 to adopt epoch 2");
  EXPECT_EQ(a2.pipeline.state().active, "dc2");
}

}  // namespace
}  // namespace haes
