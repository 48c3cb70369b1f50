// HealthMonitor's vitals reads against a minimal HTTP node (plain Asio,
// keep-alive): they are read and judged, the next node is tried when one
// fails them, and a vitals read that never gets an answer does not delay
// the health rounds.
#include "monitor/monitor.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace haes {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// What the node does with GET /_nodes/stats/...: answer, refuse (503), or
// hold the request without ever answering.
enum class StatsMode { kAnswer, kRefuse, kHold };

struct Node {
  explicit Node(asio::io_context& ctx, StatsMode m, int disk_used_percent = 30)
      : acceptor(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), mode(m), disk(disk_used_percent) {}

  std::string port() const { return std::to_string(acceptor.local_endpoint().port()); }

  std::string answer(const std::string& target, int& status) const {
    status = 200;
    if (target == "/") {
      return R"({"name":"n","cluster_name":"c","version":{"number":"8.15.0"}})";
    }
    if (target.starts_with("/_cluster/health")) {
      return R"({"cluster_name":"c","status":"green","number_of_nodes":2,"number_of_data_nodes":2,)"
             R"("unassigned_shards":0,"unassigned_primary_shards":0,"active_shards_percent_as_number":100.0})";
    }
    if (target.starts_with("/_cluster/state/blocks")) {
      return R"({"cluster_name":"c","cluster_uuid":"u","blocks":{}})";
    }
    if (target.starts_with("/_nodes/stats") && mode == StatsMode::kRefuse) {
      status = 503;
      return R"({"error":{"type":"master_not_discovered_exception","reason":"no master"},"status":503})";
    }
    if (target.starts_with("/_nodes/stats")) {
      const long total = 1000;
      return R"({"_nodes":{"total":1,"successful":1,"failed":0},"cluster_name":"c","nodes":{"id1":{"name":"es-data-1",)"
             R"("fs":{"total":{"total_in_bytes":)" +
             std::to_string(total) + R"(,"free_in_bytes":)" + std::to_string(total - total * disk / 100) +
             R"(,"available_in_bytes":)" + std::to_string(total - total * disk / 100) +
             R"(}},"jvm":{"mem":{"heap_used_in_bytes":300,"heap_max_in_bytes":1000,"heap_used_percent":30}}}}})";
    }
    status = 404;
    return R"({"error":"no handler"})";
  }

  asio::awaitable<void> serve_one(std::shared_ptr<tcp::socket> sp) {
    tcp::socket& s = *sp;
    boost::system::error_code ec;
    asio::streambuf buf;
    for (;;) {
      size_t n = co_await asio::async_read_until(s, buf, "\r\n\r\n", asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return;
      }
      std::string head(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<long>(n));
      buf.consume(n);
      const size_t sp1 = head.find(' ');
      const std::string target = head.substr(sp1 + 1, head.find(' ', sp1 + 1) - sp1 - 1);
      if (target.starts_with("/_nodes/stats")) {
        ++stats_requests;
        if (mode == StatsMode::kHold) {
          co_return;  // never answered; the socket stays open in `open`
        }
      }
      int status = 0;
      const std::string body = answer(target, status);
      const std::string reply = "HTTP/1.1 " + std::to_string(status) +
                                " X\r\nContent-Type: application/json\r\nX-Elastic-Product: Elasticsearch\r\n"
                                "Content-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body;
      co_await asio::async_write(s, asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return;
      }
    }
  }

  asio::awaitable<void> serve() {
    boost::system::error_code ec;
    for (;;) {
      tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return;
      }
      open.push_back(std::make_shared<tcp::socket>(std::move(s)));
      asio::co_spawn(acceptor.get_executor(), serve_one(open.back()), asio::detached);
    }
  }

  void close() {
    boost::system::error_code ec;
    acceptor.close(ec);
    for (auto& s : open) {
      s->close(ec);
    }
  }

  tcp::acceptor acceptor;
  StatsMode mode;
  int disk;
  int stats_requests = 0;
  std::vector<std::shared_ptr<tcp::socket>> open;  // every accepted connection
};

