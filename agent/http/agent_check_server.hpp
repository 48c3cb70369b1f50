#pragma once
// HAProxy's agent-check protocol (docs/health-endpoints.md): HAProxy
// connects, may send its `agent-send` string naming the node
// ("dc1/es1\n" or "dc1 es1\n"), and reads one line:
//   may take traffic          "up ready\n"
//   fenced cluster            "maint #<reason>\n"   (MAINT until an operator brings it back)
//   passive, bad, unreachable "down ready #<reason>\n"
//   unknown node              "down #unknown node ...\n"
// If nothing arrives within `send_wait`, the answer is for health.node.

#include <utility>

#include <chrono>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "http/health_server.hpp"

namespace haes {

struct AgentCheckOptions {
  Endpoint listen;
  std::string local_node;                           // "cluster/node"
  std::chrono::milliseconds send_wait{300};         // how long to wait for agent-send
  size_t max_connections = 256;
};

// The reply line for a node (pure; used by the server and its tests).
std::string agent_check_reply(const Verdict& v, std::string_view request, std::string_view local_node,
                              HealthCounters* counters = nullptr);

class AgentCheckServer {
 public:
  AgentCheckServer(boost::asio::io_context& ctx, AgentCheckOptions options, const VerdictView& view,
                   HealthCounters& counters);
  void start();  // binds; throws std::system_error
  void stop();
  uint16_t port() const { return port_; }

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ctx_;
  AgentCheckOptions options_;
  const VerdictView& view_;
  HealthCounters& counters_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  size_t connections_ = 0;
};

}  // namespace haes
