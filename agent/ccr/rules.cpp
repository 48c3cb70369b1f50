#include "ccr/rules.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "common/pattern.hpp"

namespace haes::ccr {

using sync::at;
using sync::string_at;

namespace {

Error bad_shape(const std::string& what, const std::string& cluster, const std::string& why) {
  return Error{ErrorCode::kBadResponse, what + " of " + cluster + ": unexpected answer: " + why};
}

std::optional<int64_t> int_at(const json& j, const char* key) {
  const json& v = at(j, key);
  if (v.is_number_integer()) {
    return v.get<int64_t>();
  }
  return std::nullopt;
}

std::string names(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ", ") + s;
  }
  return out;
}

}  // namespace

Result<std::vector<FollowerInfo>> parse_follow_info(const Answer& a, const std::string& cluster) {
  const std::string what = "follow info";
  if (!a.ok()) {
    return sync::es_error(what + " of " + cluster, a);
  }
  const json& list = at(a.body, "follower_indices");
  if (!list.is_array()) {
    return bad_shape(what, cluster, "no follower_indices list");
  }
  std::vector<FollowerInfo> out;
  for (const auto& e : list) {
    FollowerInfo f;
    f.index = string_at(e, "follower_index");
    f.remote_cluster = string_at(e, "remote_cluster");
    f.leader_index = string_at(e, "leader_index");
    const std::string status = string_at(e, "status");
    if (f.index.empty()) {
      return bad_shape(what, cluster, "an entry without follower_index");
    }
    if (status == "active") {
      f.status = FollowStatus::kActive;
    } else if (status == "paused") {
      f.status = FollowStatus::kPaused;
    } else {
      return bad_shape(what, cluster, "status of " + f.index + " is \"" + status + "\" (expected active or paused)");
    }
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.index < y.index; });
  return out;
}

