#pragma once
// SnapshotSync (docs/sync.md): every sync.interval, snapshot the active
// cluster's selected indices into the shared repository and restore them on
// the passive cluster, so that a failover loses at most what was written
// since the last sync (the RPO, shown at every moment). Also the planned
// switchover without loss, and restore verification.
//
// Layers: what an operation may do and what ES's answers mean are pure
// functions (plan.hpp, answers.hpp, guard.hpp, naming.hpp); this class only
// sequences the I/O and calls them. Every Elasticsearch write goes through
// the operation's WriteGuard (es_access.hpp), which refuses it once the
// epoch or the active cluster moved, or an operator held the syncs, so a
// sync never touches a cluster that became active. State is written only
// through the controller and the pipeline (SyncContext).
//
// Runs on the control thread (coroutines); one operation at a time. An
// operator's operation (sync now, switchover, failback, verify-restore)
// that finds another running waits for it, up to sync.timeout, shown in
// status' running line. Coroutines take their parameters by value.
//
// Lifetime: stop() ends every wait and every ES request in flight at once;
// the coroutines then end as soon as the io_context runs them (the agent
// polls it until idle before destroying its components), so none outlives
// the SnapshotSync.
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/health.hpp"
#include "common/result.hpp"
#include "common/state.hpp"
#include "config/config.hpp"
#include "controller/controller.hpp"
#include "sync/answers.hpp"
#include "sync/child_process.hpp"
#include "sync/copy_plan.hpp"
#include "sync/es_access.hpp"
#include "sync/plan.hpp"
#include "sync/status.hpp"
#include "transitions/pipeline.hpp"

namespace haes {

// What the sync needs from the agent: the state (read from the pipeline),
// the latest health round, and the one decider and the one writer of the
// state for what it reports (a sync point, the write-block marker, a planned
// role move, journal events).
struct SyncContext {
  FailoverController& controller;
  TransitionPipeline& pipeline;
  std::function<const HealthRound*()> latest_round;
  // Whether this agent may run automatic work now (several agents: only
  // the leader syncs on its own). Asked before each scheduled sync or
  // verification and, through the guard, before each of its steps; not for
  // an operator's command. Empty: always allowed.
  sync::MayRunNow may_run_automatic;
};

class SnapshotSync {
 public:
  // The write block a planned switchover left on the cluster it moved away
  // from (kept while that cluster is passive) is lifted as soon as that
  // cluster is active again (a failover back before a sync replaced its
  // indices). Cheap; the agent calls it whenever it publishes a state.
  void lift_if_active();
  // Fencing beyond HAProxy (sync/fence.hpp): blocks writes on the synced
  // indices of a cluster that lost the active role by a failover, once it
  // answers. Cheap when there is nothing to do; called with lift_if_active().
  void fence_if_needed();
  SnapshotSync(boost::asio::io_context& ctx, const Config& config, SyncContext context);
  ~SnapshotSync();
  SnapshotSync(const SnapshotSync&) = delete;
  SnapshotSync& operator=(const SnapshotSync&) = delete;
  void start();
  // Cancels the schedule, every wait and poll, and closes the ES clients:
  // operations in flight end with kCancelled when the io_context next runs
  // (nothing is journaled or stored after stop()).
  void stop();
  bool busy() const { return busy_; }
  const SyncStatus& status() const { return status_; }
  const SyncStats& stats() const { return stats_; }

  // One sync now (what the schedule does). While another operation runs,
  // waits for it (up to sync.timeout), then syncs.
  boost::asio::awaitable<Result<std::string>> sync_now(std::string actor);
  // Planned move without loss: block writes on the active cluster, final
  // snapshot, restore on `target`, lift the blocks there, switch roles.
  // Any failure before the switch unblocks the active cluster and changes no
  // role. `kind`: kSwitchover or kFailback. Waits for a running operation
  // first (up to sync.timeout); a dry run does not wait.
  boost::asio::awaitable<Result<std::string>> planned_switch(std::string target, Transition kind, std::string actor,
                                                             std::string reason, bool dry_run);
  // Restores the last synced snapshot on the passive cluster under scratch
  // names (haes-verify-*), compares document counts with the synced indices,
  // deletes the scratch indices, records the result. Waits for a running
  // operation first.
  boost::asio::awaitable<Result<std::string>> verify_restore(std::string actor);

 private:
  class Busy;
  struct Waiting {
    boost::asio::steady_timer* timer;
    SyncWaiter shown;
  };

