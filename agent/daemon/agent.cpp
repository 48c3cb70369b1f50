#include "daemon/agent.hpp"

#include <filesystem>
#include <stdexcept>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "daemon/logging.hpp"
#include "metrics/metrics.hpp"
#include "verdict/builder.hpp"

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

void make_parent_dir(const std::string& path, const char* what) {
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      throw std::runtime_error(std::string("cannot create the directory of ") + what + " " + dir.string() + ": " +
                               ec.message());
    }
  }
}


}  // namespace

Agent::Agent(Config config) : config_(std::move(config)), controller_(controller_config(config_)) {
  open_store();
  publish_verdict();

  monitor_ = std::make_unique<HealthMonitor>(control_, config_, [this](const HealthRound& r) { on_round(r); });
  auto stats = hook_stats_;
  hooks_ = std::make_unique<HookRunner>(config_.failover.on_role_change_command, config_.failover.on_role_change_timeout,
                                        [stats](const RoleChange&, const HookOutcome& o) {
                                          auto h = stats->lock();
                                          if (o.timed_out) {
                                            ++h->timeout;
                                          } else if (o.exit_code == 0) {
                                            ++h->ok;
                                          } else {
                                            ++h->failed;
                                          }
                                        });
  if (config_.sync) {
    SyncHooks h;
    h.state = [this]() -> const State& { return state_; };
    h.round = [this]() -> const HealthRound* { return latest_round_ ? &*latest_round_ : nullptr; };
    h.record = [this](const SyncPoint& p, uint64_t epoch) { return record_sync(p, epoch); };
    h.journal = [this](Event e) { journal(std::move(e)); };
    h.mark_write_block = [this](const WriteBlock& b) {
      State next = state_;
      next.write_block = b;
      return store_state(next);
    };
    h.switch_roles = [this](const std::string& t, const std::string& k, const std::string& a, const std::string& r) {
      return switch_roles(t, k, a, r);
    };
    sync_ = std::make_unique<SnapshotSync>(control_, config_, std::move(h));
  }
  register_commands();
  refresh_control_metrics();

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
  if (monitor_) {
    monitor_->stop();
  }
  if (sync_) {
    sync_->stop();
  }
  if (admin_) {
    admin_->stop();
  }
  if (spoe_) {
    spoe_->stop();
  }
  stop_edge();
}

void Agent::open_store() {
  if (config_.state.store != "local") {
    throw std::runtime_error("state.store: " + config_.state.store +
                             " is not available in this version; use \"local\" (see docs/state-store.md)");
  }
  make_parent_dir(config_.state.path, "state.path");
  auto opened = open_local_store(config_.state.path, static_cast<size_t>(config_.state.journal_size));
  if (!opened) {
    throw std::runtime_error("state store " + config_.state.path + ": " + opened.error().message);
  }
  for (const auto& w : opened->warnings) {
    spdlog::warn("state store: {}", w);
  }
  store_ = std::move(opened->store);
  auto loaded = store_->load();
  if (!loaded) {
    throw std::runtime_error("state store " + store_->describe() + ": " + loaded.error().message +
                             " — the agent refuses to guess roles; restore the file from a backup or, if you "
                             "know which cluster is active, move it aside and start with preferred set to it");
  }
  if (!loaded->has_value()) {
    State s;
    s.epoch = 1;
    s.active = config_.preferred;
    s.reason = "first start: the preferred cluster is active";
    s.changed_by = "config";
    s.changed_at = now_sys();
    auto rev = store_->compare_and_swap(0, s);
    if (!rev) {
      throw std::runtime_error("state store " + store_->describe() + ": cannot write the first state: " +
                               rev.error().message);
    }
    s.revision = *rev;
    state_ = s;
    std::vector<Event> ev{Event{0, s.changed_at, s.epoch, "start", "config",
                                "first start: " + s.active + " is active (preferred), epoch 1"}};
    (void)store_->append_events(ev);
    spdlog::info("state store {}: first start, {} is active (preferred), epoch 1", store_->describe(), s.active);
    return;
  }
  state_ = **loaded;
  if (!state_.active.empty() && !config_.find_cluster(state_.active)) {
    throw std::runtime_error("state store " + store_->describe() + " says cluster \"" + state_.active +
                             "\" is active (epoch " + std::to_string(state_.epoch) +
                             "), but the config has no such cluster; fix clusters[] or move the state file aside");
  }
  for (const auto& f : state_.fenced) {
    if (!config_.find_cluster(f)) {
      throw std::runtime_error("state store " + store_->describe() + " fences cluster \"" + f +
                               "\", which is not in the config; fix clusters[] or move the state file aside");
    }
  }
  std::vector<Event> ev{Event{0, now_sys(), state_.epoch, "start", "config",
                              "agent restarted: resuming epoch " + std::to_string(state_.epoch) + ", active " +
                                  (state_.active.empty() ? "none" : state_.active)}};
  (void)store_->append_events(ev);
  spdlog::info("state store {}: resuming epoch {}, active {}{}", store_->describe(), state_.epoch,
               state_.active.empty() ? "none" : state_.active,
               state_.fenced.empty() ? "" : ", fenced " + state_.fenced.front());
}

