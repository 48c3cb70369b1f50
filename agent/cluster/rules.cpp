#include "cluster/rules.hpp"

#include <algorithm>
#include <cstdio>

namespace haes::cluster {
namespace {

std::string seconds_text(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", std::chrono::duration<double>(d).count());
  return buf;
}

}  // namespace

Window window_for(const ViewClock& clock, const WindowConfig& config) {
  Window w;
  if (!clock.confirmed_at || !clock.learned_at) {
    w.from = Steady::max();
    w.until = Steady::min();
    return w;
  }
  w.until = *clock.confirmed_at + config.stale_after - config.margin;
  w.from = *clock.learned_at + config.stale_after + config.margin;
  return w;
}

std::string window_text(const Window& w, const ViewClock& clock, Steady now) {
  if (w.open_at(now)) {
    return "";
  }
  if (!clock.confirmed_at) {
    return "has not read the shared state yet";
  }
  if (now >= w.until) {
    return "no confirmed view of the shared state for " +
           seconds_text(std::chrono::duration_cast<Duration>(now - *clock.confirmed_at)) +
           " (etcd unreachable from here, and the failsafe did not confirm that it is down for every agent)";
  }
  return "learned the current epoch " + seconds_text(std::chrono::duration_cast<Duration>(now - *clock.learned_at)) +
         " ago: positive in " + seconds_text(std::chrono::duration_cast<Duration>(w.from - now)) +
         ", once every agent's view of the previous epoch has expired";
}

FailsafeResult failsafe(const std::vector<std::string>& members, const std::vector<PeerAnswer>& answers, uint64_t epoch,
                        const std::string& active) {
  FailsafeResult r;
  if (members.empty()) {
    r.text = "no other member to confirm that etcd is down for all";
    return r;
  }
  for (const auto& m : members) {
    auto it = std::find_if(answers.begin(), answers.end(), [&](const PeerAnswer& a) { return a.name == m; });
    if (it == answers.end() || !it->answered) {
      r.text =
          "member " + m + " did not answer" + (it == answers.end() || it->error.empty() ? "" : " (" + it->error + ")");
      return r;
    }
    if (it->answered_as != m) {
      // Its peer URL reaches another agent (0.0.0.0, a shared address):
      // that answer says nothing about m. Possibly this agent itself.
      r.text = "member " + m + "'s peer URL answered as " +
               (it->answered_as.empty() ? std::string("nobody") : it->answered_as) +
               " (its health.advertise_url must reach it)";
      return r;
    }
    if (it->store_reachable) {
      r.text = "member " + m + " reaches etcd";
      return r;
    }
    if (it->epoch != epoch || it->active != active) {
      r.text = "member " + m + " holds epoch " + std::to_string(it->epoch) + ", active " +
               (it->active.empty() ? "none" : it->active) + " (this agent: epoch " + std::to_string(epoch) + ")";
      return r;
    }
  }
  r.confirmed = true;
  r.text = "all " + std::to_string(members.size()) + " other member(s) report etcd unreachable, epoch " +
           std::to_string(epoch) + ", active " + (active.empty() ? "none" : active);
  return r;
}

Confirmation confirm(const std::string& active, const std::vector<AgentSeen>& live, int fail_threshold,
                     int confirmations) {
  Confirmation c;
  c.live = static_cast<int>(live.size());
  c.needed = std::max(1, std::min(confirmations, c.live));
  std::string who;
  for (const auto& a : live) {
    if (a.bad_rounds >= fail_threshold) {
      ++c.bad;
      std::string kind = a.red && a.unreachable ? "red or unreachable" : a.red ? "red" : "unreachable";
      who += (who.empty() ? "" : ", ") + a.agent + ": " + kind;
    }
  }
  c.satisfied = c.live > 0 && c.bad >= c.needed;
  c.text = std::to_string(c.bad) + " of " + std::to_string(c.live) + " live agent(s) see " + active + " bad" +
           (who.empty() ? "" : " (" + who + ")") + "; " + std::to_string(c.needed) + " needed";
  return c;
}

}  // namespace haes::cluster
