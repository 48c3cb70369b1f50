#pragma once
// SnapshotSync (docs/sync.md): every sync.interval, snapshot the active
// cluster's selected indices into the shared repository and restore them on
// the passive cluster, so that a failover loses at most what was written
// since the last sync (the RPO, shown at every moment). Also the planned
// switchover without loss, and restore verification.
//
// Runs on the control thread (coroutines); one operation at a time. Before
// every step it checks that the epoch and the active cluster are still what
// they were when the operation began: if roles changed, it stops and never
// touches the now-active cluster. It writes state only through SyncHooks
// (the Agent owns the store and the controller).
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "common/health.hpp"
#include "common/result.hpp"
#include "common/state.hpp"
#include "config/config.hpp"
#include "es/cluster_client.hpp"

namespace haes {

struct SyncHooks {
  std::function<const State&()> state;
  std::function<const HealthRound*()> round;
  // Stores `point` as the last sync if the epoch is still `epoch`.
  std::function<Result<void>(const SyncPoint& point, uint64_t epoch)> record;
  std::function<void(Event)> journal;
  // Stores (or, with an empty cluster, clears) the write-block marker.
  std::function<Result<void>(const WriteBlock& block)> mark_write_block;
  // Makes `target` active as a planned move (kind: "switchover" or
  // "failback") through the controller and the store; returns its reply.
  std::function<Result<std::string>(const std::string& target, const std::string& kind, const std::string& actor,
                                    const std::string& reason)>
      switch_roles;
};

struct SyncStatus {
  std::string step;               // what runs now; "" when idle
  SysTime step_since{};
  std::string operation;          // "sync", "switchover", "verify-restore"
  std::string last_result;        // "ok", "failed", "" (never ran)
  SysTime last_attempt_at{};
  SysTime last_ok_at{};
  std::string last_error;         // one line; kept until the next success
  SysTime last_error_at{};
  std::string last_snapshot;      // last snapshot taken (synced or not)
  Duration last_snapshot_took{0};
  Duration last_restore_took{0};
  Duration last_sync_took{0};
  SysTime next_at{};
  std::map<std::string, std::string> repository;  // cluster -> "writer" | "readonly" | "error: ..."
  std::vector<std::string> dangers;                // e.g. SLM policies on the passive cluster
  uint64_t runs_ok = 0;
  uint64_t runs_failed = 0;
  uint64_t snapshots_deleted = 0;
  std::string last_verify;        // one line
  SysTime last_verify_at{};
  std::optional<bool> last_verify_ok;
  std::optional<Duration> last_write_block;  // the last switchover's write-unavailable window
};

class SnapshotSync {
 public:
  SnapshotSync(boost::asio::io_context& ctx, const Config& config, SyncHooks hooks);
  ~SnapshotSync();
  void start();
  void stop();
  bool busy() const { return busy_; }
  const SyncStatus& status() const { return status_; }

  // One sync now (what the schedule does). Error "busy" when an operation runs.
  boost::asio::awaitable<Result<std::string>> sync_now(std::string actor);
  // Planned move without loss: block writes on the active cluster, final
  // snapshot, restore on `target`, lift the blocks there, switch roles.
  // Any failure before the switch unblocks the active cluster and changes no
  // role. `kind`: "switchover" or "failback".
  boost::asio::awaitable<Result<std::string>> planned_switch(std::string target, std::string kind, std::string actor,
                                                             std::string reason, bool dry_run);
  // Restores the last synced snapshot on the passive cluster under scratch
  // names (haes-verify-*), compares document counts with the synced indices,
  // deletes the scratch indices, records the result.
  boost::asio::awaitable<Result<std::string>> verify_restore(std::string actor);

 private:
  struct Plan {
    uint64_t epoch = 0;
    std::string source;  // the active cluster: snapshotted
    std::string target;  // the passive cluster: restored into
    bool target_red = false;  // only for a sync after our own failed restore; see red_only_where_restored
  };
  class Busy;
  boost::asio::awaitable<void> loop();
  boost::asio::awaitable<Result<std::string>> run_sync(const std::string& actor);
  // allow_red_target: a red (but answering) target is planned, to be
  // checked against the indices the restore replaces.
  Result<Plan> make_plan(const std::string& target, bool allow_red_target = false) const;
  boost::asio::awaitable<Result<void>> red_only_where_restored(const Plan& p, const std::vector<std::string>& indices);
  // Roles unchanged since the plan, and syncs not held by an operator.
  bool still(const Plan& p) const;
  std::optional<Error> held() const;
  Error roles_changed(const Plan& p, const std::string& before) const;
  void step(std::string what);
  boost::asio::awaitable<void> sleep(Duration d);
  es::ClusterClient& client(const std::string& cluster);

  boost::asio::awaitable<Result<void>> ensure_repositories(const Plan& p);
  boost::asio::awaitable<Result<nlohmann::json>> take_snapshot(const Plan& p, const std::string& name);
  boost::asio::awaitable<Result<void>> restore(const Plan& p, const std::string& name,
                                               const std::vector<std::string>& indices, bool unblock_writes);
  boost::asio::awaitable<Result<void>> set_write_block(const std::string& cluster, bool on);
  boost::asio::awaitable<void> retention(const Plan& p);
  boost::asio::awaitable<void> check_dangers(const Plan& p);
  // Undoes what an interrupted planned switchover left: writes blocked on a
  // cluster that is still active are unblocked; the marker is cleared.
  boost::asio::awaitable<void> recover_write_block();
  void fail(const std::string& operation, const std::string& actor, const Error& e);

  boost::asio::io_context& ctx_;
  const Config& config_;
  const SyncConfig& sync_;
  SyncHooks hooks_;
  std::map<std::string, std::unique_ptr<es::ClusterClient>> clients_;
  SyncStatus status_;
  // The indices a restore of ours was sent for and did not finish well
  // (failed shards, unusable, an error after it began): the only red
  // indices a sync may restore over. In memory: after a restart a red
  // passive cluster is refused until an operator mends it.
  struct LeftRed {
    std::string cluster;
    std::vector<std::string> indices;
  } left_red_;
  bool busy_ = false;
  std::shared_ptr<bool> stopped_;
  std::unique_ptr<boost::asio::steady_timer> wake_;
};

}  // namespace haes
