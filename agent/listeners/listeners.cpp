#include "listeners/listeners.hpp"

#include <filesystem>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <spdlog/spdlog.h>

#include "es/client.hpp"
#include "spoe/session.hpp"

namespace haes {
namespace {

// Routes the SPOP library's lines into the log as component "spoe".
spoe::LogFn spoe_log_sink() {
  return [](spoe::LogLevel level, std::string_view text) {
    switch (level) {
      case spoe::LogLevel::kDebug: spdlog::debug("[spoe] {}", text); break;
      case spoe::LogLevel::kInfo: spdlog::info("[spoe] {}", text); break;
      case spoe::LogLevel::kWarn: spdlog::warn("[spoe] {}", text); break;
      case spoe::LogLevel::kError: spdlog::error("[spoe] {}", text); break;
    }
  };
}

spoe::ServerOptions spoe_options(const SpoeConfig& c) {
  spoe::ServerOptions o;
  o.host = c.listen.host;
  o.port = c.listen.port;
  o.threads = static_cast<unsigned>(c.threads);
  o.max_frame_size = static_cast<uint32_t>(c.max_frame_size);
  o.idle_timeout = c.idle_timeout;
  o.max_connections = static_cast<size_t>(c.max_connections);
  o.max_output_bytes = static_cast<size_t>(c.max_output_bytes);
  o.write_timeout = c.write_timeout;
  o.log = spoe_log_sink();
  return o;
}

}  // namespace

Listeners::Listeners(const Config& config, ListenerWiring wiring)
    : config_(config), wiring_(std::move(wiring)), edge_(std::make_unique<boost::asio::io_context>()) {
  spoe::ServerOptions o = spoe_options(config_.spoe);
  o.on_refused = [this] { health_stats_.connections_refused.inc(EdgePort::kSpoe); };
  spoe_ = std::make_unique<spoe::Server>(o, RouteHandler(*wiring_.verdicts, route_stats_));
}

Listeners::~Listeners() {
  stop();
  agent_check_.reset();
  health_.reset();
  spoe_.reset();
  admin_port_.reset();
  admin_.reset();
}

bool Listeners::start() {
  try {
    spoe_->start();
  } catch (const std::exception& e) {
    spdlog::critical("cannot listen on spoe.listen {}: {}", config_.spoe.listen.to_string(), e.what());
    return false;
  }
  if (!start_edge() || !start_admin()) {
    return false;
  }
  // Last: every component /metrics reads exists before the edge thread runs.
  edge_thread_ = std::thread([this] {
    auto guard = boost::asio::make_work_guard(*edge_);
    edge_->run();
  });
  return true;
}

namespace {

// Builds an edge server on `edge` and starts it; false after a critical line
// naming the config key when it cannot listen.
template <class Server, class Options>
bool open_edge(std::unique_ptr<Server>& server, const char* key, boost::asio::io_context& edge, const Options& o,
               const VerdictView& verdicts, HealthPortStats& stats) {
  try {
    server = std::make_unique<Server>(edge, o, verdicts, stats);
    server->start();
  } catch (const std::exception& e) {  // boost::system::system_error is not a std::system_error
    spdlog::critical("cannot listen on {} {}: {}", key, o.listen.to_string(), e.what());
    return false;
  }
  spdlog::info("{} {}: listening", key, o.listen.to_string());
  return true;
}

}  // namespace

bool Listeners::start_edge() {
  if (config_.health.listen) {
    HealthServerOptions o;
    o.listen = *config_.health.listen;
    o.local_node = config_.health.node;
    o.max_connections = static_cast<size_t>(config_.health.max_connections);
    o.metrics = [this] {
      std::string out = wiring_.metrics();
      MetricsText m;
      export_stats(m);
      return out + m.take();
    };
    o.peer = wiring_.peer;
    if (!open_edge(health_, "health.listen", *edge_, o, *wiring_.verdicts, health_stats_)) {
      return false;
    }
  }
  if (config_.agent_check.listen) {
    AgentCheckOptions o;
    o.listen = *config_.agent_check.listen;
    o.local_node = config_.health.node;
    o.max_connections = static_cast<size_t>(config_.agent_check.max_connections);
    o.ready_grace = config_.agent_check.ready_grace;
    return open_edge(agent_check_, "agent_check.listen", *edge_, o, *wiring_.verdicts, health_stats_);
  }
  return true;
}

bool Listeners::start_admin() {
  std::error_code ec;
  auto dir = std::filesystem::path(config_.admin.socket).parent_path();
  if (!dir.empty()) {
    std::filesystem::create_directories(dir, ec);
  }
  if (ec) {
    spdlog::critical("cannot create the directory of admin.socket {}: {}", dir.string(), ec.message());
    return false;
  }
  admin_ = std::make_unique<admin::AdminServer>(
      *wiring_.control, config_.admin.socket, static_cast<unsigned>(config_.admin.mode), *wiring_.commands,
      admin::AdminServerOptions{.max_connections = static_cast<size_t>(config_.admin.max_connections),
                                .on_refused = [this] { health_stats_.connections_refused.inc(EdgePort::kAdmin); }});
  if (auto a = admin_->start(); !a) {
    spdlog::critical("{}", a.error().message);
    return false;
  }
  spdlog::info("admin socket {} (mode {:04o})", config_.admin.socket, config_.admin.mode);
  if (!config_.admin.port.listen) {
    return true;
  }
  const AdminPortConfig& pc = config_.admin.port;
  AdminPortOptions o;
  o.listen = *pc.listen;
  o.cert_file = pc.cert_file;
  o.key_file = pc.key_file;
  o.client_ca_file = pc.client_ca_file;
  if (!pc.token_file.empty() || !pc.token_env.empty()) {
    auto t = es::read_secret(pc.token_file, pc.token_env, "admin.port.token");
    if (!t) {
      spdlog::critical("{}", t.error().message);
      return false;
    }
    o.token = *t;
  }
  try {
    admin_port_ = std::make_unique<AdminPort>(*wiring_.control, o, *wiring_.commands);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return false;
  }
  if (auto a = admin_port_->start(); !a) {
    spdlog::critical("{}", a.error().message);
    return false;
  }
  spdlog::info("admin port https://{} ({}{}{})", pc.listen->to_string(),
               pc.client_ca_file.empty() ? "" : "client certificates of " + pc.client_ca_file,
               !pc.client_ca_file.empty() && !o.token.empty() ? " or " : "", o.token.empty() ? "" : "bearer token");
  return true;
}

void Listeners::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  if (admin_) {
    admin_->stop();
  }
  if (admin_port_) {
    admin_port_->stop();
  }
  spoe_->stop();
  // The edge servers run on the edge thread: stop it first, then close
  // their listeners from here (no thread runs them any more).
  edge_->stop();
  if (edge_thread_.joinable()) {
    edge_thread_.join();
  }
  if (health_) {
    health_->stop();
  }
  if (agent_check_) {
    agent_check_->stop();
  }
  spoe::net::drain(*edge_);
}

BoundPorts Listeners::ports() const {
  return BoundPorts{.spoe = spoe_->port(),
                    .health = health_ ? health_->port() : uint16_t{0},
                    .agent_check = agent_check_ ? agent_check_->port() : uint16_t{0},
                    .admin = admin_port_ ? admin_port_->port() : uint16_t{0}};
}

void Listeners::export_stats(MetricsText& out) const {
  if (admin_port_) {
    haes::export_stats(out, admin_port_->stats());
  }
  haes::export_stats(out, health_stats_);
  haes::export_stats(out, route_stats_);
  export_spoe_stats(out, spoe_->stats());
}

}  // namespace haes
