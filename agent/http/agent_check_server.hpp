#pragma once
// HAProxy's agent-check protocol (docs/health-endpoints.md): HAProxy
// connects, may send its `agent-send` string naming the node
// ("dc1/es1\n" or "dc1 es1\n"; words after the first are ignored), and
// reads one line:
//   may take traffic          "up\n"
//   fenced cluster            "maint #<reason>\n"   (MAINT: no traffic, no health checks)
//   passive, bad, unreachable "down #<reason>\n"
//   unknown node              "down #unknown node ...\n"
// "ready" is added to an up or down answer only to lift a MAINT the agent
// itself set (agent-check: only the agent may revert its own actions, and
// "ready" clears any MAINT or DRAIN, an operator's included): after it
// answered "maint" to that HAProxy for that agent-send line, or on first
// contact since the agent started, and then for ready_grace (so that every
// server line sharing the line gets it), never otherwise. An operator's
// "set server ... state drain|maint" therefore holds.
// If nothing arrives within `send_wait`, the answer is for health.node.
#include <utility>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "http/health_server.hpp"

namespace haes {

struct AgentCheckOptions {
  Endpoint listen;
  std::string local_node;                         // "cluster/node"
  std::chrono::milliseconds send_wait{300};       // how long to wait for agent-send
  std::chrono::milliseconds write_timeout{3000};  // for HAProxy to take the answer
  size_t max_line = 256;                          // longest agent-send string
  size_t max_connections = 256;
  std::chrono::milliseconds ready_grace{10'000};  // see ReadyLedger
};

// Who is owed a "ready": one entry per (HAProxy address, agent-send line).
// Owed after a "maint" answer and on first contact; paid with every up/down
// answer until ready_grace after the first one, then no more. Bounded:
// entries unseen for an hour are dropped once it holds 4096.
class ReadyLedger {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ReadyLedger(std::chrono::milliseconds grace) : grace_(grace) {}
  // Whether this answer to `key` carries "ready"; `maint`: the answer is "maint".
  bool ready(const std::string& key, bool maint, Clock::time_point now);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    bool owed = true;  // first contact
    std::optional<Clock::time_point> first_ready;
    Clock::time_point last_seen;
  };
  std::chrono::milliseconds grace_;
  std::unordered_map<std::string, Entry> entries_;
};

// The reply line for a node (pure; used by the server and its tests).
// `ready`: add the word to an up or down answer (see ReadyLedger).
struct AgentCheckReply {
  std::string line;
  bool maint = false;  // the answer is "maint" (owed a ready later)
  bool known = true;   // the node exists (else never "ready")
};
AgentCheckReply agent_check_reply(const Verdict& v, std::string_view request, std::string_view local_node, bool ready,
                                  HealthCounters* counters = nullptr);

class AgentCheckServer {
 public:
  AgentCheckServer(boost::asio::io_context& ctx, AgentCheckOptions options, const VerdictView& view,
                   HealthCounters& counters);
  ~AgentCheckServer();
  void start();  // binds; throws std::system_error
  // Closes the acceptor and every session (on the server's executor).
  void stop();
  uint16_t port() const { return port_; }
  size_t sessions() { return sessions_.live(); }  // on the server's executor; for tests

  class Session;
  struct Shared;

 private:
  boost::asio::awaitable<void> accept_loop();

  boost::asio::io_context& ctx_;
  std::shared_ptr<Shared> shared_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  spoe::net::SessionSet<Session> sessions_;
  spoe::net::LogLimiter refused_log_;
  bool stopped_ = false;
};

}  // namespace haes
