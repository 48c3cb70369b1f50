#pragma once
// The status model: one pure function from what the agent knows (stored
// state, published verdict, controller view, latest health round, sync
// status, config) to a typed StatusReport. `haesctl status` (text and
// --json) and the state gauges of /metrics are renderings of it, so the
// three can never disagree. Runs on the control thread; no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ccr/rules.hpp"
#include "common/enum_names.hpp"
#include "common/health.hpp"
#include "common/state.hpp"
#include "common/time.hpp"
#include "config/config.hpp"
#include "controller/controller.hpp"
#include "drill/plan.hpp"
#include "metrics/metrics.hpp"
#include "readiness/readiness.hpp"
#include "sync/status.hpp"
#include "verdict/verdict.hpp"
#include "vitals/vitals.hpp"

namespace haes {

// clang-format off
#define HAES_CLUSTER_ROLE_LIST(X) \
  X(kActive, "active")      \
  X(kPassive, "passive")    \
  X(kFenced, "fenced")
// clang-format on
HAES_ENUM(ClusterRole, uint8_t, "role", HAES_CLUSTER_ROLE_LIST)

// What an operator should do now (status's last line), most urgent first.
// clang-format off
#define HAES_NEXT_STEP_LIST(X)                  \
  X(kNothing, "nothing")                        \
  X(kNoClusterMayServe, "no_cluster_may_serve") \
  X(kFencedHealthy, "fenced_healthy")           \
  X(kFencedUnhealthy, "fenced_unhealthy")       \
  X(kPaused, "paused")                          \
  X(kHeldDown, "held_down")
// clang-format on
HAES_ENUM(NextStep, uint8_t, "step", HAES_NEXT_STEP_LIST)

struct NodeReport {
  std::string name;
  std::string url;
  bool probed = false;
  Health health = Health::kUnknown;
  ProbeFailure failure = ProbeFailure::kNone;
  double latency_ms = 0;
  std::string version;  // from GET /; "" until it answered
  std::string reason;
};

struct ClusterReport {
  std::string name;
  ClusterRole role = ClusterRole::kPassive;
  bool probed = false;
  Health health = Health::kUnknown;
  std::string reason;
  bool may_take_traffic = false;
  int bad_rounds = 0;
  std::vector<NodeReport> nodes;
};

// A cluster's vitals (read by the HealthMonitor every vitals.interval).
struct VitalsReport {
  ClusterVitals vitals;
  int64_t age_seconds = -1;  // since the last successful read (-1: never)
};

struct SyncReport {
  Duration interval{0};
  std::string repository;       // name
  std::string repository_type;  // fs, s3, ...
  SyncStatus status;            // a copy of the sync's own report
  SyncPoint last_sync;          // from the stored state
  std::string passive;          // the passive cluster now
  // The RPO if the active cluster failed now: seconds since the last synced
  // snapshot started, when it was restored into the current passive cluster.
  std::optional<int64_t> passive_data_age_seconds;
  SyncHold hold;
  WriteBlock write_block;
};

// Several agents (etcd): the store, the leader, every agent.
struct EndpointReport {
  std::string url;
  bool ok = false;
  std::string error;
};

struct PeerReport {
  std::string name;
  bool self = false;
  bool live = false;  // its record is in etcd (its lease holds)
  bool leader = false;
  uint64_t epoch = 0;
  std::string active;
  int64_t record_age_ms = -1;
  std::string seen;  // "dc1 green, dc2 red 3 rounds"
};

struct PairReport {
  std::string agent;
  std::string leader;  // "" when none
  bool this_is_leader = false;
  std::string prefix;
  std::vector<EndpointReport> endpoints;
  std::string current_endpoint;
  std::string store_error;   // the last read's error, "" when it answered
  int64_t view_age_ms = -1;  // since the last confirmed view (-1: never)
  bool failsafe = false;     // confirmed by the peers, not by etcd
  std::string failsafe_text;
  bool window_open = false;
  std::string window_text;  // why closed ("" when open)
  uint64_t members_version = 0;
  std::vector<PeerReport> agents;
  std::string confirmation;  // what a failover needs now
};

struct StatusReport {
  SysTime now{};
  // roles
  uint64_t epoch = 0;
  std::string active;
  std::string may_take_traffic;  // the verdict's cluster; "" when none may
  std::string verdict_reason;
  std::vector<std::string> fenced;
  std::string preferred;
  SysTime changed_at{};
  std::string changed_by;
  std::string change_reason;
  // automatic failover
  bool automatic = true;
  bool paused = false;
  PauseInfo pause;
  bool held_down = false;
  SysTime hold_down_until{};
  Blocker blocker = Blocker::kNone;
  std::string blocker_text;
  int64_t fail_threshold = 0;
  Duration interval{0};
  // clusters
  std::vector<ClusterReport> clusters;
  // store and health rounds
  std::string store;
  uint64_t health_round = 0;
  SysTime health_round_at{};
  // cluster vitals, in config order
  Duration vitals_interval{0};  // 0: not read
  std::vector<VitalsReport> vitals;
  std::optional<SyncReport> sync;             // absent: no sync: section
  std::optional<ccr::CcrStatus> ccr;          // sync.mode: ccr
  std::optional<PairReport> pair;             // absent: one agent (local store)
  std::optional<ReadinessVerdict> readiness;  // absent: not judged yet
  bool drills = false;                        // drills possible (sync configured)
  std::optional<DrillReport> last_drill;
  NextStep next = NextStep::kNothing;
  std::string next_text;
};

struct StatusInputs {
  const Config* config = nullptr;                      // required
  const State* state = nullptr;                        // required
  const Verdict* verdict = nullptr;                    // the published verdict; null before the first
  const HealthRound* round = nullptr;                  // latest round; null before the first
  ControllerView controller;                           // blocker and streaks
  std::string store;                                   // StateStore::describe()
  const SyncStatus* sync = nullptr;                    // null: sync not configured
  const ccr::CcrStatus* ccr = nullptr;                 // null: not in CCR mode
  const PairReport* pair = nullptr;                    // null: one agent
  const std::vector<ClusterVitals>* vitals = nullptr;  // the monitor's; null: none read
  const ReadinessVerdict* readiness = nullptr;         // null: not judged yet
  const std::vector<DrillReport>* drills = nullptr;    // null: no drill runner
  SysTime now{};
};

StatusReport build_status(const StatusInputs& in);

std::string render_status_text(const StatusReport& r);
nlohmann::json render_status_json(const StatusReport& r);
// The state gauges of /metrics (haes_epoch, haes_cluster_health, ...).
void export_status_metrics(MetricsText& out, const StatusReport& r);

}  // namespace haes
