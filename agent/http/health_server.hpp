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
//
// Runs on the executor it is given (the agent's edge thread).

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
#include "verdict/verdict.hpp"

namespace haes {

struct HealthCounters {
  std::atomic<uint64_t> httpchk_up{0};        // 200 for a node/cluster
  std::atomic<uint64_t> httpchk_down{0};      // 503
  std::atomic<uint64_t> httpchk_unknown{0};   // 404: no such node
  std::atomic<uint64_t> bad_requests{0};      // 4xx/5xx for malformed requests
  std::atomic<uint64_t> metrics_scrapes{0};
  std::atomic<uint64_t> agentcheck_up{0};
  std::atomic<uint64_t> agentcheck_down{0};
  std::atomic<uint64_t> agentcheck_maint{0};
};

struct HealthServerOptions {
  Endpoint listen;
  std::string local_node;                       // "cluster/node" for /lb; empty: none
  std::chrono::milliseconds request_timeout{5000};
  size_t max_connections = 256;
  std::function<std::string()> metrics;         // renders /metrics; null: 404
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
  void stop();
  uint16_t port() const { return port_; }

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);
  struct Response;
  Response route(const std::string& method, const std::string& target);

  boost::asio::io_context& ctx_;
  HealthServerOptions options_;
  const VerdictView& view_;
  HealthCounters& counters_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::shared_ptr<std::atomic<size_t>> connections_;
};

}  // namespace haes
