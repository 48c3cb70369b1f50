#pragma once
// Listeners: every port the agent serves, built from the config, opened,
// stopped and counted in one place.
//  - the SPOP server (haes-route; its own threads);
//  - the health and agent-check ports (/metrics, GET /peer), run by the edge
//    thread, which this component owns;
//  - the admin socket and the admin port (HTTPS), run by the control thread's
//    io_context, which the caller owns and runs.
// Every listener only reads the published verdict and runs commands through
// the command table: nothing here decides or writes the state.
// Shutdown: stop() closes every listener and session, stops and joins the
// edge thread and runs what it cancelled to completion; the caller stops and
// drains the control io_context before destroying this object.
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "admin/admin_server.hpp"
#include "admin/command_table.hpp"
#include "admin_port/admin_port.hpp"
#include "config/config.hpp"
#include "http/agent_check_server.hpp"
#include "http/health_server.hpp"
#include "metrics/stats.hpp"
#include "route/route_handler.hpp"
#include "spoe/server.hpp"
#include "verdict/verdict.hpp"

namespace haes {

struct ListenerWiring {
  boost::asio::io_context* control = nullptr;  // runs the admin socket and port
  const VerdictView* verdicts = nullptr;
  const admin::CommandTable* commands = nullptr;
  std::function<std::string()> metrics;  // the state gauges of /metrics (edge thread)
  std::function<std::string()> peer;     // GET /peer; null: one agent, 404
};

// The ports bound by start() (0: not configured); a configured port 0 is
// the one the kernel picked.
struct BoundPorts {
  uint16_t spoe = 0;
  uint16_t health = 0;
  uint16_t agent_check = 0;
  uint16_t admin = 0;
};

class Listeners {
 public:
  // Builds the SPOP server (nothing listens yet).
  Listeners(const Config& config, ListenerWiring wiring);
  ~Listeners();  // stop(), then the servers, then the edge io_context
  Listeners(const Listeners&) = delete;
  Listeners& operator=(const Listeners&) = delete;

  // Opens every configured port, logging each; the edge thread starts last.
  // false: one could not be opened (a critical line names it and why).
  bool start();
  // Idempotent; see the header comment.
  void stop();
  // The listeners' counters: health, agent-check and admin ports, routes,
  // the SPOP server.
  void export_stats(MetricsText& out) const;
  BoundPorts ports() const;

 private:
  bool start_edge();
  bool start_admin();

  const Config& config_;
  ListenerWiring wiring_;
  // Declared first, destroyed last.
  std::unique_ptr<boost::asio::io_context> edge_;
  std::thread edge_thread_;
  HealthPortStats health_stats_;
  RouteStats route_stats_;
  std::unique_ptr<spoe::Server> spoe_;
  std::unique_ptr<HealthServer> health_;
  std::unique_ptr<AgentCheckServer> agent_check_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::unique_ptr<AdminPort> admin_port_;
  bool stopped_ = false;
};

}  // namespace haes
