#include "daemon/agent.hpp"

#include <filesystem>
#include <stdexcept>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "ccr/commands.hpp"
#include "cluster/pair_report.hpp"
#include "cluster/rules.hpp"
#include "commands/commands.hpp"
#include "daemon/logging.hpp"
#include "etcd/store.hpp"
#include "metrics/stats.hpp"
#include "monitor/changes.hpp"

namespace haes {
namespace {

ControllerConfig controller_config(const Config& c) {
  ControllerConfig cc;
  for (const auto& cl : c.clusters) {
    cc.clusters.push_back(cl.name);
  }
  cc.preferred = c.preferred;
  cc.fail_threshold = static_cast<int>(c.failover.fail_threshold);
  cc.hold_down = c.failover.hold_down;
  cc.automatic = c.failover.automatic;
  return cc;
}

std::unique_ptr<StateStore> open_configured_store(const Config& config, boost::asio::io_context& io) {
  if (config.state.store == StoreKind::kEtcd) {
    auto etcd =
        etcd::open_etcd_store(config.state.etcd, io.get_executor(), static_cast<size_t>(config.state.journal_size));
    if (!etcd) {
      throw std::runtime_error(etcd.error().message);
    }
    return std::move(*etcd);
  }
  auto opened = open_store(config.state);
  if (!opened) {
    throw std::runtime_error(opened.error().message);
  }
  for (const auto& w : opened->warnings) {
    spdlog::warn("state store: {}", w);
  }
  return std::move(opened->store);
}

std::vector<StreakInfo> streaks_of(const FailoverController& c) {
  std::vector<StreakInfo> out;
  for (const auto& name : c.config().clusters) {
    out.push_back(StreakInfo{name, c.bad_rounds(name)});
  }
  return out;
}

// Runs `aw` on `ctx` until it completes (start-up only, before run()).
// Rethrows what it threw.
void run_to_completion(boost::asio::io_context& ctx, boost::asio::awaitable<void> aw) {
  bool done = false;
  std::exception_ptr failure;
  boost::asio::co_spawn(ctx, std::move(aw), [&](std::exception_ptr e) {
    failure = e;
    done = true;
  });
  ctx.restart();
  while (!done && ctx.run_one() > 0) {
  }
  if (failure) {
    std::rethrow_exception(failure);
  }
}

// Runs what stop() cancelled to completion, so that no coroutine frame is
// left to be destroyed with its io_context after the component it uses.
void drain(boost::asio::io_context& ctx) {
  ctx.restart();
  for (int i = 0; i < 1000 && ctx.poll() > 0; ++i) {
  }
}

}  // namespace

Agent::Agent(Config config)
    : config_(std::move(config)),
      control_(std::make_unique<boost::asio::io_context>()),
      edge_(std::make_unique<boost::asio::io_context>()),
      store_(open_configured_store(config_, *control_)),
      controller_(controller_config(config_)),
      publisher_(config_, verdicts_, encode_route_actions) {
  hooks_ =
      std::make_unique<HookRunner>(config_.failover.on_role_change_command, config_.failover.on_role_change_timeout);
  pipeline_ = std::make_unique<TransitionPipeline>(
      *store_, [this](const State& s) { publish(s); }, [this](const RoleChange& c) { hooks_->submit(c); },
      config_.preferred);
  if (config_.sync && config_.sync->mode == SyncMode::kCcr) {
    ccr_ = std::make_unique<CcrService>(*control_, config_, *pipeline_, [this] { refresh_status_metrics(); });
    pipeline_->set_prepare([this](Change& c) { return ccr_->prepare(c); });
  }
  if (config_.state.store == StoreKind::kEtcd) {
    etcd_ = static_cast<etcd::EtcdStore*>(store_.get());
    cluster::CoordinatorOptions co;
    co.name = config_.agent.name;
    co.peer_url = cluster::advertised_peer_url(config_.health);
    co.admin_url = cluster::advertised_admin_url(config_.admin.port);
    co.poll_interval = config_.state.etcd.poll_interval;
    co.lease_ttl = config_.state.etcd.lease_ttl;
    co.window.stale_after = config_.state.etcd.stale_after;
    cluster::Coordinator::Hooks hooks;
    hooks.adopt = [this](const State& s) { pipeline_->adopt(s); };
    hooks.record = [this] {
      return cluster::agent_record(config_, pipeline_->state(), latest_round_ ? &*latest_round_ : nullptr, controller_,
                                   coordinator_.get(), now_sys());
    };
    hooks.changed = [this] { on_coordinator_change(); };
    coordinator_ = std::make_unique<cluster::Coordinator>(*control_, *etcd_, co, std::move(hooks));
    auto fo = cluster::forward_options(config_.admin.port);
    if (!fo) {
      throw std::runtime_error(fo.error().message);
    }
    forwarder_ = std::make_unique<cluster::LeaderForwarder>(control_->get_executor(), *coordinator_, *fo);
    publish(pipeline_->state());  // nothing known yet: no cluster may take traffic
  } else {
    run_to_completion(*control_, start_state());
  }
  monitor_ =
      std::make_unique<HealthMonitor>(*control_, config_, [this](HealthRound r) { return on_round(std::move(r)); });
  if (config_.sync && config_.sync->mode == SyncMode::kSnapshot) {
    sync_ = std::make_unique<SnapshotSync>(
        *control_, config_,
        SyncContext{controller_, *pipeline_, [this] { return latest_round_ ? &*latest_round_ : nullptr; },
                    // Several agents: only the leader syncs on its own (one agent: always).
                    !coordinator_ ? sync::MayRunNow{} : [this]() -> std::optional<std::string> {
                      if (coordinator_->leader(std::chrono::steady_clock::now())) {
                        return std::nullopt;
                      }
                      const std::string& l = coordinator_->leader_name();
                      return "this agent is not the leader (" + (l.empty() ? std::string("none elected") : l) +
                             " runs the syncs)";
                    }});
  }
  if (ccr_ && coordinator_) {
    ccr_->set_may_run([this] { return coordinator_->leader(std::chrono::steady_clock::now()); });
  }
  if (sync_) {
    drill_ = std::make_unique<DrillRunner>(
        *control_, config_,
        DrillContext{controller_, *pipeline_, *sync_, [this] { return latest_round_ ? &*latest_round_ : nullptr; },
                     [this] { return readiness_now(); },
                     [this] { return !coordinator_ || coordinator_->leader(std::chrono::steady_clock::now()); }});
  }
  CommandsContext cc;
  cc.drill = drill_.get();
  // Judged afresh: the state (a sync point) may have moved since the last round.
  cc.readiness = [this]() -> std::optional<ReadinessVerdict> {
    if (!latest_round_) {
      return std::nullopt;
    }
    return readiness_now();
  };
  cc.config = &config_;
  cc.controller = &controller_;
  cc.pipeline = pipeline_.get();
  cc.sync = sync_.get();
  cc.latest_round = [this] { return latest_round_ ? &*latest_round_ : nullptr; };
  cc.status = [this] { return status_now(); };
  if (forwarder_) {
    cc.on_leader = [this](std::string line, admin::Peer peer) {
      return forwarder_->forward(std::move(line), std::move(peer));
    };
  }
  if (ccr_) {
    cc.planned_move = [this](std::string target, bool dry_run, CommandsContext::SwitchRoles sw) {
      return ccr_->planned_switch(std::move(target), dry_run, std::move(sw));
    };
  }
  register_commands(commands_, cc);
  register_ccr_commands(commands_, ccr_.get(), cc.on_leader);
  commands_.seal();
  commands_.set_observer([this] { refresh_status_metrics(); });
  refresh_status_metrics();

  spoe::ServerOptions o;
  o.host = config_.spoe.listen.host;
  o.port = config_.spoe.listen.port;
  o.threads = static_cast<unsigned>(config_.spoe.threads);
  o.max_frame_size = static_cast<uint32_t>(config_.spoe.max_frame_size);
  o.idle_timeout = config_.spoe.idle_timeout;
  o.max_connections = static_cast<size_t>(config_.spoe.max_connections);
  o.max_output_bytes = static_cast<size_t>(config_.spoe.max_output_bytes);
  o.write_timeout = config_.spoe.write_timeout;
  o.on_refused = [this] { health_stats_.connections_refused.inc(EdgePort::kSpoe); };
  o.log = spoe_log_sink();
  spoe_ = std::make_unique<spoe::Server>(o, RouteHandler(verdicts_, route_stats_));
}

Agent::~Agent() {
  stop_all();
  // Components hold sockets and timers of the io_contexts: they go first,
  // the io_contexts (declared first) last.
  agent_check_.reset();
  health_.reset();
  spoe_.reset();
  admin_port_.reset();
  admin_.reset();
  drill_.reset();
  sync_.reset();
  ccr_.reset();
  monitor_.reset();
  coordinator_.reset();
}

boost::asio::awaitable<void> Agent::start_state() {
  auto loaded = co_await pipeline_->load();
  if (!loaded) {
    throw std::runtime_error("state store " + store_->describe() + ": " + loaded.error().message +
                             " — the agent refuses to guess roles; restore the file from a backup or, if you "
                             "know which cluster is active, move it aside and start with preferred set to it");
  }
  auto decision = controller_.on_start(*loaded, now_sys());
  if (!decision) {
    throw std::runtime_error("state store " + store_->describe() + ": " + decision.error().message);
  }
  if (loaded->has_value()) {
    pipeline_->adopt(**loaded);
  }
  if (auto r = co_await pipeline_->apply(*decision); !r) {
    throw std::runtime_error("state store " + store_->describe() +
                             ": cannot write the first state: " + r.error().message);
  }
  spdlog::info("state store {}: {}", store_->describe(), decision->reply);
}

boost::asio::awaitable<void> Agent::on_round(HealthRound round) {
  for (const auto& c : round_changes(latest_round_ ? &*latest_round_ : nullptr, round)) {
    spdlog::log(c.warning ? spdlog::level::warn : spdlog::level::info, "{}", c.text);
  }
  latest_round_ = round;
  co_await judge_readiness_now();
  if (!coordinator_) {
    Decision d = controller_.on_round(pipeline_->state(), round, now_sys());
    note_readiness(d, readiness_.value_or(ReadinessVerdict{}));
    (void)co_await pipeline_->apply(std::move(d));  // a failed write changed nothing; logged and counted there
    publish(pipeline_->state());                    // node health changed the verdict even without a state change
    co_return;
  }
  // Several agents: every agent counts its own streaks and publishes them;
  // only the leader applies the rules, with the peers' confirmation.
  controller_.observe(round);
  coordinator_->publish_soon();
  co_await reevaluate();
  publish(pipeline_->state());
}

boost::asio::awaitable<void> Agent::reevaluate() {
  if (!coordinator_ || !latest_round_ || reevaluating_ || !coordinator_->leader(std::chrono::steady_clock::now())) {
    co_return;
  }
  reevaluating_ = true;
  auto confirm = peer_confirmation();
  const HealthRound round = *latest_round_;
  Decision d = controller_.evaluate(pipeline_->state(), round, now_sys(), confirm ? &*confirm : nullptr);
  note_readiness(d, readiness_.value_or(ReadinessVerdict{}));
  (void)co_await pipeline_->apply(std::move(d));
  reevaluating_ = false;
}

ReadinessVerdict Agent::readiness_now() const {
  const std::vector<ClusterVitals> none;
  return judge_readiness(readiness_inputs(config_, pipeline_->state(), latest_round_ ? &*latest_round_ : nullptr,
                                          monitor_ ? monitor_->vitals() : none),
                         now_sys());
}

boost::asio::awaitable<void> Agent::judge_readiness_now() {
  ReadinessVerdict v = readiness_now();
  auto e = readiness_event(readiness_ ? &*readiness_ : nullptr, v, pipeline_->state().epoch);
  if (!readiness_ || readiness_changed(*readiness_, v)) {
    spdlog::log(v.answer == ReadinessAnswer::kNo ? spdlog::level::warn : spdlog::level::info, "passive readiness: {}",
                readiness_line(v));
  }
  readiness_ = std::move(v);
  // One journal entry per change; several agents: the leader's.
  if (e && (!coordinator_ || coordinator_->leader(std::chrono::steady_clock::now()))) {
    Change c;
    c.events.push_back(std::move(*e));
    (void)co_await pipeline_->apply(std::move(c));
  }
}

std::optional<PeerConfirmation> Agent::peer_confirmation() const {
  if (!coordinator_) {
    return std::nullopt;
  }
  const std::string& active = pipeline_->state().active;
  auto c = cluster::confirm(active, coordinator_->seen(active), static_cast<int>(config_.failover.fail_threshold),
                            static_cast<int>(config_.failover.confirmations));
  return PeerConfirmation{c.satisfied, c.text};
}

void Agent::on_coordinator_change() {
  publish(pipeline_->state());
  const auto& view = coordinator_->view();
  if (view && !shared_started_) {
    // The first successful read: create the first state if there is none,
    // journal this agent's start.
    shared_started_ = true;
    boost::asio::co_spawn(*control_, start_shared_state(), boost::asio::detached);
  }
  if (!reevaluating_ && coordinator_->leader(std::chrono::steady_clock::now())) {
    boost::asio::co_spawn(*control_, reevaluate(), boost::asio::detached);
  }
}

boost::asio::awaitable<void> Agent::start_shared_state() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto loaded = co_await pipeline_->load();
    if (!loaded) {
      spdlog::warn("state store {}: {} (retrying)", store_->describe(), loaded.error().message);
      boost::asio::steady_timer t(*control_, config_.state.etcd.poll_interval);
      boost::system::error_code ec;
      co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      continue;
    }
    auto decision = controller_.on_start(*loaded, now_sys());
    if (!decision) {
      spdlog::critical("state store {}: {} — this agent gives no positive verdict until it is fixed",
                       store_->describe(), decision.error().message);
      co_return;
    }
    for (auto& e : decision->events) {
      e.actor = "agent " + config_.agent.name;
    }
    if (loaded->has_value()) {
      pipeline_->adopt(**loaded);
    }
    auto r = co_await pipeline_->apply(*decision);
    if (!r && r.error().code == ErrorCode::kConflict) {
      continue;  // another agent created the first state: read it again
    }
    if (!r) {
      spdlog::warn("state store {}: {} (retrying)", store_->describe(), r.error().message);
      continue;
    }
    spdlog::info("state store {}: agent {}: {}", store_->describe(), config_.agent.name, decision->reply);
    co_return;
  }
}

