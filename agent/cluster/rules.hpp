#pragma once
// The rules that let several agents share one state without ever giving
// positive verdicts for two different clusters at the same instant, and
// without one agent's broken network moving the pair (docs/failover.md,
// "Several agents"). Pure: times are parameters (steady clock of this
// agent; only intervals are compared, never clocks of two machines).
//
// 1. View window. An agent may answer positive for the active cluster only
//    inside [valid_from, valid_until):
//      valid_until = confirmed_at + stale_after - margin
//        confirmed_at: when the last successful read of the shared state
//        STARTED (or the last unanimous failsafe round started);
//      valid_from  = learned_at + stale_after + margin
//        learned_at: when this agent learned the current epoch (the end of
//        the read that returned it, or the answer to its own write).
//    Why: a role change committed at T is learned by every agent at or after
//    T, so the new active cluster turns positive nowhere before
//    T + stale_after; every agent still holding the old epoch confirmed it
//    by a read that started before T, so it stops before T + stale_after.
//    The margin absorbs timer jitter and clock-rate drift.
// 2. Failsafe (Patroni's failsafe_mode): an agent whose reads fail keeps its
//    window open only if EVERY other member answers that it cannot reach
//    etcd either and holds the same epoch and active cluster: then nobody
//    can be changing the roles (a change needs etcd, and whoever made one
//    would hold the new epoch). One member that reaches etcd, disagrees or
//    does not answer closes the window (fail closed).
// 3. Confirmed failures: the leader fails over only when `confirmations`
//    live agents (all of them when fewer are alive, at least one) each saw
//    the active cluster bad for fail_threshold rounds.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/health.hpp"
#include "common/time.hpp"

namespace haes::cluster {

using Steady = std::chrono::steady_clock::time_point;

struct WindowConfig {
  Duration stale_after = std::chrono::milliseconds(1500);
  Duration margin = std::chrono::milliseconds(100);
};

struct ViewClock {
  std::optional<Steady> confirmed_at;  // none: never read the state
  bool by_failsafe = false;            // the last confirmation came from the peers
  std::optional<Steady> learned_at;    // when the current epoch was learned
};

struct Window {
  Steady from{};
  Steady until{};
  bool open_at(Steady now) const { return now >= from && now < until; }
};

Window window_for(const ViewClock& clock, const WindowConfig& config);

// Why the window is closed at `now` ("" when open), for verdict reasons and
// status: "no etcd answer for 1.9s (failsafe not confirmed: a2 reaches etcd)".
std::string window_text(const Window& w, const ViewClock& clock, Steady now);

// One member's answer to GET /peer.
struct PeerAnswer {
  std::string name;         // the member asked
  std::string answered_as;  // the name in its answer: another one means its URL reaches another agent
  bool answered = false;
  std::string error;  // when !answered
  bool store_reachable = false;
  uint64_t epoch = 0;
  std::string active;
};

struct FailsafeResult {
  bool confirmed = false;
  std::string text;  // why not, or "all 2 peers: no etcd, epoch 5, active dc1"
};

// `members`: every other member of the pair (not this agent).
FailsafeResult failsafe(const std::vector<std::string>& members, const std::vector<PeerAnswer>& answers, uint64_t epoch,
                        const std::string& active);

// How one live agent sees the active cluster.
struct AgentSeen {
  std::string agent;
  int bad_rounds = 0;
  bool red = false;
  bool unreachable = false;
};

struct Confirmation {
  int bad = 0;  // agents with bad_rounds >= fail_threshold
  int live = 0;
  int needed = 0;  // min(confirmations, live), at least 1
  bool satisfied = false;
  std::string text;  // "2 of 3 live agents see dc1 bad (a1: red, a3: unreachable); 2 needed"
};

Confirmation confirm(const std::string& active, const std::vector<AgentSeen>& live, int fail_threshold,
                     int confirmations);

}  // namespace haes::cluster
