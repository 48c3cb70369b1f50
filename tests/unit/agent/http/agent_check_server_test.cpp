// The agent-check port: its session idiom (stop, deadlines, limits) and the
// lines it answers.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <thread>

#include "edge_test_util.hpp"
#include "http/agent_check_server.hpp"

namespace haes {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::RawClient;

// dc1 active (or fenced), dc2 passive.
std::shared_ptr<Verdict> verdict(bool dc1_fenced = false) {
  auto v = std::make_shared<Verdict>();
  v->epoch = dc1_fenced ? 5 : 4;
  v->cluster = dc1_fenced ? "dc2" : "dc1";
  v->allow = true;
  ClusterVerdict c;
  c.name = "dc1";
  c.active = !dc1_fenced;
  c.fenced = dc1_fenced;
  c.may_take_traffic = !dc1_fenced;
  c.reason = dc1_fenced ? "fenced: dc1 failed over" : "dc1 is active";
  c.nodes.push_back(NodeVerdict{"n1", !dc1_fenced, c.reason});
  v->clusters.push_back(c);
  ClusterVerdict d;
  d.name = "dc2";
  d.active = dc1_fenced;
  d.may_take_traffic = dc1_fenced;
  d.reason = dc1_fenced ? "dc2 is active" : "passive: dc1 is active";
  d.nodes.push_back(NodeVerdict{"n1", dc1_fenced, d.reason});
  v->clusters.push_back(d);
  return v;
}

struct AgentCheckFixture {
  VerdictView view;
  HealthCounters counters;
  asio::io_context ctx;
  std::unique_ptr<AgentCheckServer> server;
  explicit AgentCheckFixture(std::function<void(AgentCheckOptions&)> tweak = {}) {
    view.publish(verdict());
    AgentCheckOptions o;
    o.listen = Endpoint{"127.0.0.1", 0};
    o.local_node = "dc1/n1";
    if (tweak) {
      tweak(o);
    }
    server = std::make_unique<AgentCheckServer>(ctx, o, view, counters);
    server->start();
  }
  ~AgentCheckFixture() {
    server->stop();
    test::runs_dry(ctx);
  }
  // One check on a fresh connection: sends `request` (if any), returns the line.
  std::string check(const std::string& request) {
    auto c = RawClient::tcp(server->port());
    if (!request.empty()) {
      c.send(request);
    }
    std::string answer;
    test::run_until(ctx, [&] {
      answer += c.read_all(5ms);
      return c.eof();
    });
    return answer;
  }
};

TEST(AgentCheckServer, StopWithLiveIdleSessionsRunsTheIoContextDry) {
  AgentCheckFixture f([](AgentCheckOptions& o) { o.send_wait = 60s; });
  auto a = RawClient::tcp(f.server->port());
  auto b = RawClient::tcp(f.server->port());
  b.send("dc1/");  // half an agent-send string
  ASSERT_TRUE(test::run_until(f.ctx, [&] { return f.server->sessions() == 2; }));
  f.server->stop();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(test::runs_dry(f.ctx));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(f.server->sessions(), 0u);
  EXPECT_EQ(a.read_all(1s), "");
  EXPECT_TRUE(a.eof());
}

TEST(AgentCheckServer, AnswersTheNamedNodeOrTheLocalOneAfterSendWait) {
  AgentCheckFixture f([](AgentCheckOptions& o) { o.send_wait = 100ms; });
  EXPECT_EQ(f.check("dc1/n1\n").rfind("up", 0), 0u);
  EXPECT_EQ(f.check("dc1 n1\n").rfind("up", 0), 0u);
  EXPECT_EQ(f.check("").rfind("up", 0), 0u);  // nothing sent: health.node after send_wait
  EXPECT_EQ(f.check("dc9/n1\n").rfind("down #unknown cluster dc9", 0), 0u);
}

// A line that never ends is cut at send_wait (then answered for what came);
// one longer than max_line gets a clear answer.
TEST(AgentCheckServer, AnOversizedAgentSendStringIsRefusedClearly) {
  AgentCheckFixture f;
  std::string answer = f.check(std::string(300, 'x'));
  EXPECT_EQ(answer, "down #agent-send string longer than 256 bytes: send \"cluster/node\\n\"\n");
  EXPECT_EQ(f.counters.agentcheck.value(AgentCheckResult::kDown), 1u);
}

TEST(AgentCheckServer, ConnectionsOverTheLimitAreClosedAndCounted) {
  AgentCheckFixture f([](AgentCheckOptions& o) {
    o.max_connections = 1;
    o.send_wait = 60s;
  });
  auto a = RawClient::tcp(f.server->port());
  ASSERT_TRUE(test::run_until(f.ctx, [&] { return f.server->sessions() == 1; }));
  auto b = RawClient::tcp(f.server->port());
  ASSERT_TRUE(test::run_until(f.ctx, [&] { return f.counters.connections_refused.value(EdgePort::kAgentCheck) == 1; }));
  EXPECT_EQ(b.read_all(1s), "");
  EXPECT_TRUE(b.eof());
  a.send("dc1/n1\n");
  std::string answer;
  ASSERT_TRUE(test::run_until(f.ctx, [&] {
    answer += a.read_all(5ms);
    return a.eof();
  }));
  EXPECT_EQ(answer.rfind("up", 0), 0u) << answer;
}

// ---- "ready" only lifts what the agent itself set

TEST(ReadyLedger, OwedOnFirstContactAndAfterMaintForTheGraceOnly) {
  using C = ReadyLedger::Clock;
  ReadyLedger l(std::chrono::milliseconds(1000));
  const C::time_point t0{};
  EXPECT_TRUE(l.ready("a\ndc1/es1", false, t0));          // first contact
  EXPECT_TRUE(l.ready("a\ndc1/es1", false, t0 + 900ms));  // within the grace (a second server line)
  EXPECT_FALSE(l.ready("a\ndc1/es1", false, t0 + 1100ms));
  EXPECT_FALSE(l.ready("a\ndc1/es1", false, t0 + 60s));  // an operator's drain holds from now on
  EXPECT_FALSE(l.ready("a\ndc1/es1", true, t0 + 61s));   // maint: owed again
  EXPECT_FALSE(l.ready("a\ndc1/es1", true, t0 + 62s));
  EXPECT_TRUE(l.ready("a\ndc1/es1", false, t0 + 70s));  // the fence is lifted: ready
  EXPECT_TRUE(l.ready("a\ndc1/es1", false, t0 + 70500ms));
  EXPECT_FALSE(l.ready("a\ndc1/es1", false, t0 + 72s));
  EXPECT_TRUE(l.ready("b\ndc1/es1", false, t0 + 72s));  // another HAProxy: its own entry
}

TEST(AgentCheckReply, ReadyOnlyWhenAskedAndNeverWithMaintOrAnUnknownNode) {
  auto up = verdict();
  auto fenced = verdict(true);
  EXPECT_EQ(agent_check_reply(*up, "dc1/n1", "", false).line, "up\n");
  EXPECT_EQ(agent_check_reply(*up, "dc1/n1", "", true).line, "up ready\n");
  EXPECT_EQ(agent_check_reply(*up, "dc1/n1 es_dc1", "", true).line, "up ready\n");  // extra words ignored
  EXPECT_EQ(agent_check_reply(*up, "dc2 n1", "", false).line,
            "down #dc2/n1 may not take traffic: passive: dc1 is active\n");
  EXPECT_EQ(agent_check_reply(*up, "dc2/n1", "", true).line,
            "down ready #dc2/n1 may not take traffic: passive: dc1 is active\n");
  auto m = agent_check_reply(*fenced, "dc1/n1", "", true);
  EXPECT_EQ(m.line, "maint #dc1/n1 may not take traffic: fenced: dc1 failed over\n");
  EXPECT_TRUE(m.maint);
  auto u = agent_check_reply(*up, "dc1/n9", "", true);
  EXPECT_EQ(u.line.rfind("down #unknown node dc1/n9", 0), 0u) << u.line;
  EXPECT_FALSE(u.known);
}

// Through the server: first contact gets "ready" (lifting a MAINT an
// earlier agent run may have left), then plain answers (an operator's
// drain or maint holds); a fence answers "maint"; once it is lifted the
// next answer carries "ready" again.
TEST(AgentCheckServer, ReadyLiftsTheAgentsOwnMaintAndNothingElse) {
  AgentCheckFixture f([](AgentCheckOptions& o) { o.ready_grace = 0ms; });
  EXPECT_EQ(f.check("dc1/n1\n"), "up ready\n");
  EXPECT_EQ(f.check("dc1/n1\n"), "up\n");
  EXPECT_EQ(f.check("dc1/n1\n"), "up\n");
  EXPECT_EQ(f.check("dc2/n1\n"), "down ready #dc2/n1 may not take traffic: passive: dc1 is active\n");
  EXPECT_EQ(f.check("dc2/n1\n"), "down #dc2/n1 may not take traffic: passive: dc1 is active\n");
  f.view.publish(verdict(true));
  EXPECT_EQ(f.check("dc1/n1\n"), "maint #dc1/n1 may not take traffic: fenced: dc1 failed over\n");
  EXPECT_EQ(f.check("dc1/n1\n"), "maint #dc1/n1 may not take traffic: fenced: dc1 failed over\n");
  f.view.publish(verdict(false));
  EXPECT_EQ(f.check("dc1/n1\n"), "up ready\n");
  EXPECT_EQ(f.check("dc1/n1\n"), "up\n");
}

}  // namespace
}  // namespace haes