void Agent::publish(const State& state) {
  std::optional<VerdictWindow> window;
  if (coordinator_) {
    const auto now = std::chrono::steady_clock::now();
    coordinator_->on_state(state, now);
    cluster::WindowConfig wc;
    wc.stale_after = config_.state.etcd.stale_after;
    auto w = cluster::window_for(coordinator_->clock(), wc);
    std::string why = cluster::window_text(w, coordinator_->clock(), now);
    if (why.empty()) {
      why = cluster::window_text(w, coordinator_->clock(), w.until);  // what it will say once the view is stale
    }
    window = VerdictWindow{w.from, w.until, why};
  }
  publisher_.publish(state, latest_round_ ? &*latest_round_ : nullptr, streaks_of(controller_), now_sys(), window);
  if (sync_) {
    sync_->lift_if_active();
    sync_->fence_if_needed();
  }
  refresh_status_metrics();
}

StatusReport Agent::status_now() const {
  StatusInputs in;
  in.config = &config_;
  in.state = &pipeline_->state();
  auto v = verdicts_.current();
  in.verdict = v.get();
  in.round = latest_round_ ? &*latest_round_ : nullptr;
  in.now = now_sys();
  in.store = store_->describe();
  in.sync = sync_ ? &sync_->status() : nullptr;
  in.ccr = ccr_ ? &ccr_->status() : nullptr;
  in.vitals = monitor_ ? &monitor_->vitals() : nullptr;
  in.readiness = readiness_ ? &*readiness_ : nullptr;
  in.drills = drill_ ? &drill_->reports() : nullptr;
  std::optional<PeerConfirmation> confirm = peer_confirmation();
  in.controller = controller_.view(pipeline_->state(), in.round, in.now, confirm ? &*confirm : nullptr);
  if (ccr_) {
    ccr::apply_blocker(in.controller, ccr_->status());
  }
  PairReport pair;
  if (coordinator_) {
    const auto now = std::chrono::steady_clock::now();
    if (!coordinator_->leader(now) && in.controller.blocker != Blocker::kNoActive) {
      in.controller.blocker = Blocker::kNotLeader;
      in.controller.text =
          "automatic decisions are the leader's (" +
          (coordinator_->leader_name().empty() ? std::string("none elected yet") : coordinator_->leader_name()) +
          "); this agent follows";
    }
    pair = cluster::pair_report(*coordinator_, *etcd_, config_, confirm, now, in.now);
    in.pair = &pair;
  }
  return build_status(in);
}

