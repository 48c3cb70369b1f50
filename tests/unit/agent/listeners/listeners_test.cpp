// Listeners: every configured port opens, serves and closes; /metrics joins
// the caller's gauges and the listeners' own counters; a port that cannot be
// bound fails start() instead of leaving a half-started agent.
#include "listeners/listeners.hpp"

#include "http/edge_test_util.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace haes {
namespace {

using namespace std::chrono_literals;
using test::RawClient;

Config config_on_loopback(const std::string& socket_path) {
  auto c = parse_config(
      "spoe: {listen: 127.0.0.1:12345}\n"
      "health: {listen: 127.0.0.1:12346}\n"
      "agent_check: {listen: 127.0.0.1:12347}\n"
      "admin: {socket: " +
          socket_path +
          "}\n"
          "clusters:\n"
          "  - {name: dc1, nodes: [{name: es1, url: http://127.0.0.1:9200}]}\n"
          "  - {name: dc2, nodes: [{name: es1, url: http://127.0.0.1:9201}]}\n"
          "preferred: dc1\n",
      "test.yaml");
  EXPECT_TRUE(c.ok()) << c.error().message;
  Config config = *c;
  config.spoe.listen.port = 0;  // the kernel picks: tests run in parallel
  config.health.listen->port = 0;
  config.agent_check.listen->port = 0;
  return config;
}

std::string temp_socket() {
  return (std::filesystem::temp_directory_path() /
          ("haes-listeners-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sock"))
      .string();
}

bool refused(uint16_t port) {
  try {
    RawClient::tcp(port);
    return false;
  } catch (const std::runtime_error&) {
    return true;
  }
}

struct Fixture {
  boost::asio::io_context control;
  VerdictView verdicts;
  admin::CommandTable commands;
  std::string socket = temp_socket();
  Config config = config_on_loopback(socket);
  Fixture() {
    commands.add(
        admin::CommandSpec{{"ping"}, "ping", "answers pong", {}, 0, false, [](const admin::Args&, const admin::Peer&) {
                             admin::Reply r;
                             r.text = "pong";
                             return r;
                           }});
    commands.seal();
  }
  ListenerWiring wiring() {
    return ListenerWiring{.control = &control,
                          .verdicts = &verdicts,
                          .commands = &commands,
                          .metrics = [] { return std::string("haes_test_gauge 7\n"); },
                          .peer = {}};
  }
};

TEST(Listeners, EveryConfiguredPortOpensServesAndClosesOnStop) {
  Fixture f;
  Listeners l(f.config, f.wiring());
  ASSERT_TRUE(l.start());
  const BoundPorts p = l.ports();
  ASSERT_NE(p.spoe, 0);
  ASSERT_NE(p.health, 0);
  ASSERT_NE(p.agent_check, 0);
  EXPECT_EQ(p.admin, 0);  // admin.port not configured

  // /metrics (edge thread): the caller's gauges, then the listeners' counters.
  auto h = RawClient::tcp(p.health);
  ASSERT_TRUE(h.send("GET /metrics HTTP/1.0\r\n\r\n"));
  const std::string metrics = h.read_all(5s);
  EXPECT_NE(metrics.find("200 OK"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("haes_test_gauge 7\n"), std::string::npos);
  EXPECT_NE(metrics.find("haes_metrics_scrapes_total"), std::string::npos);
  EXPECT_NE(metrics.find("haes_spoe_connections"), std::string::npos);
  EXPECT_LT(metrics.find("haes_test_gauge"), metrics.find("haes_metrics_scrapes_total"));

  // The admin socket runs on the caller's control io_context.
  auto a = RawClient::unix_socket(f.socket);
  ASSERT_TRUE(a.send("ping\n"));
  std::string answer;
  ASSERT_TRUE(test::run_until(f.control, [&] {
    answer += a.read_all(5ms);
    return answer.find("pong") != std::string::npos;
  }));

  l.stop();
  test::runs_dry(f.control);
  EXPECT_TRUE(refused(p.spoe));
  EXPECT_TRUE(refused(p.health));
  EXPECT_TRUE(refused(p.agent_check));
  EXPECT_FALSE(std::filesystem::exists(f.socket));  // the socket file is removed
  l.stop();                                         // idempotent
}

TEST(Listeners, APortAlreadyInUseFailsStart) {
  Fixture f;
  // Hold a port the way another process would.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  f.config.health.listen->port = ntohs(a.sin_port);
  {
    Listeners l(f.config, f.wiring());
    EXPECT_FALSE(l.start());
    l.stop();
    test::runs_dry(f.control);
  }
  ::close(fd);
  EXPECT_FALSE(std::filesystem::exists(f.socket));  // start() stopped before the admin socket
}

}  // namespace
}  // namespace haes