Result<std::vector<FollowerStats>> parse_follow_stats(const Answer& a, const std::string& cluster) {
  const std::string what = "CCR stats";
  if (!a.ok()) {
    return sync::es_error(what + " of " + cluster, a);
  }
  const json& list = at(at(a.body, "follow_stats"), "indices");
  if (!list.is_array()) {
    return bad_shape(what, cluster, "no follow_stats.indices list");
  }
  std::vector<FollowerStats> out;
  for (const auto& e : list) {
    FollowerStats s;
    s.index = string_at(e, "index");
    const json& shards = at(e, "shards");
    if (s.index.empty() || !shards.is_array()) {
      return bad_shape(what, cluster, "an entry without index or shards");
    }
    for (const auto& sh : shards) {
      auto leader = int_at(sh, "leader_global_checkpoint");
      auto follower = int_at(sh, "follower_global_checkpoint");
      if (!leader || !follower) {
        return bad_shape(what, cluster,
                         "a shard of " + s.index + " without leader_global_checkpoint or follower_global_checkpoint");
      }
      s.operations_behind += std::max<int64_t>(0, *leader - *follower);
      auto since = int_at(sh, "time_since_last_read_millis");
      if (since && *since >= 0) {
        s.since_last_read_ms = std::max(s.since_last_read_ms, *since);
      }
      const json& ex = at(sh, "read_exceptions");
      if (ex.is_array()) {
        s.read_exceptions += static_cast<int64_t>(ex.size());
        if (!ex.empty() && s.first_exception.empty()) {
          const json& cause = at(ex[0], "exception");
          s.first_exception = string_at(cause, "type") + ": " + string_at(cause, "reason");
        }
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<FollowerInfo> with_task_followers(std::vector<FollowerInfo> info, const std::vector<FollowerStats>& stats) {
  std::set<std::string, std::less<>> listed;
  for (const auto& f : info) {
    listed.insert(f.index);
  }
  for (const auto& s : stats) {
    if (!listed.contains(s.index)) {
      info.push_back(FollowerInfo{s.index, "", s.index, FollowStatus::kActive});
    }
  }
  std::sort(info.begin(), info.end(), [](const auto& x, const auto& y) { return x.index < y.index; });
  return info;
}

Result<std::vector<std::string>> parse_index_names(const Answer& a, const std::string& cluster) {
  if (!a.ok()) {
    return sync::es_error("index list of " + cluster, a);
  }
  if (!a.body.is_array()) {
    return bad_shape("index list", cluster, "not a JSON list");
  }
  std::vector<std::string> out;
  for (const auto& e : a.body) {
    std::string n = string_at(e, "index");
    if (n.empty()) {
      return bad_shape("index list", cluster, "an entry without index");
    }
    out.push_back(std::move(n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<DataStreamInfo>> parse_data_streams(const Answer& a, const std::string& cluster) {
  const std::string what = "data streams";
  if (!a.ok()) {
    return sync::es_error(what + " of " + cluster, a);
  }
  const json& list = at(a.body, "data_streams");
  if (!list.is_array()) {
    return bad_shape(what, cluster, "no data_streams list");
  }
  std::vector<DataStreamInfo> out;
  for (const auto& e : list) {
    DataStreamInfo d;
    d.name = string_at(e, "name");
    const json& indices = at(e, "indices");
    if (d.name.empty() || !indices.is_array() || indices.empty()) {
      return bad_shape(what, cluster, "a data stream without name or backing indices");
    }
    for (const auto& i : indices) {
      std::string n = string_at(i, "index_name");
      if (n.empty()) {
        return bad_shape(what, cluster, "a backing index of " + d.name + " without index_name");
      }
      d.indices.push_back(std::move(n));
    }
    const json& replicated = at(e, "replicated");
    d.replicated = replicated.is_boolean() && replicated.get<bool>();
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
  return out;
}

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "yyyy.MM.dd"
bool is_date(std::string_view s) {
  return s.size() == 10 && s[4] == '.' && s[7] == '.' && all_digits(s.substr(0, 4)) && all_digits(s.substr(5, 2)) &&
         all_digits(s.substr(8, 2));
}

// Whether `name` is in by `patterns`' includes (a dot-name only by a dot
// pattern), and whether out by their excludes.
struct Match {
  bool in = false;
  bool out = false;
};
Match match(const std::vector<std::string>& patterns, std::string_view name) {
  Match m;
  for (const auto& p : patterns) {
    if (!p.empty() && p[0] == '-') {
      m.out = m.out || simple_match(std::string_view(p).substr(1), name);
    } else if (simple_match(p, name) && (name.empty() || name[0] != '.' || (!p.empty() && p[0] == '.'))) {
      m.in = true;
    }
  }
  return m;
}

}  // namespace

std::string backing_data_stream(std::string_view index) {
  constexpr std::string_view kPrefix = ".ds-";
  if (!index.starts_with(kPrefix)) {
    return "";
  }
  std::string_view rest = index.substr(kPrefix.size());
  const size_t dash = rest.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || rest.size() - dash - 1 < 6 || !all_digits(rest.substr(dash + 1))) {
    return "";
  }
  rest = rest.substr(0, dash);  // "<stream>-<date>" or "<stream>"
  const size_t date = rest.rfind('-');
  if (date != std::string_view::npos && date > 0 && is_date(rest.substr(date + 1))) {
    rest = rest.substr(0, date);
  }
  return std::string(rest);
}

bool selected(const std::vector<std::string>& patterns, const std::string& index) {
  // As ES's AutoFollowPattern.match: the index's own name, or else its stream's.
  const auto in = [&](std::string_view name) {
    const Match m = match(patterns, name);
    return m.in && !m.out;
  };
  const std::string stream = backing_data_stream(index);
  return in(index) || (!stream.empty() && in(stream));
}

CcrStatus judge(const Observation& obs, const std::vector<std::string>& patterns, CaughtUp& caught_up, SysTime now) {
  CcrStatus st;
  st.passive = obs.passive;
  st.active = obs.active;
  st.checked_at = now;
  st.errors = obs.errors;
  st.read_ok = obs.errors.empty() && obs.followers && obs.stats;
  std::map<std::string, const FollowerStats*, std::less<>> stats;
  if (obs.stats) {
    for (const auto& s : *obs.stats) {
      stats[s.index] = &s;
    }
  }
  std::set<std::string, std::less<>> followed;  // leader indices with a follower
  CaughtUp kept;
  bool unknown = false;
  int64_t worst = 0;
  if (obs.followers) {
    for (const auto& f : *obs.followers) {
      if (!selected(patterns, f.leader_index.empty() ? f.index : f.leader_index)) {
        continue;
      }
      followed.insert(f.leader_index);
      IndexLag l;
      l.index = f.index;
      l.leader_index = f.leader_index;
      l.status = f.status;
      auto it = stats.find(f.index);
      if (f.status == FollowStatus::kActive && it != stats.end()) {
        l.operations_behind = it->second->operations_behind;
        l.since_last_read_ms = it->second->since_last_read_ms;
        l.read_exceptions = it->second->read_exceptions;
        l.first_exception = it->second->first_exception;
        if (l.operations_behind == 0) {
          caught_up[f.index] = now;
        }
      }
      auto seen = caught_up.find(f.index);
      if (seen != caught_up.end()) {
        kept[f.index] = seen->second;
        l.lag_seconds =
            std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(now - seen->second).count());
        worst = std::max(worst, l.lag_seconds);
      } else {
        unknown = true;
        if (st.lag_why.empty()) {
          st.lag_why = f.index + " has not been seen caught up yet";
        }
      }
      st.indices.push_back(std::move(l));
    }
  }
  caught_up = std::move(kept);
  if (obs.leader_indices) {
    for (const auto& n : *obs.leader_indices) {
      if (selected(patterns, n) && !followed.contains(n)) {
        st.not_followed.push_back(n);
      }
    }
  }
  if (!obs.followers || !obs.stats) {
    st.lag_why = "the follower indices of " + obs.passive + " could not be read";
  } else if (!st.not_followed.empty()) {
    st.lag_why = "not followed on " + obs.passive + ": " + names(st.not_followed);
  } else if (!unknown) {
    st.lag_seconds = worst;
  }
  return st;
}

void apply_blocker(ControllerView& view, const CcrStatus& status) {
  if (view.blocker == Blocker::kNone && !status.blocked.empty()) {
    view.blocker = Blocker::kCcrPromotion;
    view.text = status.blocked;
  }
}

std::vector<StepRequest> promotion_steps(const std::vector<FollowerInfo>& followers,
                                         const std::vector<std::string>& patterns) {
  std::vector<StepRequest> out;
  for (const auto& f : followers) {
    if (!selected(patterns, f.leader_index.empty() ? f.index : f.leader_index)) {
      continue;
    }
    static constexpr std::pair<PromoteStep, const char*> kRunbook[] = {
        {PromoteStep::kPauseFollow, "/_ccr/pause_follow"},
        {PromoteStep::kClose, "/_close"},
        {PromoteStep::kUnfollow, "/_ccr/unfollow"},
        {PromoteStep::kOpen, "/_open"}};
    for (const auto& [s, suffix] : kRunbook) {
      if (s == PromoteStep::kPauseFollow && f.status == FollowStatus::kPaused) {
        continue;
      }
      out.push_back(StepRequest{f.index, s, "POST", "/" + f.index + suffix});
    }
  }
  return out;
}

std::vector<StepRequest> data_stream_steps(const std::vector<DataStreamInfo>& streams,
                                           const std::vector<FollowerInfo>& followers,
                                           const std::vector<std::string>& patterns) {
  std::set<std::string, std::less<>> following;
  for (const auto& f : followers) {
    following.insert(f.index);
  }
  std::vector<StepRequest> out;
  for (const auto& d : streams) {
    const Match m = match(patterns, d.name);
    if (!m.in || m.out) {
      continue;
    }
    if (d.replicated) {
      out.push_back(StepRequest{d.name, PromoteStep::kPromoteDataStream, "POST", "/_data_stream/_promote/" + d.name});
    }
    if (d.replicated || following.contains(d.indices.back())) {
      out.push_back(StepRequest{d.name, PromoteStep::kRollover, "POST", "/" + d.name + "/_rollover"});
    }
  }
  return out;
}

std::vector<std::vector<StepRequest>> by_target(const std::vector<StepRequest>& steps) {
  std::vector<std::vector<StepRequest>> out;
  for (const auto& st : steps) {
    if (out.empty() || out.back().front().index != st.index) {
      out.emplace_back();
    }
    out.back().push_back(st);
  }
  return out;
}

Result<void> judge_step(const StepRequest& step, const Answer& a, const std::string& cluster) {
  const std::string what = std::string(to_string(step.step)) + " of " + step.index + " on " + cluster;
  if (a.ok()) {
    const json& ack = at(a.body, "acknowledged");
    if (ack.is_boolean() && !ack.get<bool>()) {
      return Error{ErrorCode::kPromotionFailed, what + ": not acknowledged"};
    }
    return Ok{};
  }
  if (step.step == PromoteStep::kPauseFollow && !a.transport && a.status == 400 &&
      a.summary.find("no shard follow tasks") != std::string::npos) {
    return Ok{};  // already paused
  }
  Error e = sync::es_error(what, a);
  if (e.code == ErrorCode::kEsError) {
    e.code = ErrorCode::kPromotionFailed;
  }
  return e;
}

bool PromotionReport::ok() const {
  return errors.empty() && std::all_of(indices.begin(), indices.end(), [](const auto& i) { return i.ok; });
}

std::vector<std::string> PromotionReport::not_promoted() const {
  std::vector<std::string> out;
  for (const auto& i : indices) {
    if (!i.ok) {
      out.push_back(i.index);
    }
  }
  return out;
}

std::string PromotionReport::summary() const {
  std::vector<std::string> good;
  std::vector<std::string> bad;
  size_t streams = 0;
  for (const auto& i : indices) {
    const std::string name = (i.data_stream ? "data stream " : "") + i.index;
    if (i.ok) {
      good.push_back(name);
      streams += i.data_stream ? 1 : 0;
    } else {
      bad.push_back(name + " (" + i.error + ")");
    }
  }
  std::string out;
  if (!errors.empty()) {
    out = "could not promote the followers of " + cluster + ": " + names(errors);
  } else if (bad.empty()) {
    out = "promoted " + (streams == 0 ? "" : std::to_string(streams) + " data stream(s) and ") +
          std::to_string(good.size() - streams) + " follower index(es) on " + cluster +
          (good.empty() ? "" : " (" + names(good) + ")");
  } else {
    out = "could not promote on " + cluster + ": " + names(bad) + (good.empty() ? "" : "; promoted: " + names(good));
  }
  return out;
}

std::string index_event_text(const IndexPromotion& p, const std::string& cluster) {
  std::string steps;
  for (PromoteStep s : p.done) {
    steps += (steps.empty() ? "" : ", ") + std::string(to_string(s)) + " ok";
  }
  const std::string what = p.data_stream ? "data stream " : "follower ";
  if (p.ok) {
    return "promoted " + what + p.index + " on " + cluster + ": " + steps;
  }
  return "could not promote " + what + p.index + " on " + cluster + ": " + (steps.empty() ? "" : steps + ", ") +
         (p.failed ? std::string(to_string(*p.failed)) : std::string("?")) + " FAILED: " + p.error;
}

std::string remote_alias(const std::string& configured, const std::string& active) {
  return configured.empty() ? active : configured;
}

std::string auto_follow_name(const std::string& alias) { return "haes-" + alias; }

json auto_follow_body(const std::string& alias, const std::vector<std::string>& patterns) {
  json include = json::array();
  json exclude = json::array();
  for (const auto& p : patterns) {
    if (!p.empty() && p[0] == '-') {
      exclude.push_back(p.substr(1));
    } else {
      include.push_back(p);
    }
  }
  json body = {
      {"remote_cluster", alias}, {"leader_index_patterns", include}, {"follow_index_pattern", "{{leader_index}}"}};
  if (!exclude.empty()) {
    body["leader_index_exclusion_patterns"] = exclude;
  }
  return body;
}

json remote_settings_body(const std::string& alias, const std::vector<std::string>& seeds) {
  return {{"persistent", {{"cluster.remote." + alias + ".seeds", seeds}}}};
}

std::optional<std::string> remote_problem(const Answer& a, const std::string& alias, const std::string& cluster) {
  if (!a.ok()) {
    return sync::es_error("remote clusters of " + cluster, a).message;
  }
  const json& r = at(a.body, alias.c_str());
  if (!r.is_object()) {
    return "remote cluster " + alias + " is not set on " + cluster + " (cluster.remote." + alias + ".seeds)";
  }
  const json& c = at(r, "connected");
  if (!c.is_boolean() || !c.get<bool>()) {
    return "remote cluster " + alias + " is not connected from " + cluster;
  }
  return std::nullopt;
}

FenceStep fence_step(const State& s, const std::string& passive) {
  if (s.active.empty()) {
    return {};
  }
  if (!s.write_block.cluster.empty()) {
    if (s.write_block.fence && s.write_block.cluster == s.active) {
      return {FenceAction::kLift, s.active};
    }
    return {};  // in force (or a marker this mode did not write: left alone)
  }
  if (!passive.empty() && passive != s.active && s.is_fenced(passive)) {
    return {FenceAction::kBlock, passive};
  }
  return {};
}

std::optional<std::string> auto_follow_problem(const Answer& a, const std::string& alias,
                                               const std::vector<std::string>& patterns, const std::string& cluster) {
  if (!a.ok()) {
    return sync::es_error("auto-follow patterns of " + cluster, a).message;
  }
  const std::string fix = " (PUT /_ccr/auto_follow/" + auto_follow_name(alias) + ", or sync.ccr.manage: true)";
  const json& list = at(a.body, "patterns");
  std::set<std::string, std::less<>> covered;
  std::vector<std::string> paused;
  std::vector<std::string> renamed;
  bool any = false;
  if (list.is_array()) {
    for (const auto& e : list) {
      const json& p = at(e, "pattern");
      const json& remote = at(p, "remote_cluster");
      if (!remote.is_string() || remote.get<std::string>() != alias) {
        continue;
      }
      any = true;
      const json& name = at(e, "name");
      const std::string n = name.is_string() ? name.get<std::string>() : "?";
      const json& active = at(p, "active");
      if (active.is_boolean() && !active.get<bool>()) {
        paused.push_back(n);
        continue;
      }
      const json& rename = at(p, "follow_index_pattern");
      if (rename.is_string() && rename.get<std::string>() != "{{leader_index}}") {
        renamed.push_back(n + " (" + rename.get<std::string>() + ")");
        continue;
      }
      const json& leaders = at(p, "leader_index_patterns");
      if (leaders.is_array()) {
        for (const auto& l : leaders) {
          if (l.is_string()) {
            covered.insert(l.get<std::string>());
          }
        }
      }
    }
  }
  if (!any) {
    return "no auto-follow pattern on " + cluster + " follows remote cluster " + alias +
           ": its new indices would not be followed" + fix;
  }
  std::string missing;
  for (const auto& p : patterns) {
    if (!p.empty() && p[0] != '-' && !covered.contains(p)) {
      missing += (missing.empty() ? "" : ", ") + p;
    }
  }
  if (missing.empty()) {
    return std::nullopt;
  }
  std::string why = "no active auto-follow pattern on " + cluster + " from " + alias + " lists " + missing;
  if (!paused.empty()) {
    why += "; paused: " + paused.front() + (paused.size() > 1 ? ", ..." : "");
  }
  if (!renamed.empty()) {
    why += "; follows under other names: " + renamed.front() + " (haes expects {{leader_index}})";
  }
  return why + fix;
}

std::vector<std::string> refollow_victims(const std::vector<std::string>& passive_indices,
                                          const std::vector<FollowerInfo>& passive_followers,
                                          const std::vector<std::string>& active_indices,
                                          const std::vector<std::string>& patterns) {
  std::set<std::string, std::less<>> followers;
  for (const auto& f : passive_followers) {
    followers.insert(f.index);
  }
  std::set<std::string, std::less<>> active(active_indices.begin(), active_indices.end());
  std::vector<std::string> out;
  for (const auto& n : passive_indices) {
    if (selected(patterns, n) && !followers.contains(n) && active.contains(n)) {
      out.push_back(n);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Deletion> refollow_deletions(const std::vector<std::string>& victims) {
  std::vector<Deletion> out;
  std::map<std::string, size_t, std::less<>> stream_at;
  for (const auto& v : victims) {
    const std::string stream = backing_data_stream(v);
    if (stream.empty()) {
      out.push_back(Deletion{"/" + v, {v}, ""});
      continue;
    }
    auto [it, fresh] = stream_at.try_emplace(stream, out.size());
    if (fresh) {
      out.push_back(Deletion{"/_data_stream/" + stream, {}, stream});
    }
    out[it->second].indices.push_back(v);
  }
  return out;
}

std::vector<std::string> missing_followers(const std::vector<std::string>& passive_indices,
                                           const std::vector<std::string>& active_indices,
                                           const std::vector<std::string>& patterns) {
  std::set<std::string, std::less<>> have(passive_indices.begin(), passive_indices.end());
  std::vector<std::string> out;
  for (const auto& n : active_indices) {
    if (selected(patterns, n) && !have.contains(n)) {
      out.push_back(n);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace haes::ccr
