#pragma once
// FailoverController: observations and commands in, transitions out. No I/O
// and no clock: `now` is always a parameter, so every rule runs on simulated
// time in the tests (docs/failover.md states the rules for operators).
//
// Contract with the caller (the agent's control thread): a Decision's `next`
// is the whole new state. Persist it with StateStore::compare_and_swap(
// current.revision, *next); only after success journal `events` and publish
// new verdicts. On a CAS conflict, reload the state and ask again. A Decision
// without `next` changes nothing (it may still carry events to journal).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/health.hpp"
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

enum class CommandKind { kFailback, kSwitchover, kFailover, kPause, kResume, kAck };
std::string_view to_string(CommandKind k);

struct Command {
  CommandKind kind = CommandKind::kFailback;
  std::string target;                  // switchover/failover
  bool force = false;                  // failover: skip the health precondition
  bool dry_run = false;
  std::string reason;                  // operator's words, optional
  std::optional<Duration> for_duration;  // pause
  std::string actor;                   // "operator <user>@<host>"
};

struct Decision {
  bool ok = true;
  std::string code;            // when !ok: already_active, unknown_cluster, unhealthy_target, no_health_yet
  std::string reply;           // for the operator (one or a few lines)
  std::optional<State> next;   // the state to persist; absent: nothing to write
  std::vector<Event> events;   // to journal once `next` (if any) is persisted
  bool roles_changed = false;
  std::string transition;      // when roles_changed: failover, forced_failover, failback, switchover
};

// Why the robot would not fail over right now.
enum class Blocker { kNone, kNotBad, kThresholdNotReached, kPaused, kHeldDown, kAutomaticOff, kNoHealthyTarget, kNoActive };
std::string_view to_string(Blocker b);

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

  Decision on_round(const State& current, const HealthRound& round, SysTime now);
  Decision on_command(const State& current, const Command& cmd, const HealthRound* latest, SysTime now);
  ControllerView view(const State& current, const HealthRound* latest, SysTime now) const;
  int bad_rounds(std::string_view cluster) const;
  const ControllerConfig& config() const { return config_; }

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
  Blocker blocker(const State& s, const HealthRound* round, SysTime now, std::string* text) const;
  Decision switch_to(const State& s, const Command& cmd, const HealthRound* latest, SysTime now,
                     const std::string& target, bool planned);
  Decision refuse(const Command& cmd, const State& s, SysTime now, std::string code, std::string why);

  ControllerConfig config_;
  std::map<std::string, Memory, std::less<>> memory_;
};

}  // namespace haes
