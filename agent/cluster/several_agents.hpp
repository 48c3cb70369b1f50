#pragma once
// SeveralAgents: this agent's part in a pair run by several agents through
// etcd (state.store: etcd; docs/failover.md "Several agents"), wired to the
// agent's own components. It owns the Coordinator (the I/O with etcd and the
// other agents) and the LeaderForwarder, and holds the rules of who acts:
//  - the first successful read of etcd starts the shared state (one agent
//    creates it, the others adopt it) — once;
//  - every agent counts its own streaks after each health round and
//    publishes them; only the leader applies the failover rules, with the
//    peers' confirmation, after its own rounds and again whenever the
//    coordinator's view changes (a peer's streak may be what confirms);
//  - one evaluation at a time: a change that arrives while one is being
//    applied is not applied twice;
//  - automatic work (syncs, CCR, drills, readiness journal entries) is the
//    leader's;
//  - every verdict is published inside the window the coordinator's clock
//    allows (no positive answer on a stale view).
// Runs on the control thread, like everything it calls.
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "admin/command_table.hpp"
#include "cluster/coordinator.hpp"
#include "cluster/forward.hpp"
#include "common/health.hpp"
#include "config/config.hpp"
#include "controller/controller.hpp"
#include "etcd/store.hpp"
#include "readiness/readiness.hpp"
#include "status/report.hpp"
#include "transitions/pipeline.hpp"
#include "verdict/publisher.hpp"

namespace haes::cluster {

// What SeveralAgents works with; every pointer outlives it.
struct SeveralAgentsContext {
  const Config* config = nullptr;
  etcd::EtcdStore* store = nullptr;
  TransitionPipeline* pipeline = nullptr;
  FailoverController* controller = nullptr;
  std::function<const HealthRound*()> round;    // the latest round; nullptr before the first
  std::function<ReadinessVerdict()> readiness;  // the latest judged passive readiness
  std::function<void(const State&)> publish;    // publishes the verdict of a state (it calls window())
};

class SeveralAgents {
 public:
  // Builds the coordinator and the forwarder. Throws std::runtime_error
  // (naming the key) when admin.port's forwarding settings are unusable.
  SeveralAgents(boost::asio::io_context& control, SeveralAgentsContext context);
  ~SeveralAgents();
  SeveralAgents(const SeveralAgents&) = delete;
  SeveralAgents& operator=(const SeveralAgents&) = delete;

  void start();
  void stop();

  // This agent holds the leader key and its lease is known to be alive now.
  bool leads() const;
  // nullopt when this agent leads; else why automatic work is not its own.
  std::optional<std::string> not_sync_leader() const;

  // After a health round (already stored as the latest): counts the
  // streaks, publishes this agent's record, and — the leader only —
  // applies the rules. The caller publishes the verdict afterwards.
  boost::asio::awaitable<void> on_round(HealthRound round);

  // Notes the state about to be published and returns the window in which
  // this agent may answer positive.
  VerdictWindow window(const State& state);

  // Whether the peers confirm the active cluster is bad (failover.confirmations).
  PeerConfirmation confirmation() const;
  // The pair's part of the status; marks automatic decisions as the
  // leader's in `view` on a follower.
  PairReport report(ControllerView& view, const PeerConfirmation& confirmation, SysTime now) const;

  // nullopt: this agent leads, run the command here; else the leader's reply.
  boost::asio::awaitable<std::optional<admin::Reply>> forward(std::string line, admin::Peer peer);
  // GET /peer (edge thread).
  std::string peer_answer_json() const { return coordinator_->peer_answer_json(); }
  const Coordinator& coordinator() const { return *coordinator_; }

 private:
  void on_change();
  boost::asio::awaitable<void> start_shared_state();
  // The leader applies the rules to the latest round; anyone else, nothing.
  boost::asio::awaitable<void> evaluate();

  boost::asio::io_context& control_;
  SeveralAgentsContext c_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<LeaderForwarder> forwarder_;
  bool started_ = false;
  bool evaluating_ = false;
};

}  // namespace haes::cluster
