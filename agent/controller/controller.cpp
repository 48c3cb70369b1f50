#include "controller/controller.hpp"

#include <algorithm>

namespace haes {
namespace {

bool is_bad(Health h) { return h == Health::kRed || h == Health::kUnreachable; }

Event make_event(SysTime now, uint64_t epoch, std::string kind, std::string actor, std::string message) {
  return Event{0, now, epoch, std::move(kind), std::move(actor), std::move(message)};
}

std::string health_text(const HealthRound* round, const std::string& cluster) {
  const ClusterObservation* obs = round ? round->find(cluster) : nullptr;
  if (obs == nullptr) {
    return "not probed yet";
  }
  std::string t(to_string(obs->health));
  if (!obs->reason.empty()) {
    t += " (" + obs->reason + ")";
  }
  return t;
}

bool serving_in(const HealthRound* round, const std::string& cluster) {
  const ClusterObservation* obs = round ? round->find(cluster) : nullptr;
  return obs != nullptr && is_serving(obs->health);
}

std::string command_line(const Command& c) {
  std::string line(to_string(c.kind));
  if (!c.target.empty()) {
    line += " --to " + c.target;
  }
  if (c.force) {
    line += " --force";
  }
  return line;
}

}  // namespace

std::string_view to_string(CommandKind k) {
  switch (k) {
    case CommandKind::kFailback: return "failback";
    case CommandKind::kSwitchover: return "switchover";
    case CommandKind::kFailover: return "failover";
    case CommandKind::kPause: return "pause";
    case CommandKind::kResume: return "resume";
    case CommandKind::kAck: return "ack";
  }
  return "?";
}

std::string_view to_string(Blocker b) {
  switch (b) {
    case Blocker::kNone: return "none";
    case Blocker::kNotBad: return "not_bad";
    case Blocker::kThresholdNotReached: return "threshold_not_reached";
    case Blocker::kPaused: return "paused";
    case Blocker::kHeldDown: return "held_down";
    case Blocker::kAutomaticOff: return "automatic_off";
    case Blocker::kNoHealthyTarget: return "no_healthy_target";
    case Blocker::kNoActive: return "no_active";
  }
  return "?";
}

FailoverController::FailoverController(ControllerConfig config) : config_(std::move(config)) {
  for (const auto& c : config_.clusters) {
    memory_[c];
  }
}

int FailoverController::bad_rounds(std::string_view cluster) const {
  auto it = memory_.find(cluster);
  return it == memory_.end() ? 0 : it->second.bad;
}

std::string FailoverController::streak_text(const std::string& cluster, const HealthRound* round) const {
  const Memory& m = memory_.at(cluster);
  std::string what = m.red && m.unreachable ? "is red or unreachable"
                     : m.red                ? "reports red"
                                            : "is unreachable from here";
  std::string text = cluster + " " + what + " for " + std::to_string(m.bad) + " round" +
                     (m.bad == 1 ? "" : "s");
  const ClusterObservation* obs = round ? round->find(cluster) : nullptr;
  if (obs != nullptr && !obs->reason.empty()) {
    text += " (" + obs->reason + ")";
  }
  return text;
}

std::string FailoverController::pick_target(const State& s, const HealthRound& round) const {
  std::string best;
  Health best_health = Health::kUnknown;
  for (const auto& c : config_.clusters) {
    if (c == s.active || s.is_fenced(c)) {
      continue;  // never back to a fenced cluster: that is the operator's call
    }
    const ClusterObservation* obs = round.find(c);
    if (obs == nullptr || !is_serving(obs->health)) {
      continue;
    }
    if (best.empty() || (obs->health == Health::kGreen && best_health != Health::kGreen)) {
      best = c;
      best_health = obs->health;
    }
  }
  return best;
}

Blocker FailoverController::blocker(const State& s, const HealthRound* round, SysTime now,
                                    std::string* text) const {
  auto say = [&](Blocker b, std::string t) {
    if (text) {
      *text = std::move(t);
    }
    return b;
  };
  if (s.active.empty()) {
    return say(Blocker::kNoActive, "no cluster holds the active role");
  }
  if (s.paused_at(now)) {
    return say(Blocker::kPaused,
               "paused by " + s.pause.by +
                   (to_unix_ms(s.pause.until) ? " until " + format_time(s.pause.until) : std::string(" until resumed")) +
                   (s.pause.reason.empty() ? "" : " (" + s.pause.reason + ")"));
  }
  if (!config_.automatic) {
    return say(Blocker::kAutomaticOff, "off by configuration (failover.automatic: false)");
  }
  if (s.held_down_at(now)) {
    return say(Blocker::kHeldDown, "blocked until " + format_time(s.hold_down_until) +
                                       " (hold-down after the last transition; haesctl ack ends it)");
  }
  auto it = memory_.find(s.active);
  int bad = it == memory_.end() ? 0 : it->second.bad;
  if (round != nullptr && pick_target(s, *round).empty()) {
    if (bad >= config_.fail_threshold) {
      return say(Blocker::kNoHealthyTarget, "no healthy cluster to fail over to");
    }
  }
  if (bad == 0) {
    return say(Blocker::kNotBad, "armed: " + s.active + " is healthy");
  }
  if (bad < config_.fail_threshold) {
    return say(Blocker::kThresholdNotReached,
               "armed: " + s.active + " bad for " + std::to_string(bad) + " of " +
                   std::to_string(config_.fail_threshold) + " rounds");
  }
  return say(Blocker::kNone, "failing over");
}

Decision FailoverController::on_round(const State& current, const HealthRound& round, SysTime now) {
  for (const auto& obs : round.clusters) {
    Memory& m = memory_[obs.name];
    if (is_bad(obs.health)) {
      m.bad++;
      m.red = m.red || obs.health == Health::kRed;
      m.unreachable = m.unreachable || obs.health == Health::kUnreachable;
    } else if (is_serving(obs.health)) {
      m = Memory{};
    }
  }

  Decision d;
  State s = current;
  bool changed = false;
  if (s.pause.paused && to_unix_ms(s.pause.until) != 0 && now >= s.pause.until) {
    d.events.push_back(make_event(now, s.epoch, "resume", "controller",
                                  "pause by " + s.pause.by + " expired" +
                                      (s.pause.reason.empty() ? "" : " (was: " + s.pause.reason + ")") +
                                      "; automatic failover is armed again"));
    s.pause = PauseInfo{};
    changed = true;
  }

  auto it = memory_.find(s.active);
  if (!s.active.empty() && it != memory_.end() && it->second.bad >= config_.fail_threshold) {
    Memory& m = it->second;
    std::string why;
    Blocker b = blocker(s, &round, now, &why);
    if (b == Blocker::kNone) {
      std::string target = pick_target(s, round);
      std::string reason = streak_text(s.active, &round);
      std::string old = s.active;
      s.epoch += 1;
      s.active = target;
      if (!s.is_fenced(old)) {
        s.fenced.push_back(old);
      }
      s.reason = reason;
      s.changed_at = now;
      s.changed_by = "controller";
      s.hold_down_until = now + config_.hold_down;
      changed = true;
      d.roles_changed = true;
      d.transition = "failover";
      d.events.push_back(make_event(now, s.epoch, "failover", "controller",
                                    "failover " + old + " -> " + target + ": " + reason + "; " + target +
                                        " is " + health_text(&round, target) + "; " + old +
                                        " is fenced until an operator brings it back"));
      d.reply = "failed over to " + target;
    } else if (!m.notice) {
      m.notice = true;
      std::string kind = b == Blocker::kNoHealthyTarget ? "failover_impossible" : "failover_blocked";
      d.events.push_back(make_event(now, s.epoch, kind, "controller",
                                    streak_text(s.active, &round) + ": would fail over, but automatic failover is " +
                                        why + "; traffic is refused until " + s.active +
                                        " recovers or an operator acts (haesctl failover --to CLUSTER [--force])"));
    }
  }
  if (changed) {
    d.next = s;
  }
  return d;
}

Decision FailoverController::refuse(const Command& cmd, const State& s, SysTime now, std::string code,
                                    std::string why) {
  Decision d;
  d.ok = false;
  d.code = std::move(code);
  d.reply = std::string(to_string(cmd.kind)) + " refused: " + why;
  if (!cmd.dry_run) {
    d.events.push_back(make_event(now, s.epoch, "refused", cmd.actor, command_line(cmd) + " refused: " + why));
  }
  return d;
}

Decision FailoverController::switch_to(const State& s, const Command& cmd, const HealthRound* latest,
                                       SysTime now, const std::string& target, bool planned) {
  if (std::find(config_.clusters.begin(), config_.clusters.end(), target) == config_.clusters.end()) {
    std::string known;
    for (const auto& c : config_.clusters) {
      known += (known.empty() ? "" : ", ") + c;
    }
    return refuse(cmd, s, now, "unknown_cluster", "no cluster named " + target + " (clusters: " + known + ")");
  }
  if (target == s.active) {
    return refuse(cmd, s, now, "already_active", target + " is already active (epoch " + std::to_string(s.epoch) + ")");
  }
  const bool health_gated = !(cmd.kind == CommandKind::kFailover && cmd.force);
  if (health_gated) {
    if (latest == nullptr) {
      return refuse(cmd, s, now, "no_health_yet",
                    "no health round has completed yet; wait a second, or use failover --to " + target + " --force");
    }
    if (!serving_in(latest, target)) {
      return refuse(cmd, s, now, "unhealthy_target",
                    target + " is " + health_text(latest, target) +
                        (cmd.kind == CommandKind::kFailover ? "; add --force to fail over anyway" : ""));
    }
  }
  State n = s;
  std::string old = s.active;
  n.epoch += 1;
  n.active = target;
  n.fenced.erase(std::remove(n.fenced.begin(), n.fenced.end(), target), n.fenced.end());
  if (!planned && !old.empty() && !n.is_fenced(old)) {
    n.fenced.push_back(old);
  }
  n.changed_at = now;
  n.changed_by = cmd.actor;
  n.hold_down_until = now + config_.hold_down;
  std::string transition = cmd.kind == CommandKind::kFailback     ? "failback"
                           : cmd.kind == CommandKind::kSwitchover ? "switchover"
                           : cmd.force                            ? "forced_failover"
                                                                  : "failover";
  n.reason = cmd.reason.empty() ? transition + " by " + cmd.actor : cmd.reason;
  std::string message = transition + " " + (old.empty() ? std::string("(none)") : old) + " -> " + target +
                        " by " + cmd.actor + (cmd.reason.empty() ? "" : " (" + cmd.reason + ")");
  if (!health_gated) {
    message += "; forced: " + target + " was " + health_text(latest, target);
  }
  if (!planned && !old.empty()) {
    message += "; " + old + " is fenced until an operator brings it back";
  }
  Decision d;
  d.reply = (cmd.dry_run ? "dry run: would make " : "") + target + " active (epoch " +
            std::to_string(n.epoch) + ")" + (cmd.dry_run ? "" : "; " + (old.empty() ? "none" : old) + " is now " +
                                                                   (planned ? "passive" : "fenced"));
  if (cmd.dry_run) {
    d.reply += "; " + (old.empty() ? std::string("none") : old) + " would become " + (planned ? "passive" : "fenced");
    return d;
  }
  d.next = n;
  d.roles_changed = true;
  d.transition = transition;
  d.events.push_back(make_event(now, n.epoch, transition, cmd.actor, message));
  return d;
}

Decision FailoverController::on_command(const State& current, const Command& cmd,
                                        const HealthRound* latest, SysTime now) {
  const State& s = current;
  switch (cmd.kind) {
    case CommandKind::kFailback:
      return switch_to(s, cmd, latest, now, config_.preferred, /*planned=*/true);
    case CommandKind::kSwitchover:
      return switch_to(s, cmd, latest, now, cmd.target, /*planned=*/true);
    case CommandKind::kFailover:
      return switch_to(s, cmd, latest, now, cmd.target, /*planned=*/false);
    case CommandKind::kPause: {
      State n = s;
      n.pause.paused = true;
      n.pause.by = cmd.actor;
      n.pause.reason = cmd.reason;
      n.pause.since = now;
      n.pause.until = cmd.for_duration ? now + *cmd.for_duration : SysTime{};
      std::string until = cmd.for_duration ? "until " + format_time(n.pause.until) : "until resumed";
      Decision d;
      d.reply = (cmd.dry_run ? "dry run: would pause" : "paused") + std::string(" automatic failover ") + until;
      if (!cmd.dry_run) {
        d.next = n;
        d.events.push_back(make_event(now, s.epoch, "pause", cmd.actor,
                                      "automatic failover paused " + until +
                                          (cmd.reason.empty() ? "" : " (" + cmd.reason + ")")));
      }
      return d;
    }
    case CommandKind::kResume: {
      Decision d;
      if (!s.paused_at(now)) {
        d.reply = "automatic failover was not paused";
        return d;
      }
      d.reply = cmd.dry_run ? "dry run: would resume automatic failover" : "automatic failover resumed";
      if (!cmd.dry_run) {
        State n = s;
        n.pause = PauseInfo{};
        d.next = n;
        d.events.push_back(make_event(now, s.epoch, "resume", cmd.actor,
                                      "automatic failover resumed (was paused by " + s.pause.by + ")"));
      }
      return d;
    }
    case CommandKind::kAck: {
      Decision d;
      if (!s.held_down_at(now)) {
        d.reply = "nothing to acknowledge: automatic failover is not held down";
        return d;
      }
      d.reply = cmd.dry_run ? "dry run: would end the hold-down now (was until " + format_time(s.hold_down_until) + ")"
                            : "hold-down ended; automatic failover is armed";
      if (!cmd.dry_run) {
        State n = s;
        n.hold_down_until = SysTime{};
        d.next = n;
        d.events.push_back(make_event(now, s.epoch, "ack", cmd.actor,
                                      "hold-down ended early (was until " + format_time(s.hold_down_until) + ")"));
        for (auto& [name, m] : memory_) {
          m.notice = false;  // the robot may speak again about a continuing streak
        }
      }
      return d;
    }
  }
  return refuse(cmd, s, now, "usage", "unknown command");
}

ControllerView FailoverController::view(const State& current, const HealthRound* latest, SysTime now) const {
  ControllerView v;
  for (const auto& c : config_.clusters) {
    const Memory& m = memory_.at(c);
    std::string kind = m.bad == 0 ? "" : m.red && m.unreachable ? "red or unreachable" : m.red ? "red" : "unreachable";
    v.streaks.push_back({c, m.bad, kind});
  }
  v.blocker = blocker(current, latest, now, &v.text);
  return v;
}

}  // namespace haes
