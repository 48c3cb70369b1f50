#pragma once
// The operators' commands (docs/admin.md), registered in the admin command
// table. Every handler turns its flags into a typed Command, asks the
// FailoverController (the one decider) and hands the decision to the
// TransitionPipeline (the one writer); `status` renders the status model;
// planned moves with a sync go through SnapshotSync, which uses the same two.
// Runs on the control thread (the admin socket's executor).

#include <functional>
#include <optional>

#include "admin/command_table.hpp"
#include "common/health.hpp"
#include "config/config.hpp"
#include "controller/controller.hpp"
#include "readiness/readiness.hpp"
#include "status/report.hpp"
#include "transitions/pipeline.hpp"

namespace haes {

class SnapshotSync;
class DrillRunner;

struct CommandsContext {
  const Config* config = nullptr;
  FailoverController* controller = nullptr;
  TransitionPipeline* pipeline = nullptr;
  SnapshotSync* sync = nullptr;  // null: no sync: section
  DrillRunner* drill = nullptr;  // null: no drills (they need the sync)
  // The passive cluster's readiness now (docs/readiness.md): a planned move
  // to a cluster judged "no" is refused unless --force. Empty: not judged.
  std::function<std::optional<ReadinessVerdict>()> readiness;
  std::function<const HealthRound*()> latest_round;
  std::function<StatusReport()> status;  // the status model, built now
  std::function<SysTime()> now = [] { return now_sys(); };
  // Several agents: commands that must run on the leader (a sync, a planned
  // move with its final sync, a restore test) are sent there: this returns
  // the leader's reply, or nullopt when this agent is the leader (run here).
  // Absent: one agent.
  admin::ToLeader on_leader;
  // CCR mode (agent/ccr): a planned move (failback, switchover) runs
  // through this instead of the snapshot sync; it calls `switch_roles` (the
  // controller and the pipeline) once the followers have caught up.
  using SwitchRoles = std::function<boost::asio::awaitable<Result<std::string>>()>;
  std::function<boost::asio::awaitable<Result<std::string>>(std::string target, bool dry_run, SwitchRoles switch_roles)>
      planned_move;
};

// Adds every command to `table` (then seal() it). The context's pointers
// must outlive the table.
void register_commands(admin::CommandTable& table, const CommandsContext& ctx);

}  // namespace haes
