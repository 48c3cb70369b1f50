#include "controller/controller.hpp"

#include <algorithm>

namespace haes {
namespace {

bool is_bad(Health h) { return h == Health::kRed || h == Health::kUnreachable; }

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
  std::string text = cluster + " " + what + " for " + std::to_string(m.bad) + " round" + (m.bad == 1 ? "" : "s");
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

Blocker FailoverController::blocker(const State& s, const HealthRound* round, SysTime now, std::string* text,
                                    const PeerConfirmation* confirm) const {
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
    return say(Blocker::kPaused, "paused by " + s.pause.by +
                                     (to_unix_ms(s.pause.until) ? " until " + format_time(s.pause.until)
                                                                : std::string(" until resumed")) +
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
  if (confirm) {
    // Several agents: the count of agents that saw it bad decides, not
    // this agent's own streak alone.
    if (!confirm->satisfied) {
      return say(bad > 0 ? Blocker::kUnconfirmed : Blocker::kNotBad,
                 (bad > 0 ? "not confirmed: " : "armed: ") + confirm->text);
    }
    if (round != nullptr && pick_target(s, *round).empty()) {
      return say(Blocker::kNoHealthyTarget, "no healthy cluster to fail over to");
    }
    return say(Blocker::kNone, "failing over: " + confirm->text);
  }
  if (round != nullptr && pick_target(s, *round).empty()) {
    if (bad >= config_.fail_threshold) {
      return say(Blocker::kNoHealthyTarget, "no healthy cluster to fail over to");
    }
  }
  if (bad == 0) {
    return say(Blocker::kNotBad, "armed: " + s.active + " is healthy");
  }
  if (bad < config_.fail_threshold) {
    return say(Blocker::kThresholdNotReached, "armed: " + s.active + " bad for " + std::to_string(bad) + " of " +
                                                  std::to_string(config_.fail_threshold) + " rounds");
  }
  return say(Blocker::kNone, "failing over");
}

Decision FailoverController::on_round(const State& current, const HealthRound& round, SysTime now,
                                      const PeerConfirmation* confirm) {
  observe(round);
  return evaluate(current, round, now, confirm);
}

void FailoverController::observe(const HealthRound& round) {
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
}

Decision FailoverController::evaluate(const State& current, const HealthRound& round, SysTime now,
                                      const PeerConfirmation* confirm) {
  Decision d;
  State s = current;
  bool changed = false;
  if (s.pause.paused && to_unix_ms(s.pause.until) != 0 && now >= s.pause.until) {
    d.events.push_back(make_event(now, s.epoch, EventKind::kResume, "controller",
                                  "pause by " + s.pause.by + " expired" +
                                      (s.pause.reason.empty() ? "" : " (was: " + s.pause.reason + ")") +
                                      "; automatic failover is armed again"));
    s.pause = PauseInfo{};
    changed = true;
  }

  auto it = memory_.find(s.active);
  const bool bad_enough =
      confirm ? confirm->satisfied : it != memory_.end() && it->second.bad >= config_.fail_threshold;
  if (!s.active.empty() && it != memory_.end() && bad_enough) {
    Memory& m = it->second;
    std::string why;
    Blocker b = blocker(s, &round, now, &why, confirm);
    if (b == Blocker::kNone) {
      std::string target = pick_target(s, round);
      std::string reason = streak_text(s.active, &round) + (confirm ? "; confirmed: " + confirm->text : "");
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
      d.transition = Transition::kFailover;
      d.events.push_back(make_event(now, s.epoch, EventKind::kFailover, "controller",
                                    "failover " + old + " -> " + target + ": " + reason + "; " + target + " is " +
                                        health_text(&round, target) + "; " + old +
                                        " is fenced until an operator brings it back"));
      d.reply = "failed over to " + target;
    } else if (!m.notice) {
      m.notice = true;
      EventKind kind = b == Blocker::kNoHealthyTarget ? EventKind::kFailoverImpossible : EventKind::kFailoverBlocked;
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

Decision FailoverController::refuse(const Command& cmd, const State& s, SysTime now, ErrorCode code,
                                    std::string why) const {
  Decision d;
  d.ok = false;
  d.changed = false;
  d.code = code;
  d.reply = std::string(to_string(cmd.kind)) + " refused: " + why;
  if (code == ErrorCode::kUsage) {
    d.reply = why;  // a bad command line: not a refusal worth journaling
  } else if (!cmd.dry_run) {
    d.events.push_back(
        make_event(now, s.epoch, EventKind::kRefused, cmd.actor, command_line(cmd) + " refused: " + why));
  }
  return d;
}

Decision FailoverController::switch_to(const State& s, const Command& cmd, const HealthRound* latest, SysTime now,
                                       const std::string& target, bool planned) {
  if (target.empty()) {
    return refuse(cmd, s, now, ErrorCode::kUsage,
                  std::string(to_string(cmd.kind)) + " needs --to CLUSTER (clusters: " + cluster_list() + ")");
  }
  if (std::find(config_.clusters.begin(), config_.clusters.end(), target) == config_.clusters.end()) {
    return refuse(cmd, s, now, ErrorCode::kUsage, "unknown cluster '" + target + "'; clusters: " + cluster_list());
  }
  if (target == s.active) {
    return refuse(cmd, s, now, ErrorCode::kAlreadyActive,
                  target + " is already active (epoch " + std::to_string(s.epoch) + ")");
  }
  const bool health_gated = !(cmd.kind == CommandKind::kFailover && cmd.force);
  if (health_gated) {
    if (latest == nullptr) {
      return refuse(cmd, s, now, ErrorCode::kNoHealthYet,
                    "no health round has completed yet; wait a second, or use failover --to " + target + " --force");
    }
    if (!serving_in(latest, target)) {
      return refuse(cmd, s, now, ErrorCode::kUnhealthyTarget,
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
  const Transition transition = cmd.kind == CommandKind::kFailback     ? Transition::kFailback
                                : cmd.kind == CommandKind::kSwitchover ? Transition::kSwitchover
                                : cmd.force                            ? Transition::kForcedFailover
                                                                       : Transition::kFailover;
  const std::string tname(to_string(transition));
  n.reason = cmd.reason.empty() ? tname + " by " + cmd.actor : cmd.reason;
  std::string message = tname + " " + (old.empty() ? std::string("(none)") : old) + " -> " + target + " by " +
                        cmd.actor + (cmd.reason.empty() ? "" : " (" + cmd.reason + ")");
  if (!health_gated) {
    message += "; forced: " + target + " was " + health_text(latest, target);
  }
  if (!planned && !old.empty()) {
    message += "; " + old + " is fenced until an operator brings it back";
  }
  Decision d;
  d.reply = (cmd.dry_run ? "dry run: would make " : "") + target + " active (epoch " + std::to_string(n.epoch) + ")" +
            (cmd.dry_run ? "" : "; " + (old.empty() ? "none" : old) + " is now " + (planned ? "passive" : "fenced"));
  if (cmd.dry_run) {
    d.reply += "; " + (old.empty() ? std::string("none") : old) + " would become " + (planned ? "passive" : "fenced");
    return d;
  }
  d.next = n;
  d.transition = transition;
  d.events.push_back(make_event(now, n.epoch, event_kind_of(transition), cmd.actor, message));
  return d;
}

Decision FailoverController::on_command(const State& current, const Command& cmd, const HealthRound* latest,
                                        SysTime now) {
  const State& s = current;
  switch (cmd.kind) {
    case CommandKind::kFailback: return switch_to(s, cmd, latest, now, config_.preferred, /*planned=*/true);
    case CommandKind::kSwitchover: return switch_to(s, cmd, latest, now, cmd.target, /*planned=*/true);
    case CommandKind::kFailover: return switch_to(s, cmd, latest, now, cmd.target, /*planned=*/false);
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
        d.events.push_back(
            make_event(now, s.epoch, EventKind::kPause, cmd.actor,
                       "automatic failover paused " + until + (cmd.reason.empty() ? "" : " (" + cmd.reason + ")")));
      }
      return d;
    }
    case CommandKind::kResume: {
      Decision d;
      if (!s.paused_at(now)) {
        d.reply = "automatic failover was not paused";
        d.changed = false;
        return d;
      }
      d.reply = cmd.dry_run ? "dry run: would resume automatic failover" : "automatic failover resumed";
      if (!cmd.dry_run) {
        State n = s;
        n.pause = PauseInfo{};
        d.next = n;
        d.events.push_back(make_event(now, s.epoch, EventKind::kResume, cmd.actor,
                                      "automatic failover resumed (was paused by " + s.pause.by + ")"));
      }
      return d;
    }
    case CommandKind::kAck: {
      Decision d;
      if (!s.held_down_at(now)) {
        d.reply = "nothing to acknowledge: automatic failover is not held down";
        d.changed = false;
        return d;
      }
      d.reply = cmd.dry_run ? "dry run: would end the hold-down now (was until " + format_time(s.hold_down_until) + ")"
                            : "hold-down ended; automatic failover is armed";
      if (!cmd.dry_run) {
        State n = s;
        n.hold_down_until = SysTime{};
        d.next = n;
        d.events.push_back(make_event(now, s.epoch, EventKind::kAck, cmd.actor,
                                      "hold-down ended early (was until " + format_time(s.hold_down_until) + ")"));
        for (auto& [name, m] : memory_) {
          m.notice = false;  // the robot may speak again about a continuing streak
        }
      }
      return d;
    }
    case CommandKind::kSyncHold:
    case CommandKind::kSyncRelease: return sync_hold(s, cmd, now);
  }
  return refuse(cmd, s, now, ErrorCode::kUsage, "unknown command");
}

Decision FailoverController::sync_hold(const State& s, const Command& cmd, SysTime now) const {
  const bool hold = cmd.kind == CommandKind::kSyncHold;
  const SyncHold& h = s.sync_hold;
  Decision d;
  if (hold && h.held) {
    d.changed = false;
    d.reply = "syncs are already held by " + h.by + " since " + format_time(h.since) + "; nothing changed";
    return d;
  }
  if (!hold && !h.held) {
    d.changed = false;
    d.reply = "syncs are not held; nothing changed";
    return d;
  }
  State n = s;
  if (hold) {
    n.sync_hold = SyncHold{true, cmd.actor, cmd.reason, now};
    d.reply = "syncs held: nothing is snapshotted or restored until 'haesctl sync release'";
  } else {
    n.sync_hold = SyncHold{};
    d.reply = "syncs released (held by " + h.by + " since " + format_time(h.since) +
              "); the next sync runs on schedule, or now with haesctl sync now";
  }
  if (cmd.dry_run) {
    d.reply = "dry run: " + d.reply;
    return d;
  }
  d.next = n;
  d.events.push_back(make_event(now, s.epoch, hold ? EventKind::kSyncHold : EventKind::kSyncRelease, cmd.actor,
                                d.reply + (hold && !cmd.reason.empty() ? " — " + cmd.reason : "")));
  return d;
}

Result<Decision> FailoverController::on_start(const std::optional<State>& stored, SysTime now) const {
  Decision d;
  if (!stored) {
    State s;
    s.epoch = 1;
    s.active = config_.preferred;
    s.reason = "first start: the preferred cluster is active";
    s.changed_by = "config";
    s.changed_at = now;
    d.next = s;
    d.reply = "first start: " + s.active + " is active (preferred), epoch 1";
    d.events.push_back(make_event(now, s.epoch, EventKind::kStart, "config", d.reply));
    return d;
  }
  const State& s = *stored;
  auto known = [&](const std::string& c) {
    return std::find(config_.clusters.begin(), config_.clusters.end(), c) != config_.clusters.end();
  };
  if (!s.active.empty() && !known(s.active)) {
    return Error{ErrorCode::kCorrupt, "the stored state says cluster \"" + s.active + "\" is active (epoch " +
                                          std::to_string(s.epoch) +
                                          "), but the config has no such cluster; fix clusters[] or move the "
                                          "stored state aside"};
  }
  for (const auto& f : s.fenced) {
    if (!known(f)) {
      return Error{ErrorCode::kCorrupt, "the stored state fences cluster \"" + f +
                                            "\", which is not in the config; fix clusters[] or move the stored "
                                            "state aside"};
    }
  }
  d.changed = false;
  d.reply = "resuming epoch " + std::to_string(s.epoch) + ", active " + (s.active.empty() ? "none" : s.active) +
            (s.fenced.empty() ? "" : ", fenced " + s.fenced.front());
  d.events.push_back(make_event(now, s.epoch, EventKind::kStart, "config", "agent restarted: " + d.reply));
  return d;
}

Result<Decision> FailoverController::on_sync_point(const State& current, const SyncPoint& point, uint64_t epoch) const {
  if (current.epoch != epoch) {
    return Error{ErrorCode::kRolesChanged, "roles changed (epoch " + std::to_string(epoch) + " -> " +
                                               std::to_string(current.epoch) + ") before the sync point was recorded"};
  }
  Decision d;
  State n = current;
  n.last_sync = point;
  d.next = n;
  return d;
}

Decision FailoverController::on_write_block(const State& current, const WriteBlock& block) const {
  Decision d;
  State n = current;
  n.write_block = block;
  d.next = n;
  return d;
}

std::string FailoverController::cluster_list() const {
  std::string known;
  for (const auto& c : config_.clusters) {
    known += (known.empty() ? "" : ", ") + c;
  }
  return known;
}

StreakInfoView FailoverController::streak(std::string_view cluster) const {
  auto it = memory_.find(cluster);
  if (it == memory_.end()) {
    return StreakInfoView{std::string(cluster), 0, ""};
  }
  const Memory& m = it->second;
  return StreakInfoView{std::string(cluster), m.bad,
                        m.bad == 0               ? ""
                        : m.red && m.unreachable ? "red or unreachable"
                        : m.red                  ? "red"
                                                 : "unreachable"};
}

ControllerView FailoverController::view(const State& current, const HealthRound* latest, SysTime now,
                                        const PeerConfirmation* confirm) const {
  ControllerView v;
  for (const auto& c : config_.clusters) {
    const Memory& m = memory_.at(c);
    std::string kind = m.bad == 0 ? "" : m.red && m.unreachable ? "red or unreachable" : m.red ? "red" : "unreachable";
    v.streaks.push_back({c, m.bad, kind});
  }
  v.blocker = blocker(current, latest, now, &v.text, confirm);
  return v;
}

}  // namespace haes
