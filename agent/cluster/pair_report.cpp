#include "cluster/pair_report.hpp"

namespace haes::cluster {

std::string advertised_admin_url(const AdminPortConfig& port) {
  if (!port.advertise_url.empty()) {
    return port.advertise_url;
  }
  return port.listen ? "https://" + port.listen->to_string() : "";
}

std::string advertised_peer_url(const HealthConfig& health) {
  if (!health.advertise_url.empty()) {
    return health.advertise_url;
  }
  return health.listen ? "http://" + health.listen->to_string() : "";
}

etcd::AgentRecord agent_record(const Config& config, const State& state, const HealthRound* round,
                               const FailoverController& controller, const Coordinator* coordinator, SysTime now) {
  etcd::AgentRecord r;
  r.name = config.agent.name;
  r.epoch = state.epoch;
  r.active = state.active;
  if (coordinator && coordinator->view() && coordinator->view()->members) {
    r.members_version = coordinator->view()->members->version;
  }
  r.peer_url = advertised_peer_url(config.health);
  r.admin_url = advertised_admin_url(config.admin.port);
  r.at_ms = to_unix_ms(now);
  for (const auto& c : config.clusters) {
    etcd::ClusterSeen s;
    s.name = c.name;
    const ClusterObservation* obs = round ? round->find(c.name) : nullptr;
    s.health = obs ? obs->health : Health::kUnknown;
    auto st = controller.streak(c.name);
    s.bad_rounds = st.bad_rounds;
    s.red = st.kind.find("red") != std::string::npos;
    s.unreachable = st.kind.find("unreachable") != std::string::npos;
    r.clusters.push_back(std::move(s));
  }
  return r;
}

namespace {

PeerReport peer_report(const std::string& name, const etcd::PairView& view, const std::string& self, SysTime sys_now) {
  PeerReport pr;
  pr.name = name;
  pr.self = name == self;
  pr.leader = name == view.leader;
  for (const auto& rec : view.agents) {
    if (rec.name != name) {
      continue;
    }
    pr.live = true;
    pr.epoch = rec.epoch;
    pr.active = rec.active;
    pr.record_age_ms = to_unix_ms(sys_now) - rec.at_ms;
    for (const auto& c : rec.clusters) {
      pr.seen += (pr.seen.empty() ? "" : ", ") + c.name + " " + std::string(to_string(c.health)) +
                 (c.bad_rounds > 0 ? " (" + std::to_string(c.bad_rounds) + " bad rounds)" : "");
    }
  }
  return pr;
}

}  // namespace

PairReport pair_report(const Coordinator& coordinator, const etcd::EtcdStore& store, const Config& config,
                       const std::optional<PeerConfirmation>& confirmation, Steady now, SysTime sys_now) {
  PairReport pair;
  pair.agent = config.agent.name;
  pair.leader = coordinator.leader_name();
  pair.this_is_leader = coordinator.leader(now);
  pair.prefix = store.prefix();
  for (const auto& e : store.client().endpoints()) {
    pair.endpoints.push_back(EndpointReport{e.url, e.ok, e.last_error});
  }
  pair.current_endpoint = store.client().current();
  pair.store_error = coordinator.last_error();
  const auto& clock = coordinator.clock();
  pair.view_age_ms = clock.confirmed_at
                         ? std::chrono::duration_cast<std::chrono::milliseconds>(now - *clock.confirmed_at).count()
                         : -1;
  pair.failsafe = clock.by_failsafe;
  pair.failsafe_text = coordinator.failsafe_result().text;
  WindowConfig wc;
  wc.stale_after = config.state.etcd.stale_after;
  auto w = window_for(clock, wc);
  pair.window_open = w.open_at(now);
  pair.window_text = window_text(w, clock, now);
  const auto& view = coordinator.view();
  if (view && view->members) {
    pair.members_version = view->members->version;
    for (const auto& [name, m] : view->members->agents) {
      pair.agents.push_back(peer_report(name, *view, config.agent.name, sys_now));
    }
  }
  if (confirmation) {
    pair.confirmation = confirmation->text;
  }
  return pair;
}

PeerConfirmation peer_confirmation(const Coordinator& coordinator, const std::string& active, const Config& config) {
  auto c = confirm(active, coordinator.seen(active), static_cast<int>(config.failover.fail_threshold),
                   static_cast<int>(config.failover.confirmations));
  return PeerConfirmation{c.satisfied, c.text};
}

VerdictWindow verdict_window(const Coordinator& coordinator, Duration stale_after, Steady now) {
  WindowConfig wc;
  wc.stale_after = stale_after;
  auto w = window_for(coordinator.clock(), wc);
  std::string why = window_text(w, coordinator.clock(), now);
  if (why.empty()) {
    why = window_text(w, coordinator.clock(), w.until);
  }
  return VerdictWindow{w.from, w.until, why};
}

std::optional<std::string> not_sync_leader(const Coordinator& coordinator, Steady now) {
  if (coordinator.leader(now)) {
    return std::nullopt;
  }
  const std::string& l = coordinator.leader_name();
  return "this agent is not the leader (" + (l.empty() ? std::string("none elected") : l) + " runs the syncs)";
}

void apply_leadership(ControllerView& view, const Coordinator& coordinator, Steady now) {
  if (coordinator.leader(now) || view.blocker == Blocker::kNoActive) {
    return;
  }
  const std::string& l = coordinator.leader_name();
  view.blocker = Blocker::kNotLeader;
  view.text = "automatic decisions are the leader's (" + (l.empty() ? std::string("none elected yet") : l) +
              "); this agent follows";
}

}  // namespace haes::cluster
