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

}  // namespace haes::cluster
