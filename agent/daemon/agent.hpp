#pragma once
// Agent: owns every component of haes-agent and wires them together.
//
// Threads: the control thread (the caller of run()) runs the background
// work: health rounds, the failover controller, the state store, the admin
// socket, hooks are queued to their own thread. The SPOP server runs on its
// own threads and only reads the published verdict.

#include <utility>

#include <memory>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "common/state.hpp"
#include "config/config.hpp"
#include "daemon/route_handler.hpp"
#include "http/agent_check_server.hpp"
#include "http/health_server.hpp"
#include "spoe/server.hpp"
#include "verdict/verdict.hpp"

namespace haes {

class Agent {
 public:
  explicit Agent(Config config);  // throws on start-up failures, with a message for operators
  ~Agent();
  // Runs until SIGTERM or SIGINT; returns the process exit code.
  int run();

 private:
  void publish_verdict();
  void start_edge();
  void stop_edge();

  Config config_;
  boost::asio::io_context control_;
  // The edge thread serves the health and agent-check ports, so that slow
  // control work (fsync, hooks) never delays an answer to HAProxy.
  boost::asio::io_context edge_;
  std::thread edge_thread_;
  HealthCounters health_counters_;
  std::unique_ptr<HealthServer> health_;
  std::unique_ptr<AgentCheckServer> agent_check_;
  State state_;
  VerdictView verdicts_;
  RouteCounters route_counters_;
  std::unique_ptr<spoe::Server> spoe_;
};

}  // namespace haes
