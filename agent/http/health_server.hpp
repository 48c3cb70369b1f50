#pragma once
// The health port (docs/health-endpoints.md): HAProxy's `option httpchk`
// asks it whether a node may take traffic; Prometheus scrapes /metrics.
// Every answer comes from the published verdict; nothing here waits on
// Elasticsearch, disk or the control thread.
//
//   GET|HEAD|OPTIONS /lb/<cluster>/<node>  200 "OK ..." | 503 "<reason>" | 404
//   GET|HEAD|OPTIONS /lb/<cluster>         the cluster as a whole
//   GET|HEAD|OPTIONS /lb                   the node named by health.node
//   GET|HEAD|OPTIONS /                     200: the agent is alive (says nothing about nodes)
//   GET /metrics                           Prometheus text format
//   GET /peer                              several agents: this agent's view (JSON), for its peers' failsafe
//
// Runs on the executor it is given (the agent's edge thread). Sessions
// follow spoe/session.hpp: each connection is a shared Session owned by its
// coroutines, with one Deadline: a request (line and headers) must arrive
// whole within request_timeout and its answer be taken within it, or the
// connection is cut (slow-loris); at most max_connections at once, the next
// ones closed at once, counted and logged (rate-limited). stop() closes the
// acceptor and every session: the io_context then runs dry.

#include <utility>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "config/config.hpp"
#include "metrics/stats.hpp"
#include "spoe/session.hpp"
#include "verdict/verdict.hpp"

namespace haes {

// up: 200 for a node/cluster; down: 503; unknown: 404, no such node;
// bad_request: 4xx for a malformed request.
#define HAES_HTTPCHK_RESULT_LIST(X) X(kUp, "up") X(kDown, "down") X(kUnknown, "unknown") X(kBadRequest, "bad_request")
HAES_ENUM(HttpchkResult, uint8_t, "result", HAES_HTTPCHK_RESULT_LIST)
#define HAES_AGENTCHECK_RESULT_LIST(X) X(kUp, "up") X(kDown, "down") X(kMaint, "maint")
HAES_ENUM(AgentCheckResult, uint8_t, "result", HAES_AGENTCHECK_RESULT_LIST)
// Which port a connection limit was hit on.
#define HAES_EDGE_PORT_LIST(X) X(kHealth, "health") X(kAgentCheck, "agent_check") X(kAdmin, "admin") X(kSpoe, "spoe")
HAES_ENUM(EdgePort, uint8_t, "port", HAES_EDGE_PORT_LIST)

// Counters of the health and agent-check ports (edge thread).
struct HealthPortStats {
  EnumCounter<HttpchkResult> httpchk;
  EnumCounter<AgentCheckResult> agentcheck;
  Counter metrics_scrapes;
  EnumCounter<EdgePort> connections_refused;

  template <class V>
  void visit(V& v) const {
    v(httpchk, "haes_httpchk_total", "Health-port answers by result.");
    v(agentcheck, "haes_agentcheck_total", "Agent-check answers by result.");
    v(metrics_scrapes, "haes_metrics_scrapes_total", "GET /metrics answered.");
    v(connections_refused, "haes_connections_refused_total",
      "Connections closed at once because the port's connection limit was reached.");
  }
};
using HealthCounters = HealthPortStats;

struct HealthServerOptions {
  Endpoint listen;
  std::string local_node;  // "cluster/node" for /lb; empty: none
  std::chrono::milliseconds request_timeout{5000};
  size_t max_connections = 256;
  std::function<std::string()> metrics;  // renders /metrics; null: 404
  std::function<std::string()> peer;     // GET /peer (several agents: the failsafe); null: 404
};

// The answer for one node or cluster, shared by the HTTP and agent-check ports.
struct NodeAnswer {
  enum Kind { kUp, kDown, kFenced, kUnknown } kind = kUnknown;
  std::string text;  // one line, no newline
};
NodeAnswer answer_for(const Verdict& v, std::string_view cluster, std::string_view node);

class HealthServer {
 public:
  HealthServer(boost::asio::io_context& ctx, HealthServerOptions options, const VerdictView& view,
               HealthCounters& counters);
  ~HealthServer();
  void start();  // binds; throws std::system_error
  // Closes the acceptor and every session (on the server's executor: posted
  // when called from another thread). Idempotent.
  void stop();
  uint16_t port() const { return port_; }
  // Live sessions (on the server's executor; for tests).
  size_t sessions() { return sessions_.live(); }

  class Session;
  struct Shared;  // what sessions need of the server, shared with them

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
