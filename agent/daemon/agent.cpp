#include "daemon/agent.hpp"

#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "daemon/logging.hpp"
#include "verdict/builder.hpp"

namespace haes {

Agent::Agent(Config config) : config_(std::move(config)) {
  state_.epoch = 1;
  state_.active = config_.preferred;
  state_.reason = "first start: the preferred cluster is active";
  state_.changed_by = "config";
  state_.changed_at = now_sys();
  publish_verdict();

  spoe::ServerOptions o;
  o.host = config_.spoe.listen.host;
  o.port = config_.spoe.listen.port;
  o.threads = static_cast<unsigned>(config_.spoe.threads);
  o.max_frame_size = static_cast<uint32_t>(config_.spoe.max_frame_size);
  o.idle_timeout = config_.spoe.idle_timeout;
  o.log = spoe_log_sink();
  spoe_ = std::make_unique<spoe::Server>(o, RouteHandler(verdicts_, route_counters_));
}

Agent::~Agent() {
  if (spoe_) {
    spoe_->stop();
  }
  stop_edge();
}

void Agent::start_edge() {
  if (config_.health.listen) {
    HealthServerOptions o;
    o.listen = *config_.health.listen;
    o.local_node = config_.health.node;
    health_ = std::make_unique<HealthServer>(edge_, o, verdicts_, health_counters_);
    health_->start();
    spdlog::info("health port listening on {}", config_.health.listen->to_string());
  }
  if (config_.agent_check.listen) {
    AgentCheckOptions o;
    o.listen = *config_.agent_check.listen;
    o.local_node = config_.health.node;
    agent_check_ = std::make_unique<AgentCheckServer>(edge_, o, verdicts_, health_counters_);
    agent_check_->start();
    spdlog::info("agent-check port listening on {}", config_.agent_check.listen->to_string());
  }
  edge_thread_ = std::thread([this] {
    auto guard = boost::asio::make_work_guard(edge_);
    edge_.run();
  });
}

void Agent::stop_edge() {
  if (edge_thread_.joinable()) {
    edge_.stop();
    edge_thread_.join();
  }
}

void Agent::publish_verdict() {
  VerdictInputs in;
  in.state = &state_;
  for (const auto& c : config_.clusters) {
    ClusterNodes cn{c.name, {}};
    for (const auto& n : c.nodes) {
      cn.nodes.push_back(n.name);
    }
    in.clusters.push_back(std::move(cn));
  }
  in.fail_threshold = static_cast<int>(config_.failover.fail_threshold);
  in.now = now_sys();
  auto v = std::make_shared<Verdict>(build_verdict(in));
  v->spoe_actions = encode_route_actions(*v);
  verdicts_.publish(std::move(v));
}

int Agent::run() {
  try {
    spoe_->start();
  } catch (const std::system_error& e) {
    spdlog::critical("cannot listen on spoe.listen {}: {}", config_.spoe.listen.to_string(),
                     e.what());
    return 1;
  }
  try {
    start_edge();
  } catch (const std::system_error& e) {
    spdlog::critical("cannot listen on the health or agent-check port: {}", e.what());
    return 1;
  }
  spdlog::info("haes-agent started: epoch {}, active {}", state_.epoch, state_.active);
  boost::asio::signal_set signals(control_, SIGINT, SIGTERM);
  signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (!ec) {
      spdlog::info("signal {} received, stopping", sig);
      control_.stop();
    }
  });
  control_.run();
  spoe_->stop();
  stop_edge();
  spdlog::info("haes-agent stopped");
  return 0;
}

}  // namespace haes
