#include "ccr/report.hpp"

namespace haes::ccr {

namespace {

std::string listed(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ", ") + s;
  }
  return out.empty() ? "none" : out;
}

int64_t age_seconds(SysTime at, SysTime now) {
  return to_unix_ms(at) == 0 ? -1 : std::chrono::duration_cast<std::chrono::seconds>(now - at).count();
}

}  // namespace

std::string status_text(const CcrStatus& s, SysTime now) {
  std::string t = "sync: ccr, every " + format_duration(s.poll_interval) + ", patterns " + listed(s.patterns) +
                  (s.manage ? ", managed" : ", checked only") + "\n";
  if (to_unix_ms(s.checked_at) == 0) {
    t += "followers: not read yet\n";
  } else {
    t += "followers: " + s.passive + " follows " + s.active + ", read " +
         std::to_string(age_seconds(s.checked_at, now)) + "s ago\n";
  }
  for (const auto& e : s.errors) {
    t += "read_error: " + e + "\n";
  }
  for (const auto& l : s.indices) {
    t += "follower " + l.index + ": " + std::string(to_string(l.status));
    if (l.operations_behind >= 0) {
      t += ", operations_behind " + std::to_string(l.operations_behind);
    }
    if (l.since_last_read_ms >= 0) {
      t += ", last read " + std::to_string(l.since_last_read_ms) + "ms ago";
    }
    t += ", lag_seconds " + (l.lag_seconds >= 0 ? std::to_string(l.lag_seconds) : std::string("unknown"));
    if (l.read_exceptions > 0) {
      t += ", read_exceptions " + std::to_string(l.read_exceptions) + " (" + l.first_exception + ")";
    }
    t += "\n";
  }
  t += "not_followed: " + listed(s.not_followed) +
       (s.not_followed.empty() ? "" : " (on " + s.active + ", no follower on " + s.passive + ")") + "\n";
  if (s.lag_seconds) {
    t += "passive_data_age_seconds: " + std::to_string(*s.lag_seconds) + " (CCR lag: the RPO if " + s.active +
         " failed now)\n";
  } else {
    t += "passive_data_age_seconds: unknown (" + (s.lag_why.empty() ? std::string("not read yet") : s.lag_why) + ")\n";
  }
  for (const auto& x : s.setup) {
    t += "setup: " + x + "\n";
  }
  if (!s.last_promotion.empty()) {
    t += "last_promotion: " + s.last_promotion + " (at " + format_time(s.last_promotion_at) + ")\n";
  }
  if (!s.blocked.empty()) {
    t += "promotion_blocks_failover: " + s.blocked + "\n";
  }
  if (!s.write_block.cluster.empty()) {
    t += "writes_blocked: " + s.write_block.cluster + " since " + format_time(s.write_block.since) + " by " +
         s.write_block.by +
         (s.write_block.fence ? " (fenced by a failover, against clients that bypass HAProxy: lifted when it "
                                "becomes active again)\n"
                              : "\n");
  }
  return t;
}

nlohmann::json status_json(const CcrStatus& s, SysTime now) {
  nlohmann::json indices = nlohmann::json::array();
  for (const auto& l : s.indices) {
    indices.push_back({{"index", l.index},
                       {"leader_index", l.leader_index},
                       {"status", to_string(l.status)},
                       {"operations_behind", l.operations_behind},
                       {"since_last_read_ms", l.since_last_read_ms},
                       {"read_exceptions", l.read_exceptions},
                       {"first_exception", l.first_exception},
                       {"lag_seconds", l.lag_seconds}});
  }
  return {{"mode", "ccr"},
          {"passive", s.passive},
          {"active", s.active},
          {"read_age_seconds", age_seconds(s.checked_at, now)},
          {"errors", s.errors},
          {"followers", indices},
          {"not_followed", s.not_followed},
          {"passive_data_age_seconds", s.lag_seconds ? *s.lag_seconds : -1},
          {"lag_unknown_because", s.lag_why},
          {"setup", s.setup},
          {"last_promotion", s.last_promotion},
          {"last_promotion_ms", s.last_promotion_ms},
          {"promotion_blocks_failover", s.blocked},
          {"writes_blocked", s.write_block.cluster},
          {"writes_blocked_by_fence", s.write_block.fence}};
}

void export_metrics(MetricsText& m, const CcrStatus& s) {
  using enum MetricType;
  m.single("haes_sync_passive_data_age_seconds", kGauge,
           "Age of the passive cluster's data: the RPO if the active cluster failed now (-1: unknown, never synced "
           "into it).",
           s.lag_seconds ? static_cast<double>(*s.lag_seconds) : -1.0);
  m.family("haes_ccr_follower_operations_behind", kGauge,
           "Operations a follower index is behind its leader (sum over shards of leader minus follower global "
           "checkpoint; -1: no stats, paused).");
  for (const auto& l : s.indices) {
    m.sample({{"index", l.index}}, static_cast<double>(l.operations_behind));
  }
  m.family("haes_ccr_follower_lag_seconds", kGauge,
           "Seconds since a follower index was last seen 0 operations behind (-1: never).");
  for (const auto& l : s.indices) {
    m.sample({{"index", l.index}}, static_cast<double>(l.lag_seconds));
  }
  m.family("haes_ccr_follower_time_since_last_read_seconds", kGauge,
           "Seconds since a follower index last read from its leader (-1: unknown).");
  for (const auto& l : s.indices) {
    m.sample({{"index", l.index}},
             l.since_last_read_ms < 0 ? -1.0 : static_cast<double>(l.since_last_read_ms) / 1000.0);
  }
  m.family("haes_ccr_follower_read_exceptions", kGauge, "Read exceptions a follower index reports now.");
  for (const auto& l : s.indices) {
    m.sample({{"index", l.index}}, static_cast<double>(l.read_exceptions));
  }
  m.family("haes_ccr_follower_status", kGauge, "1 for a follower index's follow status (active, paused).");
  for (const auto& l : s.indices) {
    for (FollowStatus v : enum_values<FollowStatus>()) {
      if (v != FollowStatus::kNotFollowed) {
        m.sample({{"index", l.index}, {"status", to_string(v)}}, l.status == v ? 1 : 0);
      }
    }
  }
  m.single("haes_ccr_not_followed_indices", kGauge,
           "Leader indices of the patterns with no follower on the passive cluster.",
           static_cast<double>(s.not_followed.size()));
  m.single("haes_ccr_read_ok", kGauge, "1 when the last poll read the follower indices and their stats.",
           s.read_ok ? 1 : 0);
  m.single("haes_ccr_promotion_blocked", kGauge,
           "1 while a failover is refused because a follower index cannot be promoted.", s.blocked.empty() ? 0 : 1);
}

}  // namespace haes::ccr