  boost::asio::awaitable<void> loop();
  // Waits until no operation runs and every operation that waited before
  // this one went first, then marks `op` running (busy_: the caller
  // constructs its Busy right away, before any co_await or return). Gives up
  // after sync.timeout (kBusy) or at stop() (kCancelled). `who` ("switchover
  // to dc2 by operator ...") is shown in status' running line meanwhile.
  // Returns "" when nothing ran, else a line saying how long it waited.
  boost::asio::awaitable<Result<std::string>> wait_idle(SyncOperation op, std::string who);
  // `automatic`: started by the schedule (its plan is Plan::automatic).
  boost::asio::awaitable<Result<std::string>> run_sync(std::string actor, bool automatic);
  boost::asio::awaitable<Result<std::string>> run_verify(std::string actor, bool automatic);
  boost::asio::awaitable<Result<std::string>> run_planned_switch(sync::Plan p, Transition kind, std::string actor,
                                                                 std::string reason);
  // The planned move's rollback: unblock the active cluster's writes (if
  // it still is active), clear the marker, journal; returns the error to report.
  boost::asio::awaitable<Error> rollback(sync::Plan p, Transition kind, std::string actor, Error e);
  Result<sync::Plan> make_plan(const std::string& target, sync::RedTarget red) const;
  // The operation's guard, made from its plan (Busy clears it).
  sync::WriteGuard& guard_for(sync::Plan p);
  sync::WriteGuard& guard() { return *guard_; }
  boost::asio::awaitable<Result<sync::Answer>> write(sync::Write w);
  // A GET of the running operation, through its guard (WriteGuard::read).
  boost::asio::awaitable<sync::Answer> read(sync::Read r);
  // Why automatic work may not run now (SyncContext::may_run_automatic), if so.
  std::optional<std::string> automatic_refused() const;
  void step(std::string what);
  void refresh_step();
  // Sleeps `d` unless stop() (then returns at once).
  boost::asio::awaitable<void> sleep(Duration d);

  // ES steps (es_steps.cpp); each writes only through guard().
  boost::asio::awaitable<Result<void>> ensure_repositories(sync::Plan p);
  boost::asio::awaitable<Result<void>> put_repository(std::string cluster, bool readonly);
  boost::asio::awaitable<Result<void>> verify_repository(std::string cluster);
  boost::asio::awaitable<Result<nlohmann::json>> take_snapshot(sync::Plan p, std::string name);
  boost::asio::awaitable<Result<void>> red_only_where_restored(sync::Plan p, std::vector<std::string> indices);
  // `write_block`: index.blocks.write given to the restored indices
  // (index_settings); nullopt: as the snapshot has it.
  boost::asio::awaitable<Result<void>> restore(sync::Plan p, std::string name, std::vector<std::string> indices,
                                               std::optional<bool> write_block);
  boost::asio::awaitable<Result<void>> set_write_block(std::string cluster, bool on);
  boost::asio::awaitable<void> retention(sync::Plan p);
  // The repository copy (repository_copy.cpp; sync.repository.copy set):
  // blobs, root files, verification, then `snapshot` as the target reads it.
  boost::asio::awaitable<Result<void>> copy_repository(sync::Plan p, std::string snapshot);
  // After retention: the new root again, then the target pruned. Failures
  // are logged and counted (the next sync copies again).
  boost::asio::awaitable<void> copy_after_retention(sync::Plan p);
  boost::asio::awaitable<Result<sync::RsyncStats>> run_rsync(CopyPhase phase, sync::CopyRoute route);
  bool copying() const { return sync_.repository.copy.has_value(); }
  boost::asio::awaitable<void> check_dangers(sync::Plan p);
  // Undoes what an interrupted planned switchover left: writes blocked on a
  // cluster that is still active are unblocked; the marker is cleared.
  boost::asio::awaitable<void> recover_write_block();
  // Blocks writes on `cluster` (fenced), then records the marker, journals.
  boost::asio::awaitable<void> fence(std::string cluster);
  boost::asio::awaitable<void> fail(SyncOperation operation, std::string actor, Error e);
  // The verification's record (status, log, journal).
  boost::asio::awaitable<void> record_verify(bool ok, uint64_t epoch, std::string actor, std::string line);

  // The agent's side (through the controller and the pipeline); nothing
  // after stop().
  const State& state() const { return ctx_.pipeline.state(); }
  boost::asio::awaitable<Result<void>> record_point(SyncPoint point, uint64_t epoch);
  boost::asio::awaitable<Result<void>> mark_write_block(WriteBlock block);
  boost::asio::awaitable<Result<std::string>> switch_roles(std::string target, Transition kind, std::string actor,
                                                           std::string reason);
  boost::asio::awaitable<void> journal(EventKind kind, uint64_t epoch, std::string actor, std::string message);
  Error cancelled(const std::string& what) const;

  boost::asio::io_context& io_;
  const Config& config_;
  const SyncConfig& sync_;
  SyncContext ctx_;
  sync::SyncEs es_;
  std::optional<sync::WriteGuard> guard_;
  SyncStatus status_;
  SyncStats stats_;
  std::string step_;  // the current step, without the waiters' note
  // The indices a restore of ours was sent for and did not finish well
  // (failed shards, unusable, an error after it began): the only red
  // indices a sync may restore over. In memory: after a restart a red
  // passive cluster is refused until an operator mends it.
  struct LeftRed {
    std::string cluster;
    std::vector<std::string> indices;
  } left_red_;
  bool busy_ = false;
  bool stopping_ = false;
  bool lifting_ = false;          // lift_if_active() running
  bool fencing_ = false;          // fence_if_needed() running
  std::string last_fence_error_;  // logged once, until it changes or the fence succeeds
  std::chrono::steady_clock::time_point next_fence_try_{};
  std::string last_skip_;           // why scheduled syncs are skipped now ("" : they are not), logged when it changes
  boost::asio::steady_timer wake_;  // the schedule
  // Timers of coroutines waiting (an operation waiting for the running one,
  // a snapshot poll's pause): stop() cancels them; the end of an operation
  // wakes the waiting operations.
  std::vector<boost::asio::steady_timer*> sleepers_;
  std::vector<Waiting> waiting_;  // in arrival order: the first goes next
  sync::Children children_;       // rsync runs: stop() ends them
};

}  // namespace haes
