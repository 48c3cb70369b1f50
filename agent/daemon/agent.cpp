#include "daemon/agent.hpp"

#include <stdexcept>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "ccr/commands.hpp"
#include "commands/commands.hpp"
#include "etcd/store.hpp"
#include "metrics/stats.hpp"
#include "monitor/changes.hpp"
#include "spoe/session.hpp"
#include "transitions/first_start.hpp"

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
  auto store = etcd::open_configured_store(config.state, io.get_executor());
  if (!store) {
    throw std::runtime_error(store.error().message);
  }
  return std::move(*store);
}

std::vector<StreakInfo> streaks_of(const FailoverController& c) {
  std::vector<StreakInfo> out;
  for (const auto& name : c.config().clusters) {
    out.push_back(StreakInfo{name, c.bad_rounds(name)});
  }
  return out;
}

template <class T>
boost::asio::awaitable<void> store_into(boost::asio::awaitable<T> aw, std::optional<T>* out) {
  out->emplace(co_await std::move(aw));
}

// Runs `aw` on `ctx` until it completes (start-up only, before run()).
// Rethrows what it threw.
template <class T>
T run_to_completion(boost::asio::io_context& ctx, boost::asio::awaitable<T> aw) {
  std::optional<T> out;
  bool done = false;
  std::exception_ptr failure;
  boost::asio::co_spawn(ctx, store_into(std::move(aw), &out), [&](std::exception_ptr e) {
    failure = e;
    done = true;
  });
  ctx.restart();
  while (!done && ctx.run_one() > 0) {
  }
  if (failure) {
    std::rethrow_exception(failure);
  }
  return std::move(*out);
}

}  // namespace