void Agent::refresh_status_metrics() {
  if (!pipeline_) {
    return;
  }
  MetricsText m;
  export_status_metrics(m, status_now());
  *status_metrics_.lock() = m.take();
}

std::string Agent::render_metrics() const {
  std::string out = *status_metrics_.lock();
  MetricsText m;
  export_stats(m, pipeline_->stats());
  export_stats(m, monitor_->stats());
  export_stats(m, hooks_->stats());
  export_stats(m, commands_.stats());
  if (sync_) {
    export_stats(m, sync_->stats());
  }
  if (ccr_) {
    export_stats(m, ccr_->stats());
  }
  if (drill_) {
    export_stats(m, drill_->stats());
  }
  if (coordinator_) {
    export_stats(m, coordinator_->stats());
  }
  if (admin_port_) {
    export_stats(m, admin_port_->stats());
  }
  export_stats(m, health_stats_);
  export_stats(m, route_stats_);
  export_spoe_stats(m, spoe_->stats());
  return out + m.take();
}

bool Agent::start_listeners() {
  try {
    spoe_->start();
  } catch (const std::system_error& e) {
    spdlog::critical("cannot listen on spoe.listen {}: {}", config_.spoe.listen.to_string(), e.what());
    return false;
  }
  try {
    if (config_.health.listen) {
      HealthServerOptions o;
      o.listen = *config_.health.listen;
      o.local_node = config_.health.node;
      o.max_connections = static_cast<size_t>(config_.health.max_connections);
      o.metrics = [this] { return render_metrics(); };
      if (coordinator_) {
        o.peer = [this] { return coordinator_->peer_answer_json(); };
      }
      health_ = std::make_unique<HealthServer>(*edge_, o, verdicts_, health_stats_);
      health_->start();
      spdlog::info("health port listening on {}", config_.health.listen->to_string());
    }
    if (config_.agent_check.listen) {
      AgentCheckOptions o;
      o.listen = *config_.agent_check.listen;
      o.local_node = config_.health.node;
      o.max_connections = static_cast<size_t>(config_.agent_check.max_connections);
      o.ready_grace = config_.agent_check.ready_grace;
      agent_check_ = std::make_unique<AgentCheckServer>(*edge_, o, verdicts_, health_stats_);
      agent_check_->start();
      spdlog::info("agent-check port listening on {}", config_.agent_check.listen->to_string());
    }
  } catch (const std::system_error& e) {
    spdlog::critical("cannot listen on the health or agent-check port: {}", e.what());
    return false;
  }
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
      *control_, config_.admin.socket, static_cast<unsigned>(config_.admin.mode), commands_,
      admin::AdminServerOptions{.max_connections = static_cast<size_t>(config_.admin.max_connections),
                                .on_refused = [this] { health_stats_.connections_refused.inc(EdgePort::kAdmin); }});
  if (auto a = admin_->start(); !a) {
    spdlog::critical("{}", a.error().message);
    return false;
  }
  spdlog::info("admin socket {} (mode {:04o})", config_.admin.socket, config_.admin.mode);
  if (config_.admin.port.listen) {
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
      admin_port_ = std::make_unique<AdminPort>(*control_, o, commands_);
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
  }
  // Last: every component /metrics reads exists before the edge thread runs.
  edge_thread_ = std::thread([this] {
    auto guard = boost::asio::make_work_guard(*edge_);
    edge_->run();
  });
  return true;
}

