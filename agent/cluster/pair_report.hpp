#pragma once
// What this agent tells the others and the operator about the pair (several
// agents): the record it publishes in etcd, and the "# agents" part of its
// status. Built from the coordinator's view and this agent's own
// observations; no I/O.
#include <optional>
#include <string>

#include "cluster/coordinator.hpp"
#include "common/health.hpp"
#include "config/config.hpp"
#include "controller/controller.hpp"
#include "etcd/records.hpp"
#include "etcd/store.hpp"
#include "status/report.hpp"
#include "verdict/publisher.hpp"

namespace haes::cluster {

// The admin URL the other agents use to reach this one ("" : no admin port).
std::string advertised_admin_url(const AdminPortConfig& port);
// The health port's URL the other agents ask GET /peer ("": no health port).
std::string advertised_peer_url(const HealthConfig& health);

// The record this agent publishes under its lease.
etcd::AgentRecord agent_record(const Config& config, const State& state, const HealthRound* round,
                               const FailoverController& controller, const Coordinator* coordinator, SysTime now);

// The pair's part of the status: the store, the leader, every agent.
PairReport pair_report(const Coordinator& coordinator, const etcd::EtcdStore& store, const Config& config,
                       const std::optional<PeerConfirmation>& confirmation, Steady now, SysTime sys_now);

// Whether the peers confirm that `active` is bad (failover.confirmations).
PeerConfirmation peer_confirmation(const Coordinator& coordinator, const std::string& active, const Config& config);

// The window in which this agent may answer positive, from the coordinator's
// clock, and why it is closed (or, while open, what it will say once the
// view is stale).
VerdictWindow verdict_window(const Coordinator& coordinator, Duration stale_after, Steady now);

// nullopt when this agent leads; else why automatic work is not its own:
// "this agent is not the leader (a2 runs the syncs)".
std::optional<std::string> not_sync_leader(const Coordinator& coordinator, Steady now);

// A follower's controller view: automatic decisions are the leader's
// (unless no cluster is active, which the view already says).
void apply_leadership(ControllerView& view, const Coordinator& coordinator, Steady now);

}  // namespace haes::cluster
