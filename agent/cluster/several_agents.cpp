#include "cluster/several_agents.hpp"

#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include "cluster/pair_report.hpp"
#include "transitions/first_start.hpp"

namespace haes::cluster {

namespace asio = boost::asio;

SeveralAgents::SeveralAgents(asio::io_context& control, SeveralAgentsContext context)
    : control_(control), c_(std::move(context)) {
  const Config& config = *c_.config;
  CoordinatorOptions co;
  co.name = config.agent.name;
  co.peer_url = advertised_peer_url(config.health);
  co.admin_url = advertised_admin_url(config.admin.port);
  co.poll_interval = config.state.etcd.poll_interval;
  co.lease_ttl = config.state.etcd.lease_ttl;
  co.window.stale_after = config.state.etcd.stale_after;
  Coordinator::Hooks hooks;
  hooks.adopt = [this](const State& s) { c_.pipeline->adopt(s); };
  hooks.record = [this] {
    return agent_record(*c_.config, c_.pipeline->state(), c_.round(), *c_.controller, coordinator_.get(), now_sys());
  };
  hooks.changed = [this] { on_change(); };
  coordinator_ = std::make_unique<Coordinator>(control_, *c_.store, std::move(co), std::move(hooks));
  auto fo = forward_options(config.admin.port);
  if (!fo) {
    throw std::runtime_error(fo.error().message);
  }
  forwarder_ = std::make_unique<LeaderForwarder>(control_.get_executor(), *coordinator_, std::move(*fo));
}

SeveralAgents::~SeveralAgents() = default;

void SeveralAgents::start() { coordinator_->start(); }

void SeveralAgents::stop() { coordinator_->stop(); }

bool SeveralAgents::leads() const { return coordinator_->leader(std::chrono::steady_clock::now()); }

std::optional<std::string> SeveralAgents::not_sync_leader() const {
  return cluster::not_sync_leader(*coordinator_, std::chrono::steady_clock::now());
}

asio::awaitable<void> SeveralAgents::on_round(HealthRound round) {
  c_.controller->observe(round);
  coordinator_->publish_soon();
  co_await evaluate();
}

asio::awaitable<void> SeveralAgents::evaluate() {
  const HealthRound* latest = c_.round();
  if (latest == nullptr || evaluating_ || !leads()) {
    co_return;
  }
  evaluating_ = true;
  const PeerConfirmation confirm = confirmation();
  const HealthRound round = *latest;  // the round may be replaced while the write is under way
  Decision d = c_.controller->evaluate(c_.pipeline->state(), round, now_sys(), &confirm);
  note_readiness(d, c_.readiness());
  (void)co_await c_.pipeline->apply(std::move(d));  // a failed write changed nothing; logged and counted there
  evaluating_ = false;
}

void SeveralAgents::on_change() {
  c_.publish(c_.pipeline->state());
  if (coordinator_->view() && !started_) {
    started_ = true;
    asio::co_spawn(control_, start_shared_state(), asio::detached);
  }
  if (!evaluating_ && leads()) {
    asio::co_spawn(control_, evaluate(), asio::detached);
  }
}

asio::awaitable<void> SeveralAgents::start_shared_state() {
  const Config& config = *c_.config;
  auto started = co_await haes::start_shared_state(*c_.pipeline, *c_.controller, config.agent.name,
                                                   config.state.etcd.poll_interval);
  if (started) {
    spdlog::info("state store {}: {}", c_.store->describe(), *started);
  } else {
    spdlog::critical("{} — this agent gives no positive verdict until it is fixed", started.error().message);
  }
}

VerdictWindow SeveralAgents::window(const State& state) {
  const auto now = std::chrono::steady_clock::now();
  coordinator_->on_state(state, now);
  return verdict_window(*coordinator_, c_.config->state.etcd.stale_after, now);
}

PeerConfirmation SeveralAgents::confirmation() const {
  return peer_confirmation(*coordinator_, c_.pipeline->state().active, *c_.config);
}

PairReport SeveralAgents::report(ControllerView& view, const PeerConfirmation& confirmation, SysTime now) const {
  const auto steady = std::chrono::steady_clock::now();
  apply_leadership(view, *coordinator_, steady);
  return pair_report(*coordinator_, *c_.store, *c_.config, confirmation, steady, now);
}

asio::awaitable<std::optional<admin::Reply>> SeveralAgents::forward(std::string line, admin::Peer peer) {
  co_return co_await forwarder_->forward(std::move(line), std::move(peer));
}

}  // namespace haes::cluster
