#pragma once
// DR drills (docs/drills.md), the pure half: the plan of a drill (its steps,
// in order), what to undo when a step fails, and the report kept afterwards.
// The runner (drill.hpp) sequences the I/O through SnapshotSync's planned
// switchover; nothing here does I/O.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/enum_names.hpp"
#include "common/result.hpp"
#include "common/state.hpp"
#include "common/time.hpp"

namespace haes {

// clang-format off
#define HAES_DRILL_STEP_LIST(X)                                               \
  X(kReadinessBefore, "readiness_before") /* the target's readiness, recorded */ \
  X(kSwitchover, "switchover")            /* planned switchover to the passive cluster */ \
  X(kWrite, "write")                      /* documents written to the scratch index there */ \
  X(kRead, "read")                        /* read back, counted */            \
  X(kCleanup, "cleanup")                  /* the scratch index deleted */     \
  X(kSwitchBack, "switch_back")           /* planned switchover back */       \
  X(kReadinessAfter, "readiness_after")
// clang-format on
HAES_ENUM(DrillStep, uint8_t, "step", HAES_DRILL_STEP_LIST)

struct DrillPlan {
  std::string id;             // "20261202T063000Z": also names the scratch index
  std::string from;           // the active cluster, where the drill ends
  std::string to;             // the passive cluster, active during the drill
  std::string scratch_index;  // haes-drill-<id>
  int64_t documents = 0;
  std::string through;  // drill.through (the front door), or "": straight to `to`
  std::vector<DrillStep> steps;
};

// The plan of a drill started at `now` on `state`. Refused (kNoActive,
// kAlreadyActive ...) when no cluster is active, `to` is not the passive
// cluster, or another drill is stored as running. `to` empty: the first
// configured cluster other than the active one and not fenced.
Result<DrillPlan> plan_drill(const State& state, const std::vector<std::string>& clusters, const std::string& to,
                             int64_t documents, SysTime now, const std::string& through = "");

// What `haesctl drill --dry-run` prints: one numbered line per step.
std::string render_plan(const DrillPlan& plan);

// The steps to run after `failed` failed: none before the switchover took
// (the switchover rolls itself back), else clean up and switch back.
std::vector<DrillStep> recovery_steps(DrillStep failed);

// With drill.through: whether an answer of the front door to the drill's
// first write means it does not send traffic to the new active cluster yet
// (HAProxy's own 502/503/504 while the backend's servers come up, or our
// haproxy.cfg's haes_unavailable_exception): the write is tried again, for a
// bounded time. An Elasticsearch error is an answer, not a wait.
bool front_door_not_routing_yet(int status, const std::string& es_type);

// Where the drill's documents landed, as the read step found them.
struct DrillPlacement {
  int64_t written = 0;
  int64_t read = 0;        // counted where the drill wrote (the front door, or `to`)
  int64_t on_target = -1;  // counted on `to` directly; -1 when not asked (no front door)
  bool on_source = false;  // the scratch index exists on `from`
};
// The read step's verdict: every document read back, and with a front door
// every one on `to` and none on `from` (a front door that does not follow
// the agent's verdict sends them to the old cluster).
Result<std::string> judge_placement(const DrillPlan& plan, const DrillPlacement& found);

struct DrillStepResult {
  DrillStep step = DrillStep::kReadinessBefore;
  bool ok = false;
  Duration took{0};
  std::string detail;  // one line
};

struct DrillReport {
  std::string id;
  std::string from;
  std::string to;
  std::string actor;
  SysTime started_at{};
  SysTime finished_at{};  // epoch 0 while running
  bool running = true;
  bool ok = false;
  std::string reason;  // why it failed ("" when ok)
  bool rolled_back = false;
  std::vector<DrillStepResult> steps;
  std::optional<Duration> write_block_to;    // writes refused during the switchover to `to`
  std::optional<Duration> write_block_back;  // ... and back
  std::optional<int64_t> rpo_seconds;        // the passive data's age when the drill began
  std::string through;                       // the front door written through, or ""
  std::optional<Duration> front_door_wait;   // from the switchover's end to the front door's first write
  std::string readiness_before;              // readiness_line()
  std::string readiness_after;
  int64_t documents_written = 0;
  int64_t documents_read = 0;
};

nlohmann::json drill_report_json(const DrillReport& r);
Result<DrillReport> drill_report_from_json(const nlohmann::json& j);
// Several lines: the verdict, the figures, then one line per step.
std::string render_drill_report(const DrillReport& r);
// One line for status: "last drill 20261202T063000Z ok, 12s ago ..." .
std::string drill_summary(const DrillReport& r, SysTime now);

}  // namespace haes