bool Agent::apply(const Decision& d, std::string* error) {
  if (d.next) {
    auto rev = store_->compare_and_swap(state_.revision, *d.next);
    if (!rev) {
      ++store_errors_;
      std::string msg = "state store write failed (" + rev.error().code + "): " + rev.error().message +
                        "; nothing changed, verdicts unchanged";
      spdlog::error("{}", msg);
      if (rev.error().code == "conflict") {
        if (auto again = store_->load(); again && again->has_value()) {
          state_ = **again;
        }
      }
      if (error) {
        *error = msg;
      }
      return false;
    }
    State old = state_;
    state_ = *d.next;
    state_.revision = *rev;
    if (d.roles_changed) {
      ++transitions_[d.transition];
      std::string next_step;
      if ((d.transition == "failover" || d.transition == "forced_failover") && !old.active.empty()) {
        next_step = " — " + old.active + " is fenced: when it is healthy again and you are ready, haesctl " +
                    (old.active == config_.preferred ? std::string("failback") : "switchover --to " + old.active);
      }
      spdlog::warn("ROLE CHANGE ({}): epoch {} → {}, active {} → {}; {}{}", d.transition, old.epoch, state_.epoch,
                   old.active.empty() ? "none" : old.active, state_.active.empty() ? "none" : state_.active,
                   state_.reason, next_step);
      hooks_->submit(RoleChange{d.transition, old.active, state_.active, state_.epoch, state_.reason,
                                state_.changed_by});
    }
  }
  if (!d.events.empty()) {
    auto events = d.events;
    for (const auto& e : events) {
      spdlog::info("event {} by {}: {}", e.kind, e.actor, e.message);
    }
    if (auto j = store_->append_events(events); !j) {
      spdlog::error("event journal: {}", j.error().message);
    }
  }
  publish_verdict();
  refresh_control_metrics();
  return true;
}

Result<void> Agent::record_sync(const SyncPoint& point, uint64_t epoch) {
  if (state_.epoch != epoch) {
    return Error{"roles_changed", "roles changed (epoch " + std::to_string(epoch) + " -> " +
                                      std::to_string(state_.epoch) + ") before the sync point was recorded"};
  }
  State next = state_;
  next.last_sync = point;
  return store_state(next);
}

Result<void> Agent::store_state(const State& next) {
  Decision d;
  d.next = next;
  std::string err;
  if (!apply(d, &err)) {
    return Error{"store_error", err};
  }
  return Ok{};
}

void Agent::journal(Event e) {
  Decision d;
  d.events.push_back(std::move(e));
  apply(d, nullptr);
}

Result<std::string> Agent::switch_roles(const std::string& target, const std::string& kind, const std::string& actor,
                                        const std::string& reason) {
  Command c;
  c.kind = kind == "failback" ? CommandKind::kFailback : CommandKind::kSwitchover;
  c.target = kind == "failback" ? "" : target;
  c.actor = actor;
  c.reason = reason;
  Decision d = controller_.on_command(state_, c, latest_round_ ? &*latest_round_ : nullptr, now_sys());
  if (!d.ok) {
    std::string err;
    apply(d, &err);  // journals the refusal
    return Error{d.code, d.reply};
  }
  std::string err;
  if (!apply(d, &err)) {
    return Error{"store_error", err};
  }
  return d.reply;
}

void Agent::on_round(const HealthRound& round) {
  log_round_changes(round);
  latest_round_ = round;
  Decision d = controller_.on_round(state_, round, now_sys());
  apply(d, nullptr);  // publishes the verdict (node health changed) and metrics
}

void Agent::log_round_changes(const HealthRound& round) {
  for (const auto& c : round.clusters) {
    const ClusterObservation* before = latest_round_ ? latest_round_->find(c.name) : nullptr;
    if (!before || before->health != c.health) {
      auto level = is_serving(c.health) ? spdlog::level::info : spdlog::level::warn;
      spdlog::log(level, "cluster {} is {}{}: {}", c.name, to_string(c.health),
                  before ? " (was " + std::string(to_string(before->health)) + ")" : "", c.reason);
    }
    for (const auto& n : c.nodes) {
      const NodeObservation* nb = before ? before->find_node(n.name) : nullptr;
      if (nb && nb->health != n.health) {
        spdlog::info("node {}/{} is {} (was {}){}", c.name, n.name, to_string(n.health), to_string(nb->health),
                     n.reason.empty() ? "" : ": " + n.reason);
      }
    }
  }
}