Config config_for(const std::vector<Node*>& nodes, const std::string& extra) {
  std::string list;
  for (size_t i = 0; i < nodes.size(); ++i) {
    list += std::string(i ? ", " : "") + "{name: es" + std::to_string(i + 1) +
            ", url: http://127.0.0.1:" + nodes[i]->port() + "}";
  }
  auto config = parse_config(
      "spoe: {listen: 127.0.0.1:12345}\n"
      "clusters:\n"
      "  - {name: dc1, nodes: [" +
          list +
          "]}\n"
          "  - {name: dc2, nodes: [" +
          list +
          "]}\n"
          "preferred: dc1\n" +
          extra,
      "test.yaml");
  EXPECT_TRUE(config.ok()) << config.error().message;
  return *config;
}

// Runs ctx until pred() or the deadline; returns pred().
template <class P>
bool run_until(asio::io_context& ctx, P pred, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < end) {
    ctx.run_for(std::chrono::milliseconds(10));
  }
  return pred();
}

void shut_down(asio::io_context& ctx, HealthMonitor& monitor, std::vector<Node*> nodes) {
  monitor.stop();
  for (auto* n : nodes) {
    n->close();
  }
  ctx.restart();
  ctx.run_for(std::chrono::seconds(3));
  EXPECT_TRUE(ctx.stopped()) << "a coroutine is left suspended after stop()";
}

TEST(HealthMonitorVitals, ReadAndJudgedAfterTheFirstRound) {
  asio::io_context ctx;
  Node node(ctx, StatsMode::kAnswer, 91);
  asio::co_spawn(ctx, node.serve(), asio::detached);
  Config config = config_for({&node},
                             "failover: {interval: 200ms, timeout: 150ms}\n"
                             "vitals: {interval: 1s, timeout: 500ms}\n");
  int rounds = 0;
  HealthMonitor monitor(ctx, config, [&](HealthRound) -> asio::awaitable<void> {
    ++rounds;
    co_return;
  });
  ASSERT_EQ(monitor.vitals().size(), 2u);
  EXPECT_FALSE(monitor.vitals()[0].last) << "nothing read before start()";
  monitor.start();
  ASSERT_TRUE(run_until(
      ctx, [&] { return monitor.vitals()[0].last && monitor.vitals()[1].last; }, std::chrono::seconds(5)));
  EXPECT_GE(rounds, 1) << "the first vitals read waits one round";
  const ClusterVitals& v = monitor.vitals()[0];
  EXPECT_EQ(v.cluster, "dc1");
  EXPECT_EQ(v.nodes_configured, 1u);
  EXPECT_EQ(v.last->from, "es1");
  ASSERT_EQ(v.last->nodes.size(), 1u);
  EXPECT_EQ(v.last->nodes[0].name, "es-data-1");
  EXPECT_NEAR(*v.last->nodes[0].disk_used_ratio, 0.91, 1e-9);
  EXPECT_NEAR(*v.last->nodes[0].heap_used_ratio, 0.30, 1e-9);
  EXPECT_EQ(v.last->health.number_of_nodes, 2);
  EXPECT_EQ(v.judgement.level, VitalsLevel::kCritical);
  EXPECT_TRUE(v.error.empty()) << v.error;
  EXPECT_EQ(monitor.stats().vitals_reads.at(0).value(VitalsResult::kOk), 1u);
  shut_down(ctx, monitor, {&node});
}

