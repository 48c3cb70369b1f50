#pragma once
// Agent: owns every component of haes-agent and wires them together.
//
// Threads:
//  - the control thread (the caller of run()) runs the HealthMonitor's
//    rounds, the FailoverController, the state store writes, the admin
//    socket; it alone changes State and publishes verdicts;
//  - the SPOP server's threads and the edge thread (health and agent-check
//    ports, /metrics) only read the published verdict (and counters);
//  - the hook runner's thread runs on_role_change.
// Order of every change: controller decides → store compare-and-swap →
// journal → publish the verdict → hook. A failed store write changes
// nothing (DESIGN.md: persisted before any verdict changes).
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "admin/admin_server.hpp"
#include "admin/command_table.hpp"
#include "common/lock_guarded.hpp"
#include "common/state.hpp"
#include "config/config.hpp"
#include "controller/controller.hpp"
#include "daemon/hook_runner.hpp"
#include "daemon/route_handler.hpp"
#include "http/agent_check_server.hpp"
#include "http/health_server.hpp"
#include "monitor/monitor.hpp"
#include "spoe/server.hpp"
#include "store/state_store.hpp"
#include "sync/snapshot_sync.hpp"
#include "verdict/verdict.hpp"

namespace haes {

class Agent {
 public:
  // Opens the state store and prepares every component. Throws
  // std::runtime_error with a message for operators (a corrupt or locked
  // state file, a stored role naming a cluster not in the config, unusable
  // TLS or auth settings).
  explicit Agent(Config config);
  ~Agent();
  // Runs until SIGTERM or SIGINT; returns the process exit code.
  int run();

 private:
  void open_store();
  void on_round(const HealthRound& round);
  // Persists and applies a controller decision. Returns false when the store
  // refused it (nothing changed); `error` then says why.
  bool apply(const Decision& d, std::string* error);
  void publish_verdict();
  void log_round_changes(const HealthRound& round);
  void refresh_control_metrics();
  std::string render_metrics() const;  // edge thread
  void start_edge();
  void stop_edge();

  void register_commands();
  admin::Reply command(CommandKind kind, const admin::Args& args, const admin::Peer& peer);
  admin::Reply status(const admin::Args& args);
  admin::Reply events(const admin::Args& args);
  std::string next_step_hint() const;
  // SnapshotSync's hooks.
  Result<void> record_sync(const SyncPoint& point, uint64_t epoch);
  Result<std::string> switch_roles(const std::string& target, const std::string& kind, const std::string& actor,
                                   const std::string& reason);
  void journal(Event e);
  // Persists a state change that is not a controller decision (sync point,
  // write-block marker): CAS, then verdicts and metrics.
  Result<void> store_state(const State& next);
  std::string sync_status_text(nlohmann::json* j) const;
  boost::asio::awaitable<admin::Reply> planned(CommandKind kind, admin::Args args, admin::Peer peer);
  // `sync now` and `verify-restore`.
  boost::asio::awaitable<admin::Reply> sync_command(bool verify, admin::Peer peer);
  admin::Reply sync_hold_command(bool hold, const admin::Args& args, const admin::Peer& peer);

  Config config_;
  boost::asio::io_context control_;
  // The edge thread serves the health and agent-check ports, so that slow
  // control work (fsync, hooks) never delays an answer to HAProxy.
  boost::asio::io_context edge_;
  std::thread edge_thread_;
  HealthCounters health_counters_;
  std::unique_ptr<HealthServer> health_;
  std::unique_ptr<AgentCheckServer> agent_check_;

  std::unique_ptr<StateStore> store_;
  State state_;
  FailoverController controller_;
  std::optional<HealthRound> latest_round_;
  std::unique_ptr<HealthMonitor> monitor_;
  std::unique_ptr<HookRunner> hooks_;
  std::unique_ptr<SnapshotSync> sync_;  // when sync: is configured
  admin::CommandTable commands_;
  std::unique_ptr<admin::AdminServer> admin_;

  VerdictView verdicts_;
  RouteCounters route_counters_;
  std::unique_ptr<spoe::Server> spoe_;

  // Control-thread counters for /metrics.
  std::map<std::string, uint64_t> transitions_;
  std::map<std::string, uint64_t> command_results_;  // "failover/ok"
  uint64_t store_errors_ = 0;
  struct HookStats {
    uint64_t ok = 0, failed = 0, timeout = 0;
  };
  std::shared_ptr<LockGuarded<HookStats>> hook_stats_ = std::make_shared<LockGuarded<HookStats>>();
  // The control thread's part of /metrics, re-rendered after each round or
  // command; the edge thread adds the live SPOE and health-port counters.
  mutable LockGuarded<std::string> control_metrics_;
};

}  // namespace haes
