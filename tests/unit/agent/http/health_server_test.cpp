// The health port over loopback while the control thread publishes verdicts:
// every answer is whole and comes from one verdict. Under the sanitizer
// build (tests/sanitize/run.sh) this also catches an answer that reads a
// verdict freed by a publish in the middle of it.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

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
  EXPECT_EQ(counters.httpchk_up.load() + counters.httpchk_down.load(), 400u);
}

}  // namespace
}  // namespace haes