void Agent::publish_verdict() {
  VerdictInputs in;
  in.state = &state_;
  in.round = latest_round_ ? &*latest_round_ : nullptr;
  for (const auto& c : config_.clusters) {
    ClusterNodes cn{c.name, {}};
    for (const auto& n : c.nodes) {
      cn.nodes.push_back(n.name);
    }
    in.clusters.push_back(std::move(cn));
    in.streaks.push_back(StreakInfo{c.name, controller_.bad_rounds(c.name)});
  }
  in.fail_threshold = static_cast<int>(config_.failover.fail_threshold);
  in.now = now_sys();
  auto v = std::make_shared<Verdict>(build_verdict(in));
  v->spoe_actions = encode_route_actions(*v);
  verdicts_.publish(std::move(v));
}

void Agent::start_edge() {
  if (config_.health.listen) {
    HealthServerOptions o;
    o.listen = *config_.health.listen;
    o.local_node = config_.health.node;
    o.metrics = [this] { return render_metrics(); };
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

int Agent::run() {
  try {
    spoe_->start();
  } catch (const std::system_error& e) {
    spdlog::critical("cannot listen on spoe.listen {}: {}", config_.spoe.listen.to_string(), e.what());
    return 1;
  }
  try {
    start_edge();
  } catch (const std::system_error& e) {
    spdlog::critical("cannot listen on the health or agent-check port: {}", e.what());
    return 1;
  }
  try {
    make_parent_dir(config_.admin.socket, "admin.socket");
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  admin_ = std::make_unique<admin::AdminServer>(control_, config_.admin.socket,
                                                static_cast<unsigned>(config_.admin.mode), commands_);
  if (auto a = admin_->start(); !a) {
    spdlog::critical("{}", a.error().message);
    return 1;
  }
  spdlog::info("admin socket {} (mode {:04o})", config_.admin.socket, config_.admin.mode);
  monitor_->start();
  if (sync_) {
    sync_->start();
    spdlog::info("snapshot sync every {} through repository {} ({}), indices {}", format_duration(config_.sync->interval),
                 config_.sync->repository.name, config_.sync->repository.type,
                 config_.sync->indices.empty() ? "*" : config_.sync->indices.front() + (config_.sync->indices.size() > 1 ? ",..." : ""));
  }
  spdlog::info("haes-agent started: epoch {}, active {}, probing {} cluster(s) every {} (timeout {}), "
               "failover after {} bad rounds",
               state_.epoch, state_.active.empty() ? "none" : state_.active, config_.clusters.size(),
               format_duration(config_.failover.interval), format_duration(config_.failover.timeout),
               config_.failover.fail_threshold);
  boost::asio::signal_set signals(control_, SIGINT, SIGTERM);
  signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (!ec) {
      spdlog::info("signal {} received, stopping", sig);
      monitor_->stop();
      if (sync_) {
        sync_->stop();
      }
      admin_->stop();
      control_.stop();
    }
  });
  control_.run();
  spoe_->stop();
  stop_edge();
  spdlog::info("haes-agent stopped (epoch {}, active {})", state_.epoch, state_.active);
  return 0;
}

// ---- metrics ---------------------------------------------------------------

void Agent::refresh_control_metrics() {
  MetricsText m;
  auto v = verdicts_.current();
  m.sample("haes_up", {}, 1);
  m.sample("haes_epoch", {}, static_cast<double>(state_.epoch));
  for (const auto& c : config_.clusters) {
    m.sample("haes_active_cluster", {{"cluster", c.name}}, state_.active == c.name ? 1 : 0);
  }
  for (const auto& c : config_.clusters) {
    const auto* cv = v ? v->find_cluster(c.name) : nullptr;
    m.sample("haes_cluster_may_take_traffic", {{"cluster", c.name}}, cv && cv->may_take_traffic ? 1 : 0);
  }
  for (const auto& c : config_.clusters) {
    m.sample("haes_cluster_fenced", {{"cluster", c.name}}, state_.is_fenced(c.name) ? 1 : 0);
  }
  static const Health kStates[] = {Health::kGreen, Health::kYellow, Health::kRed, Health::kUnreachable,
                                   Health::kUnknown};
  for (const auto& c : config_.clusters) {
    const auto* obs = latest_round_ ? latest_round_->find(c.name) : nullptr;
    Health h = obs ? obs->health : Health::kUnknown;
    for (Health s : kStates) {
      m.sample("haes_cluster_health", {{"cluster", c.name}, {"state", to_string(s)}}, h == s ? 1 : 0);
    }
  }
  for (const auto& c : config_.clusters) {
    m.sample("haes_cluster_bad_rounds", {{"cluster", c.name}}, controller_.bad_rounds(c.name));
  }
  if (latest_round_) {
    for (const auto& c : latest_round_->clusters) {
      for (const auto& n : c.nodes) {
        for (Health s : kStates) {
          m.sample("haes_node_health", {{"cluster", c.name}, {"node", n.name}, {"state", to_string(s)}},
                   n.health == s ? 1 : 0);
        }
      }
    }
    for (const auto& c : latest_round_->clusters) {
      for (const auto& n : c.nodes) {
        m.sample("haes_node_probe_latency_seconds", {{"cluster", c.name}, {"node", n.name}},
                 static_cast<double>(n.latency.count()) / 1e6);
      }
    }
  }
  const auto& pc = monitor_->counters();
  static const ProbeFailure kFailures[] = {ProbeFailure::kConnect, ProbeFailure::kTimeout, ProbeFailure::kTls,
                                           ProbeFailure::kAuth,    ProbeFailure::kHttpError, ProbeFailure::kBadBody,
                                           ProbeFailure::kNoMaster};
  for (const auto& c : config_.clusters) {
    for (const auto& n : c.nodes) {
      auto it = pc.failures.find(c.name + "/" + n.name);
      for (ProbeFailure f : kFailures) {
        uint64_t count = 0;
        if (it != pc.failures.end()) {
          if (auto j = it->second.find(std::string(to_string(f))); j != it->second.end()) {
            count = j->second;
          }
        }
        m.sample("haes_node_probe_failures_total", {{"cluster", c.name}, {"node", n.name}, {"reason", to_string(f)}},
                 static_cast<double>(count));
      }
    }
  }
  for (const auto& c : config_.clusters) {
    for (const auto& n : c.nodes) {
      auto it = pc.probes.find(c.name + "/" + n.name);
      m.sample("haes_node_probes_total", {{"cluster", c.name}, {"node", n.name}},
               it == pc.probes.end() ? 0 : static_cast<double>(it->second));
    }
  }
  m.sample("haes_health_rounds_total", {}, static_cast<double>(pc.rounds));
  for (const char* k : {"failover", "forced_failover", "failback", "switchover"}) {
    auto it = transitions_.find(k);
    m.sample("haes_transitions_total", {{"kind", k}}, it == transitions_.end() ? 0 : static_cast<double>(it->second));
  }
  for (const auto& [key, n] : command_results_) {
    auto slash = key.find('/');
    m.sample("haes_commands_total", {{"command", key.substr(0, slash)}, {"result", key.substr(slash + 1)}},
             static_cast<double>(n));
  }
  const SysTime now = now_sys();
  m.sample("haes_paused", {}, state_.paused_at(now) ? 1 : 0);
  ControllerView view = controller_.view(state_, latest_round_ ? &*latest_round_ : nullptr, now);
  for (Blocker b : {Blocker::kPaused, Blocker::kHeldDown, Blocker::kAutomaticOff, Blocker::kNoHealthyTarget}) {
    m.sample("haes_automatic_blocked", {{"reason", to_string(b)}}, view.blocker == b ? 1 : 0);
  }
  double remaining = state_.held_down_at(now)
                         ? std::chrono::duration<double>(state_.hold_down_until - now).count()
                         : 0.0;
  m.sample("haes_hold_down_remaining_seconds", {}, remaining);
  m.sample("haes_store_errors_total", {}, static_cast<double>(store_errors_));
  {
    auto h = hook_stats_->lock();
    m.sample("haes_hook_runs_total", {{"result", "ok"}}, static_cast<double>(h->ok));
    m.sample("haes_hook_runs_total", {{"result", "failed"}}, static_cast<double>(h->failed));
    m.sample("haes_hook_runs_total", {{"result", "timeout"}}, static_cast<double>(h->timeout));
  }
  if (sync_) {
    const SyncStatus& st = sync_->status();
    m.sample("haes_sync_runs_total", {{"result", "ok"}}, static_cast<double>(st.runs_ok));
    m.sample("haes_sync_runs_total", {{"result", "failed"}}, static_cast<double>(st.runs_failed));
    m.sample("haes_sync_running", {}, st.step.empty() ? 0 : 1);
    m.sample("haes_sync_held", {}, state_.sync_hold.held ? 1 : 0);
    m.sample("haes_sync_last_success_timestamp_seconds", {},
             static_cast<double>(to_unix_ms(st.last_ok_at)) / 1000.0);
    double age = -1;
    const SyncPoint& sp = state_.last_sync;
    if (!sp.snapshot.empty() && sp.target != state_.active) {
      age = std::chrono::duration<double>(now - sp.started_at).count();
    }
    m.sample("haes_sync_passive_data_age_seconds", {}, age);
    m.sample("haes_sync_duration_seconds", {{"phase", "snapshot"}},
             std::chrono::duration<double>(st.last_snapshot_took).count());
    m.sample("haes_sync_duration_seconds", {{"phase", "restore"}},
             std::chrono::duration<double>(st.last_restore_took).count());
    m.sample("haes_sync_duration_seconds", {{"phase", "total"}},
             std::chrono::duration<double>(st.last_sync_took).count());
    m.sample("haes_sync_snapshots_deleted_total", {}, static_cast<double>(st.snapshots_deleted));
    for (const auto& c : config_.clusters) {
      auto it = st.repository.find(c.name);
      m.sample("haes_sync_repository_ok", {{"cluster", c.name}},
               it != st.repository.end() && it->second.rfind("error", 0) != 0 ? 1 : 0);
    }
    m.sample("haes_sync_dangers", {}, static_cast<double>(st.dangers.size()));
    m.sample("haes_switchover_write_block_seconds", {},
             st.last_write_block ? std::chrono::duration<double>(*st.last_write_block).count() : -1.0);
    m.sample("haes_verify_restore_ok", {}, st.last_verify_ok ? (*st.last_verify_ok ? 1 : 0) : -1);
  }
  *control_metrics_.lock() = m.take();
}

std::string Agent::render_metrics() const {
  std::string out = *control_metrics_.lock();
  MetricsText m;
  spoe::Stats s = spoe_->stats();
  m.sample("haes_spoe_connections", {}, static_cast<double>(s.connections_current));
  m.sample("haes_spoe_connections_total", {}, static_cast<double>(s.connections_total));
  m.sample("haes_spoe_healthchecks_total", {}, static_cast<double>(s.healthchecks));
  m.sample("haes_spoe_messages_total", {}, static_cast<double>(s.notify_frames));
  m.sample("haes_spoe_acks_total", {}, static_cast<double>(s.acks));
  for (size_t i = 0; i < spoe::kStatusSlots; ++i) {
    if (s.disconnects_sent[i] > 0) {
      std::string code = std::to_string(static_cast<uint32_t>(spoe::slot_status(i)));
      m.sample("haes_spoe_disconnects_sent_total", {{"status", code}}, static_cast<double>(s.disconnects_sent[i]));
    }
  }
  uint64_t cumulative = 0;
  for (size_t i = 0; i < spoe::kLatencyBoundsNs.size(); ++i) {
    cumulative += s.latency_buckets[i];
    char le[32];
    std::snprintf(le, sizeof le, "%g", static_cast<double>(spoe::kLatencyBoundsNs[i]) / 1e9);
    m.sample("haes_spoe_latency_seconds", {{"le", le}}, static_cast<double>(cumulative), "_bucket");
  }
  cumulative += s.latency_buckets.back();
  m.sample("haes_spoe_latency_seconds", {{"le", "+Inf"}}, static_cast<double>(cumulative), "_bucket");
  m.sample("haes_spoe_latency_seconds", {}, static_cast<double>(s.latency_sum_ns) / 1e9, "_sum");
  m.sample("haes_spoe_latency_seconds", {}, static_cast<double>(s.latency_count), "_count");
  const auto& h = health_counters_;
  m.sample("haes_httpchk_total", {{"result", "up"}}, static_cast<double>(h.httpchk_up.load()));
  m.sample("haes_httpchk_total", {{"result", "down"}}, static_cast<double>(h.httpchk_down.load()));
  m.sample("haes_httpchk_total", {{"result", "unknown"}}, static_cast<double>(h.httpchk_unknown.load()));
  m.sample("haes_httpchk_total", {{"result", "bad_request"}}, static_cast<double>(h.bad_requests.load()));
  m.sample("haes_agentcheck_total", {{"result", "up"}}, static_cast<double>(h.agentcheck_up.load()));
  m.sample("haes_agentcheck_total", {{"result", "down"}}, static_cast<double>(h.agentcheck_down.load()));
  m.sample("haes_agentcheck_total", {{"result", "maint"}}, static_cast<double>(h.agentcheck_maint.load()));
  return out + m.take();
}

}  // namespace haes
