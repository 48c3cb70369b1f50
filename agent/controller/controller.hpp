#pragma once
// FailoverController: the one place that decides every change of the stored
// state. Observations, operator commands and the sync's reports in; Decisions
// (a Change plus the operator's reply) out. No I/O and no clock: `now` is
// always a parameter, so every rule runs on simulated time in the tests
// (docs/failover.md states the rules for operators).
//
// Contract with the caller: hand a Decision to the TransitionPipeline, which
// persists `next` with compare-and-swap from current.revision, then journals
// `events`, publishes verdicts and runs the hook. A Decision without `next`
// changes nothing (it may still carry events to journal, e.g. a refusal).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/change.hpp"
#include "common/enum_names.hpp"
#include "common/health.hpp"
#include "common/result.hpp"
#include "common/state.hpp"
#include "common/time.hpp"

namespace haes {

struct ControllerConfig {
  std::vector<std::string> clusters;  // config order: the tie-break between targets
  std::string preferred;
  int fail_threshold = 3;
  Duration hold_down = std::chrono::minutes(5);
  bool automatic = true;
};

// clang-format off
#define HAES_COMMAND_KIND_LIST(X) \
  X(kFailback, "failback")        \
  X(kSwitchover, "switchover")    \
  X(kFailover, "failover")        \
  X(kPause, "pause")              \
  X(kResume, "resume")            \
  X(kAck, "ack")                  \
  X(kSyncHold, "sync_hold")       \
  X(kSyncRelease, "sync_release")
// clang-format on
HAES_ENUM(CommandKind, uint8_t, "command", HAES_COMMAND_KIND_LIST)

struct Command {
  CommandKind kind = CommandKind::kFailback;
  std::string target;  // switchover/failover
  bool force = false;  // failover: skip the health precondition
  bool dry_run = false;
  std::string reason;                    // operator's words, optional
  std::optional<Duration> for_duration;  // pause
  std::string actor;                     // "operator <user>@<host>"
};

struct Decision : Change {
  bool ok = true;
  ErrorCode code = ErrorCode::kInternal;  // when !ok
  std::string reply;                      // for the operator (one or a few lines)
  bool changed = true;                    // false: the command had nothing to do (already paused, ...)
};

// Why the robot would not fail over right now.
// clang-format off
#define HAES_BLOCKER_LIST(X)                       \
  X(kNone, "none")                                 \
  X(kNotBad, "not_bad")                            \
  X(kThresholdNotReached, "threshold_not_reached") \
  X(kPaused, "paused")                             \
  X(kHeldDown, "held_down")                        \
  X(kAutomaticOff, "automatic_off")                \
  X(kNoHealthyTarget, "no_healthy_target")         \
  X(kNoActive, "no_active")                        \
  X(kUnconfirmed, "unconfirmed")                   \
  X(kNotLeader, "not_leader")                      \
  X(kCcrPromotion, "ccr_promotion")
// clang-format on

// With several agents (etcd store): whether enough live agents each saw the
// active cluster bad (cluster/rules.hpp confirm()). Absent: one agent's own
// streak decides (the local store).
struct PeerConfirmation {
  bool satisfied = false;
  std::string text;
};
HAES_ENUM(Blocker, uint8_t, "reason", HAES_BLOCKER_LIST)

struct StreakInfoView {
  std::string cluster;
  int bad_rounds = 0;
  std::string kind;  // "red", "unreachable", "red or unreachable"; empty when 0
};

struct ControllerView {
  std::vector<StreakInfoView> streaks;
  Blocker blocker = Blocker::kNone;
  std::string text;  // e.g. "blocked until 2026-11-22T13:05:00.000Z (hold-down after the last transition)"
};

class FailoverController {
 public:
  explicit FailoverController(ControllerConfig config);

  // At start-up, from what the store holds (nullopt: never initialised).
  // First start: the preferred cluster active at epoch 1. A restart: the
  // stored state as it is, journaled. Errors (the agent refuses to start):
  // the stored state names a cluster the config does not have.
  Result<Decision> on_start(const std::optional<State>& stored, SysTime now) const;
  // One health round: streaks, expiry of a timed pause, automatic failover.
  // With `confirm`, the failover waits for the peers' confirmation.
  Decision on_round(const State& current, const HealthRound& round, SysTime now,
                    const PeerConfirmation* confirm = nullptr);
  // The two halves of on_round, for several agents: observe() counts this
  // agent's streaks (published to the others); evaluate() applies the rules
  // with the peers' confirmation, also between rounds when it changes.
  void observe(const HealthRound& round);
  Decision evaluate(const State& current, const HealthRound& round, SysTime now,
                    const PeerConfirmation* confirm = nullptr);
  // An operator command. Unknown target clusters are refused with kUsage.
  Decision on_command(const State& current, const Command& cmd, const HealthRound* latest, SysTime now);
  // The sync restored `point`, planned in `epoch`: recorded only if the roles
  // have not moved since (kRolesChanged otherwise).
  Result<Decision> on_sync_point(const State& current, const SyncPoint& point, uint64_t epoch) const;
  // A planned switchover blocks (or, with an empty cluster, stopped blocking)
  // writes: the marker that lets a restarted agent undo an interrupted one.
  Decision on_write_block(const State& current, const WriteBlock& block) const;

  ControllerView view(const State& current, const HealthRound* latest, SysTime now,
                      const PeerConfirmation* confirm = nullptr) const;
  // The streak of a cluster as this agent saw it (for its published record).
  StreakInfoView streak(std::string_view cluster) const;
  int bad_rounds(std::string_view cluster) const;
  const ControllerConfig& config() const { return config_; }
  // "dc1, dc2" for messages.
  std::string cluster_list() const;

 private:
  struct Memory {
    int bad = 0;
    bool red = false;          // the streak saw "reports red"
    bool unreachable = false;  // the streak saw "unreachable from here"
    bool notice = false;       // "would fail over but may not" already journaled this streak
  };

  std::string streak_text(const std::string& cluster, const HealthRound* round) const;
  // The best cluster to fail over to, or "" (green before yellow, then config order).
  std::string pick_target(const State& s, const HealthRound& round) const;
  Blocker blocker(const State& s, const HealthRound* round, SysTime now, std::string* text,
                  const PeerConfirmation* confirm) const;
  Decision switch_to(const State& s, const Command& cmd, const HealthRound* latest, SysTime now,
                     const std::string& target, bool planned);
  Decision sync_hold(const State& s, const Command& cmd, SysTime now) const;
  Decision refuse(const Command& cmd, const State& s, SysTime now, ErrorCode code, std::string why) const;

  ControllerConfig config_;
  std::map<std::string, Memory, std::less<>> memory_;
};

}  // namespace haes