void Agent::stop_all() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  if (monitor_) {
    monitor_->stop();
  }
  if (coordinator_) {
    coordinator_->stop();
  }
  if (drill_) {
    drill_->stop();
  }
  if (sync_) {
    sync_->stop();
  }
  if (ccr_) {
    ccr_->stop();
  }
  if (admin_) {
    admin_->stop();
  }
  if (admin_port_) {
    admin_port_->stop();
  }
  if (spoe_) {
    spoe_->stop();
  }
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
  control_->stop();
  drain(*edge_);
  drain(*control_);
}

int Agent::run() {
  // Before any port opens: a SIGTERM right after start stops the agent
  // cleanly instead of killing it.
  boost::asio::signal_set signals(*control_, SIGINT, SIGTERM);
  signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (!ec) {
      spdlog::info("signal {} received, stopping", sig);
      control_->stop();
    }
  });
  if (!start_listeners()) {
    stop_all();
    return 1;
  }
  monitor_->start();
  if (coordinator_) {
    coordinator_->start();
  }
  if (ccr_) {
    ccr_->start();
    const auto& patterns = config_.sync->ccr.indices;
    spdlog::info("ccr mode: indices {} followed on the passive cluster, polled every {}",
                 patterns.empty() ? "*" : patterns.front() + (patterns.size() > 1 ? ",..." : ""),
                 format_duration(config_.sync->ccr.poll_interval));
  }
  if (sync_) {
    sync_->start();
    drill_->start();
    const auto& s = *config_.sync;
    spdlog::info("snapshot sync every {} through repository {} ({}), indices {}", format_duration(s.interval),
                 s.repository.name, to_string(s.repository.type),
                 s.indices.empty() ? "*" : s.indices.front() + (s.indices.size() > 1 ? ",..." : ""));
  }
  const State& st = pipeline_->state();
  spdlog::info(
      "haes-agent started: epoch {}, active {}, probing {} cluster(s) every {} (timeout {}), "
      "failover after {} bad rounds",
      st.epoch, st.active.empty() ? "none" : st.active, config_.clusters.size(),
      format_duration(config_.failover.interval), format_duration(config_.failover.timeout),
      config_.failover.fail_threshold);
  control_->restart();  // start-up ran it dry once (run_to_completion)
  control_->run();
  stop_all();
  spdlog::info("haes-agent stopped (epoch {}, active {})", pipeline_->state().epoch, pipeline_->state().active);
  return 0;
}

}  // namespace haes