TEST(HealthMonitorVitals, TheNextNodeAnswersWhenOneRefuses) {
  asio::io_context ctx;
  Node refusing(ctx, StatsMode::kRefuse);
  Node good(ctx, StatsMode::kAnswer);
  asio::co_spawn(ctx, refusing.serve(), asio::detached);
  asio::co_spawn(ctx, good.serve(), asio::detached);
  Config config = config_for({&refusing, &good},
                             "failover: {interval: 200ms, timeout: 150ms}\n"
                             "vitals: {interval: 1s, timeout: 500ms}\n");
  HealthMonitor monitor(ctx, config, [](HealthRound) -> asio::awaitable<void> { co_return; });
  monitor.start();
  ASSERT_TRUE(run_until(
      ctx, [&] { return monitor.vitals()[0].last.has_value(); }, std::chrono::seconds(5)));
  EXPECT_EQ(monitor.vitals()[0].last->from, "es2");
  EXPECT_TRUE(monitor.vitals()[0].error.empty());
  // Every node refusing: the error names each, the last reading is kept.
  good.mode = StatsMode::kRefuse;
  ASSERT_TRUE(run_until(
      ctx, [&] { return !monitor.vitals()[0].error.empty(); }, std::chrono::seconds(5)));
  const std::string& e = monitor.vitals()[0].error;
  EXPECT_NE(e.find("es1: GET /_nodes/stats/fs,jvm: HTTP 503 master_not_discovered_exception"), std::string::npos) << e;
  EXPECT_NE(e.find("es2: GET /_nodes/stats/fs,jvm: HTTP 503"), std::string::npos) << e;
  EXPECT_TRUE(monitor.vitals()[0].last.has_value()) << "the last good reading stays, with its time";
  EXPECT_GE(monitor.stats().vitals_reads.at(0).value(VitalsResult::kFailed), 1u);
  shut_down(ctx, monitor, {&refusing, &good});
}

TEST(HealthMonitorVitals, AVitalsReadWithoutAnswerDoesNotDelayTheRounds) {
  asio::io_context ctx;
  Node node(ctx, StatsMode::kHold);
  asio::co_spawn(ctx, node.serve(), asio::detached);
  Config config = config_for({&node},
                             "failover: {interval: 100ms, timeout: 80ms}\n"
                             "vitals: {interval: 2s, timeout: 1500ms}\n");
  int rounds = 0;
  HealthMonitor monitor(ctx, config, [&](HealthRound) -> asio::awaitable<void> {
    ++rounds;
    co_return;
  });
  monitor.start();
  // Both clusters' vitals requests are held by the node.
  ASSERT_TRUE(run_until(
      ctx, [&] { return node.stats_requests >= 2; }, std::chrono::seconds(5)));
  const int before = rounds;
  // While they wait for their 1.5 s timeout, rounds go on every 100 ms.
  ASSERT_TRUE(run_until(
      ctx, [&] { return rounds >= before + 5; }, std::chrono::milliseconds(1200)))
      << "rounds stalled behind a vitals read: " << rounds - before << " round(s) in 1.2 s";
  EXPECT_FALSE(monitor.vitals()[0].last);
  EXPECT_TRUE(monitor.vitals()[0].error.empty()) << "the read has not timed out yet";
  // The timeout ends the read and says so.
  ASSERT_TRUE(run_until(
      ctx, [&] { return !monitor.vitals()[0].error.empty(); }, std::chrono::seconds(3)));
  EXPECT_NE(monitor.vitals()[0].error.find("es1: GET /_nodes/stats/fs,jvm: "), std::string::npos)
      << monitor.vitals()[0].error;
  shut_down(ctx, monitor, {&node});
}

TEST(HealthMonitorVitals, OffWithAZeroInterval) {
  asio::io_context ctx;
  Node node(ctx, StatsMode::kAnswer);
  asio::co_spawn(ctx, node.serve(), asio::detached);
  Config config = config_for({&node}, "failover: {interval: 100ms, timeout: 80ms}\nvitals: {interval: 0s}\n");
  int rounds = 0;
  HealthMonitor monitor(ctx, config, [&](HealthRound) -> asio::awaitable<void> {
    ++rounds;
    co_return;
  });
  monitor.start();
  ASSERT_TRUE(run_until(
      ctx, [&] { return rounds >= 5; }, std::chrono::seconds(5)));
  EXPECT_EQ(node.stats_requests, 0);
  EXPECT_EQ(monitor.vitals().size(), 2u);
  EXPECT_FALSE(monitor.vitals()[0].last);
  shut_down(ctx, monitor, {&node});
}

}  // namespace
}  // namespace haes
