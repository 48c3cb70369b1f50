// HealthMonitor::stop() in the middle of a round: the round still ends (its
// probes end within failover.timeout), so the io_context runs dry and no
// coroutine is left suspended forever.
#include "monitor/monitor.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace haes {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// A node that accepts connections and never answers: every probe of it
// waits for its whole timeout.
struct SilentNode {
  explicit SilentNode(asio::io_context& ctx) : acceptor(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}
  asio::awaitable<void> serve() {
    boost::system::error_code ec;
    for (;;) {
      tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return;
      }
      held.push_back(std::move(s));
    }
  }
  tcp::acceptor acceptor;
  std::vector<tcp::socket> held;
};

TEST(HealthMonitorStop, ARoundInFlightEndsAfterStopSoTheContextRunsDry) {
  asio::io_context ctx;
  SilentNode node(ctx);
  asio::co_spawn(ctx, node.serve(), asio::detached);
  const std::string port = std::to_string(node.acceptor.local_endpoint().port());
  auto config = parse_config(
      "spoe: {listen: 127.0.0.1:12345}\n"
      "clusters:\n"
      "  - {name: dc1, nodes: [{name: es1, url: http://127.0.0.1:" +
          port +
          "}]}\n"
          "  - {name: dc2, nodes: [{name: es1, url: http://127.0.0.1:" +
          port +
          "}]}\n"
          "preferred: dc1\n"
          "failover: {interval: 1s, timeout: 300ms}\n",
      "test.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  int rounds = 0;
  HealthMonitor monitor(ctx, *config, [&](HealthRound) -> asio::awaitable<void> {
    ++rounds;
    co_return;
  });
  monitor.start();
  // Let the probes connect: the round is now in flight.
  for (int i = 0; i < 200 && node.held.size() < 2; ++i) {
    ctx.run_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(node.held.size(), 2u) << "both probes should be waiting on the silent node";
  monitor.stop();
  boost::system::error_code ec;
  node.acceptor.close(ec);
  ctx.restart();
  const auto t0 = std::chrono::steady_clock::now();
  ctx.run_for(std::chrono::seconds(5));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(ctx.stopped()) << "the stopped round never ended: a coroutine is suspended forever";
  EXPECT_LT(took, std::chrono::seconds(4));
  EXPECT_EQ(rounds, 0) << "no round is reported after stop()";
}

}  // namespace
}  // namespace haes
