// The health port over loopback while the control thread publishes verdicts:
// every answer is whole and comes from one verdict. Under the sanitizer
// build (tests/sanitize/run.sh) this also catches an answer that reads a
// verdict freed by a publish in the middle of it.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "edge_test_util.hpp"
#include "http/health_server.hpp"

namespace haes {
namespace {

namespace asio = boost::asio;

std::shared_ptr<Verdict> verdict(uint64_t epoch) {
  auto v = std::make_shared<Verdict>();
  v->epoch = epoch;
  bool up = epoch % 2 == 0;
  v->cluster = up ? "dc1" : "";
  v->allow = up;
  v->reason = up ? "dc1 is active" : "no cluster may take traffic: dc1 is red (epoch " + std::to_string(epoch) + ")";
  ClusterVerdict c;
  c.name = "dc1";
  c.active = true;
  c.may_take_traffic = up;
  c.health = up ? Health::kGreen : Health::kRed;
  c.reason = v->reason;
  c.nodes.push_back(NodeVerdict{"n1", up, up ? "active" : "cluster dc1 is red in epoch " + std::to_string(epoch)});
  v->clusters.push_back(c);
  return v;
}

// One HTTP/1.0 request (the server closes after it); the whole answer.
std::string get(uint16_t port, const std::string& target) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  std::string req = "GET " + target + " HTTP/1.0\r\n\r\n";
  asio::write(s, asio::buffer(req));
  std::string out;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(out), ec);
  return out;
}

TEST(HealthServer, AnswersStayWholeWhileVerdictsArePublished) {
  VerdictView view;
  view.publish(verdict(2));
  HealthCounters counters;
  asio::io_context ctx;
  HealthServerOptions options;
  options.listen = Endpoint{"127.0.0.1", 0};
  HealthServer server(ctx, options, view, counters);
  server.start();
  std::thread edge([&] { ctx.run(); });

  std::atomic<bool> done{false};
  std::thread control([&] {
    for (uint64_t e = 3; !done.load(); ++e) {
      view.publish(verdict(e));
    }
  });
  int up = 0, down = 0;
  for (int i = 0; i < 400; ++i) {
    std::string answer = get(server.port(), "/lb/dc1/n1");
    if (answer.rfind("HTTP/1.1 200", 0) == 0 || answer.rfind("HTTP/1.0 200", 0) == 0) {
      EXPECT_NE(answer.find("\r\n\r\n"), std::string::npos) << answer;
      ++up;
    } else if (answer.rfind("HTTP/1.1 503", 0) == 0 || answer.rfind("HTTP/1.0 503", 0) == 0) {
      EXPECT_NE(answer.find("cluster dc1 is red in epoch"), std::string::npos) << answer;
      ++down;
    } else {
      ADD_FAILURE() << "unexpected answer: " << answer;
    }
  }
  done = true;
  control.join();
  ctx.stop();
  edge.join();
  server.stop();
  EXPECT_EQ(up + down, 400);
  EXPECT_EQ(counters.httpchk.value(HttpchkResult::kUp) + counters.httpchk.value(HttpchkResult::kDown), 400u);
}

// ---- the session idiom: stop, deadlines, limits

using namespace std::chrono_literals;
using test::RawClient;

struct HealthFixture {
  VerdictView view;
  HealthCounters counters;
  asio::io_context ctx;
  std::unique_ptr<HealthServer> server;
  explicit HealthFixture(std::function<void(HealthServerOptions&)> tweak = {}) {
    view.publish(verdict(2));
    HealthServerOptions o;
    o.listen = Endpoint{"127.0.0.1", 0};
    if (tweak) {
      tweak(o);
    }
    server = std::make_unique<HealthServer>(ctx, o, view, counters);
    server->start();
  }
  ~HealthFixture() {
    server->stop();
    test::runs_dry(ctx);
  }
};

// stop() with live idle sessions (one mid-request, two silent): every
// session is closed and the io_context runs dry, as in the agent's shutdown.
TEST(HealthServer, StopWithLiveIdleSessionsRunsTheIoContextDry) {
  HealthFixture f([](HealthServerOptions& o) { o.request_timeout = 60s; });
  auto a = RawClient::tcp(f.server->port());
  auto b = RawClient::tcp(f.server->port());
  auto c = RawClient::tcp(f.server->port());
  ASSERT_TRUE(c.send("GET /lb/dc1/n1 HTTP/1.1\r\nHo"));
  ASSERT_TRUE(test::run_until(f.ctx, [&] { return f.server->sessions() == 3; }));
  f.server->stop();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(test::runs_dry(f.ctx));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(f.server->sessions(), 0u);
  a.read_all(1s);
  c.read_all(1s);
  EXPECT_TRUE(a.eof());
  EXPECT_TRUE(c.eof());
}

// Slow-loris: a request whose header never ends is cut at request_timeout,
// however steadily its bytes dribble in.
TEST(HealthServer, AHeaderThatNeverEndsIsCutAtItsDeadline) {
  HealthFixture f([](HealthServerOptions& o) { o.request_timeout = 300ms; });
  std::thread edge([&] { f.ctx.run_for(5s); });
  auto c = RawClient::tcp(f.server->port());
  ASSERT_TRUE(c.send("GET /lb/dc1/n1 HTTP/1.1\r\n"));
  const auto t0 = std::chrono::steady_clock::now();
  bool cut = false;
  for (int i = 0; i < 100 && !cut; ++i) {
    c.send("X-Slow: " + std::to_string(i) + "\r\n");
    c.read_all(50ms);
    cut = c.eof();
  }
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(cut);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
  f.ctx.stop();
  edge.join();
}

TEST(HealthServer, AnOversizedHeaderIsRefusedWith431) {
  HealthFixture f;
  std::thread edge([&] { f.ctx.run_for(5s); });
  auto c = RawClient::tcp(f.server->port());
  c.send("GET / HTTP/1.1\r\nX-Big: " + std::string(9000, 'a'));
  std::string answer = c.read_all(3s);
  EXPECT_EQ(answer.rfind("HTTP/1.1 431 Request Header Fields Too Large", 0), 0u) << answer;
  EXPECT_NE(answer.find("request header over 8192 bytes"), std::string::npos) << answer;
  EXPECT_TRUE(c.eof());
  f.ctx.stop();
  edge.join();
}

TEST(HealthServer, ConnectionsOverTheLimitAreClosedAndCounted) {
  HealthFixture f([](HealthServerOptions& o) {
    o.max_connections = 2;
    o.request_timeout = 60s;
  });
  auto a = RawClient::tcp(f.server->port());
  auto b = RawClient::tcp(f.server->port());
  ASSERT_TRUE(test::run_until(f.ctx, [&] { return f.server->sessions() == 2; }));
  auto c = RawClient::tcp(f.server->port());
  ASSERT_TRUE(test::run_until(f.ctx, [&] { return f.counters.connections_refused.value(EdgePort::kHealth) == 1; }));
  c.read_all(1s);
  EXPECT_TRUE(c.eof());
  a.close();
  ASSERT_TRUE(test::run_until(f.ctx, [&] { return f.server->sessions() == 1; }));
  auto d = RawClient::tcp(f.server->port());
  d.send("GET / HTTP/1.0\r\n\r\n");
  std::string answer;
  ASSERT_TRUE(test::run_until(f.ctx, [&] {
    answer += d.read_all(10ms);
    return d.eof();
  }));
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_EQ(f.counters.connections_refused.value(EdgePort::kHealth), 1u);
}

}  // namespace
}  // namespace haes
