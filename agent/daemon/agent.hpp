#pragma once
// Agent: builds every component of haes-agent and wires them together. It
// decides nothing: decisions live in the FailoverController, writes in the
// TransitionPipeline, who acts in a pair of several agents in
// cluster::SeveralAgents, the ports in Listeners, reports in the status
// model, commands in commands/.
//
// Threads:
//  - the control thread (the caller of run()) runs the HealthMonitor's
//    rounds, the controller, the pipeline (store writes), the sync and the
//    admin socket; it alone changes the state and publishes verdicts;
//  - the listeners' threads (SPOP, and the edge thread: health and
//    agent-check ports, /metrics) only read the published verdict and
//    counters (agent/listeners);
//  - the hook runner's thread runs on_role_change.
// Shutdown: every component stops (closes its listeners, cancels its timers
// and requests), the threads are joined, the io_contexts run what was
// cancelled to completion and are destroyed — before the components.
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "admin/command_table.hpp"
#include "ccr/service.hpp"
#include "cluster/several_agents.hpp"
#include "common/lock_guarded.hpp"
#include "config/config.hpp"
#include "controller/controller.hpp"
#include "drill/drill.hpp"
#include "hooks/hook_runner.hpp"
#include "listeners/listeners.hpp"
#include "monitor/monitor.hpp"
#include "readiness/readiness.hpp"
#include "status/report.hpp"
#include "store/state_store.hpp"
#include "sync/snapshot_sync.hpp"
#include "transitions/pipeline.hpp"
#include "verdict/publisher.hpp"
#include "verdict/verdict.hpp"

namespace haes {

class Agent {
 public:
  // Opens the state store and builds every component. Throws
  // std::runtime_error with a message for operators (a corrupt or locked
  // state, a stored role naming a cluster not in the config, unusable TLS or
  // auth settings).
  explicit Agent(Config config);
  ~Agent();
  // Runs until SIGTERM or SIGINT; returns the process exit code.
  int run();

 private:
  boost::asio::awaitable<void> on_round(HealthRound round);
  // Passive readiness from the latest round and vitals; logs and journals a change.
  boost::asio::awaitable<void> judge_readiness_now();
  ReadinessVerdict readiness_now() const;
  // One agent, or the leader of several: automatic work is this agent's.
  bool leads() const { return !several_ || several_->leads(); }
  const HealthRound* round() const { return latest_round_ ? &*latest_round_ : nullptr; }
  void publish(const State& state);
  StatusReport status_now() const;
  void refresh_status_metrics();
  std::string render_metrics() const;  // edge thread: the state gauges and the components' counters
  void stop_all();

  Config config_;
  // Declared first, destroyed last; stop_all() stops and drains it first.
  std::unique_ptr<boost::asio::io_context> control_;

  VerdictView verdicts_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<cluster::SeveralAgents> several_;  // state.store: etcd
  FailoverController controller_;
  VerdictPublisher publisher_;
  std::unique_ptr<HookRunner> hooks_;
  std::unique_ptr<TransitionPipeline> pipeline_;
  std::optional<HealthRound> latest_round_;
  std::unique_ptr<HealthMonitor> monitor_;
  std::unique_ptr<SnapshotSync> sync_;         // when sync: is configured (mode snapshot)
  std::unique_ptr<CcrService> ccr_;            // sync.mode: ccr
  std::unique_ptr<DrillRunner> drill_;         // with the snapshot sync
  std::optional<ReadinessVerdict> readiness_;  // judged after every round
  admin::CommandTable commands_;
  std::unique_ptr<Listeners> listeners_;
  // The state gauges of /metrics, rendered on the control thread after
  // every change; the edge thread adds the live counters.
  mutable LockGuarded<std::string> status_metrics_;
  bool stopped_ = false;
};

}  // namespace haes