Agent::Agent(Config config)
    : config_(std::move(config)),
      control_(std::make_unique<boost::asio::io_context>()),
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
    several_ = std::make_unique<cluster::SeveralAgents>(
        *control_,
        cluster::SeveralAgentsContext{.config = &config_,
                                      .store = static_cast<etcd::EtcdStore*>(store_.get()),
                                      .pipeline = pipeline_.get(),
                                      .controller = &controller_,
                                      .round = [this] { return round(); },
                                      .readiness = [this] { return readiness_.value_or(ReadinessVerdict{}); },
                                      .publish = [this](const State& s) { publish(s); }});
    publish(pipeline_->state());  // nothing known yet: no cluster may take traffic
  } else {
    auto started = run_to_completion(*control_, start_local_state(*pipeline_, controller_));
    if (!started) {
      throw std::runtime_error(started.error().message);
    }
    spdlog::info("state store {}: {}", store_->describe(), *started);
  }
  monitor_ =
      std::make_unique<HealthMonitor>(*control_, config_, [this](HealthRound r) { return on_round(std::move(r)); });
  if (config_.sync && config_.sync->mode == SyncMode::kSnapshot) {
    sync_ = std::make_unique<SnapshotSync>(
        *control_, config_,
        SyncContext{controller_, *pipeline_, [this] { return round(); },
                    // Several agents: only the leader syncs on its own (one agent: always).
                    !several_ ? sync::MayRunNow{} : [this] { return several_->not_sync_leader(); }});
  }
  if (ccr_ && several_) {
    ccr_->set_may_run([this] { return several_->leads(); });
  }
  if (sync_) {
    drill_ =
        std::make_unique<DrillRunner>(*control_, config_,
                                      DrillContext{controller_, *pipeline_, *sync_, [this] { return round(); },
                                                   [this] { return readiness_now(); }, [this] { return leads(); }});
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
  cc.latest_round = [this] { return round(); };
  cc.status = [this] { return status_now(); };
  if (several_) {
    cc.on_leader = [this](std::string line, admin::Peer peer) {
      return several_->forward(std::move(line), std::move(peer));
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

  ListenerWiring w{.control = control_.get(),
                   .verdicts = &verdicts_,
                   .commands = &commands_,
                   .metrics = [this] { return render_metrics(); },
                   .peer = {}};
  if (several_) {
    w.peer = [this] { return several_->peer_answer_json(); };
  }
  listeners_ = std::make_unique<Listeners>(config_, std::move(w));
}

Agent::~Agent() {
  stop_all();
  // Components hold sockets and timers of the io_contexts: they go first,
  // the io_contexts (declared first) last.
  listeners_.reset();
  drill_.reset();
  sync_.reset();
  ccr_.reset();
  monitor_.reset();
  several_.reset();
}

boost::asio::awaitable<void> Agent::on_round(HealthRound round) {
  for (const auto& c : round_changes(this->round(), round)) {
    spdlog::log(c.warning ? spdlog::level::warn : spdlog::level::info, "{}", c.text);
  }
  latest_round_ = round;
  co_await judge_readiness_now();
  if (several_) {
    co_await several_->on_round(std::move(round));
  } else {
    Decision d = controller_.on_round(pipeline_->state(), round, now_sys());
    note_readiness(d, readiness_.value_or(ReadinessVerdict{}));
    (void)co_await pipeline_->apply(std::move(d));  // a failed write changed nothing; logged and counted there
  }
  publish(pipeline_->state());  // node health changed the verdict even without a state change
}

ReadinessVerdict Agent::readiness_now() const {
  const std::vector<ClusterVitals> none;
  return judge_readiness(readiness_inputs(config_, pipeline_->state(), round(), monitor_ ? monitor_->vitals() : none),
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
  if (e && leads()) {
    Change c;
    c.events.push_back(std::move(*e));
    (void)co_await pipeline_->apply(std::move(c));
  }
}

void Agent::publish(const State& state) {
  std::optional<VerdictWindow> window;
  if (several_) {
    window = several_->window(state);
  }
  publisher_.publish(state, round(), streaks_of(controller_), now_sys(), window);
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
  in.round = round();
  in.now = now_sys();
  in.store = store_->describe();
  in.sync = sync_ ? &sync_->status() : nullptr;
  in.ccr = ccr_ ? &ccr_->status() : nullptr;
  in.vitals = monitor_ ? &monitor_->vitals() : nullptr;
  in.readiness = readiness_ ? &*readiness_ : nullptr;
  in.drills = drill_ ? &drill_->reports() : nullptr;
  std::optional<PeerConfirmation> confirm;
  if (several_) {
    confirm = several_->confirmation();
  }
  in.controller = controller_.view(pipeline_->state(), in.round, in.now, confirm ? &*confirm : nullptr);
  if (ccr_) {
    ccr::apply_blocker(in.controller, ccr_->status());
  }
  PairReport pair;
  if (several_) {
    pair = several_->report(in.controller, *confirm, in.now);
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
  MetricsText m;
  export_components(m, pipeline_.get(), monitor_.get(), hooks_.get(), &commands_, sync_.get(), ccr_.get(), drill_.get(),
                    several_ ? &several_->coordinator() : nullptr);
  return *status_metrics_.lock() + m.take();
}

void Agent::stop_all() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  // The workers first (no new request starts), then every port.
  const auto stop = [](auto& component) {
    if (component) {
      component->stop();
    }
  };
  stop(monitor_);
  stop(several_);
  stop(drill_);
  stop(sync_);
  stop(ccr_);
  stop(listeners_);
  control_->stop();
  // What the workers cancelled finishes here: a sync's rsync exiting after
  // its SIGTERM, an etcd or Elasticsearch request being cancelled.
  if (!spoe::net::drain(*control_)) {
    spdlog::warn("stopping: some work was still running 4 s after the stop (it is abandoned)");
  }
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
  if (!listeners_->start()) {
    signals.cancel();
    stop_all();
    return 1;
  }
  monitor_->start();
  if (several_) {
    several_->start();
  }
  if (ccr_) {
    ccr_->start();
  }
  if (sync_) {
    sync_->start();
    drill_->start();
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
  signals.cancel();
  stop_all();
  spdlog::info("haes-agent stopped (epoch {}, active {})", pipeline_->state().epoch, pipeline_->state().active);
  return 0;
}

}  // namespace haes
