#include "drill/plan.hpp"

#include <algorithm>
#include <cstdio>

namespace haes {
namespace {

std::string drill_id(SysTime now) {
  const int64_t ms = to_unix_ms(now);
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dt%02d%02d%02d%03dz", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::string step_text(const DrillPlan& p, DrillStep s) {
  switch (s) {
    case DrillStep::kReadinessBefore: return "record the readiness of " + p.to + " and the RPO";
    case DrillStep::kSwitchover:
      return "planned switchover " + p.from + " -> " + p.to + " (writes blocked on " + p.from +
             ", final snapshot, restore on " + p.to + ", roles switched)";
    case DrillStep::kWrite:
      return "write " + std::to_string(p.documents) + " documents to " + p.scratch_index + " on " + p.to +
             (p.through.empty() ? "" : " through the front door " + p.through);
    case DrillStep::kRead:
      return p.through.empty()
                 ? "read them back from " + p.to + " and count them"
                 : "count them through the front door, on " + p.to + " directly, and check " + p.from + " has none";
    case DrillStep::kCleanup:
      return "delete " + p.scratch_index + " on " + p.to + (p.through.empty() ? "" : " (and on " + p.from + ")");
    case DrillStep::kSwitchBack: return "planned switchover back " + p.to + " -> " + p.from;
    case DrillStep::kReadinessAfter: return "record the readiness of " + p.to + " again";
  }
  return "?";
}

std::string secs(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

}  // namespace

Result<DrillPlan> plan_drill(const State& state, const std::vector<std::string>& clusters, const std::string& to,
                             int64_t documents, SysTime now, const std::string& through) {
  if (state.active.empty()) {
    return Error{ErrorCode::kNoActive, "no cluster is active: a drill starts from an active cluster"};
  }
  DrillPlan p;
  p.from = state.active;
  if (!to.empty()) {
    if (std::find(clusters.begin(), clusters.end(), to) == clusters.end()) {
      return Error{ErrorCode::kUsage, "--to: '" + to + "' is not a configured cluster"};
    }
    if (to == state.active) {
      return Error{ErrorCode::kAlreadyActive, to + " is the active cluster; a drill moves to the passive one"};
    }
    if (state.is_fenced(to)) {
      return Error{ErrorCode::kUnhealthyTarget, to + " is fenced; bring it back before drilling on it"};
    }
    p.to = to;
  } else {
    for (const auto& c : clusters) {
      if (c != state.active && !state.is_fenced(c)) {
        p.to = c;
        break;
      }
    }
    if (p.to.empty()) {
      return Error{ErrorCode::kUnhealthyTarget, "no passive cluster to drill on (the others are fenced)"};
    }
  }
  p.id = drill_id(now);
  p.scratch_index = "haes-drill-" + p.id;
  p.documents = documents;
  p.through = through;
  p.steps = {DrillStep::kReadinessBefore, DrillStep::kSwitchover, DrillStep::kWrite,         DrillStep::kRead,
             DrillStep::kCleanup,         DrillStep::kSwitchBack, DrillStep::kReadinessAfter};
  return p;
}

std::string render_plan(const DrillPlan& p) {
  std::string t = "drill " + p.id + " (dry run, nothing done): " + p.from + " -> " + p.to + " -> " + p.from;
  int i = 1;
  for (auto s : p.steps) {
    t += "\n  " + std::to_string(i++) + ". " + std::string(to_string(s)) + ": " + step_text(p, s);
  }
  t += "\non failure after the switchover: delete " + p.scratch_index + ", switch back to " + p.from +
       "; a failed switchover leaves " + p.from + " active (its own rollback)";
  return t;
}

std::vector<DrillStep> recovery_steps(DrillStep failed) {
  switch (failed) {
    case DrillStep::kWrite:
    case DrillStep::kRead: return {DrillStep::kCleanup, DrillStep::kSwitchBack};
    case DrillStep::kCleanup:
    case DrillStep::kSwitchBack:  // the switch back is tried (once more)
      return {DrillStep::kSwitchBack};
    default:  // before the switchover took (it rolled itself back), or after the switch back
      return {};
  }
}

bool front_door_not_routing_yet(int status, const std::string& es_type) {
  if (status != 502 && status != 503 && status != 504) {
    return false;
  }
  return es_type.empty() || es_type == "haes_unavailable_exception";
}

Result<std::string> judge_placement(const DrillPlan& plan, const DrillPlacement& found) {
  const std::string of = " documents of " + std::to_string(found.written) + " written";
  if (found.read < 0) {
    return Error{ErrorCode::kVerifyFailed, "the scratch index " + plan.scratch_index + " is gone where the drill " +
                                               "wrote it (" + (plan.through.empty() ? plan.to : plan.through) + ")"};
  }
  if (found.read != found.written) {
    return Error{ErrorCode::kVerifyFailed, "read back " + std::to_string(found.read) + of +
                                               (plan.through.empty() ? "" : " (through " + plan.through + ")")};
  }
  if (plan.through.empty()) {
    return std::to_string(found.read) + " documents read back";
  }
  if (found.on_source) {
    return Error{ErrorCode::kVerifyFailed, "the front door " + plan.through + " sent the drill's documents to " +
                                               plan.from + ", not to " + plan.to +
                                               ": its routing does not follow the agent's verdict (docs/drills.md)"};
  }
  if (found.on_target != found.written) {
    return Error{ErrorCode::kVerifyFailed, plan.to + " holds " + std::to_string(found.on_target) + of +
                                               " through the front door " + plan.through +
                                               ": they went somewhere else (docs/drills.md)"};
  }
  return std::to_string(found.read) + " documents read back through " + plan.through + ", all on " + plan.to +
         ", none on " + plan.from;
}

nlohmann::json drill_report_json(const DrillReport& r) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : r.steps) {
    steps.push_back({{"step", to_string(s.step)}, {"ok", s.ok}, {"took_ms", s.took.count()}, {"detail", s.detail}});
  }
  auto opt_ms = [](const std::optional<Duration>& d) { return d ? nlohmann::json(d->count()) : nlohmann::json(); };
  return {{"id", r.id},
          {"from", r.from},
          {"to", r.to},
          {"actor", r.actor},
          {"started_at_ms", to_unix_ms(r.started_at)},
          {"started_at", format_time(r.started_at)},
          {"finished_at_ms", to_unix_ms(r.finished_at)},
          {"running", r.running},
          {"ok", r.ok},
          {"reason", r.reason},
          {"rolled_back", r.rolled_back},
          {"steps", steps},
          {"write_block_to_ms", opt_ms(r.write_block_to)},
          {"write_block_back_ms", opt_ms(r.write_block_back)},
          {"rpo_seconds", r.rpo_seconds ? nlohmann::json(*r.rpo_seconds) : nlohmann::json()},
          {"through", r.through},
          {"front_door_wait_ms", opt_ms(r.front_door_wait)},
          {"readiness_before", r.readiness_before},
          {"readiness_after", r.readiness_after},
          {"documents_written", r.documents_written},
          {"documents_read", r.documents_read}};
}

Result<DrillReport> drill_report_from_json(const nlohmann::json& j) {
  try {
    DrillReport r;
    r.id = j.at("id").get<std::string>();
    r.from = j.at("from").get<std::string>();
    r.to = j.at("to").get<std::string>();
    r.actor = j.value("actor", "");
    r.started_at = from_unix_ms(j.at("started_at_ms").get<int64_t>());
    r.finished_at = from_unix_ms(j.value("finished_at_ms", int64_t{0}));
    r.running = j.at("running").get<bool>();
    r.ok = j.at("ok").get<bool>();
    r.reason = j.value("reason", "");
    r.rolled_back = j.value("rolled_back", false);
    for (const auto& s : j.at("steps")) {
      DrillStepResult sr;
      auto step = enum_from_name<DrillStep>(s.at("step").get<std::string>());
      if (!step) {
        continue;  // a step a newer agent knows
      }
      sr.step = *step;
      sr.ok = s.at("ok").get<bool>();
      sr.took = Duration(s.at("took_ms").get<int64_t>());
      sr.detail = s.value("detail", "");
      r.steps.push_back(std::move(sr));
    }
    auto ms = [&](const char* k) -> std::optional<Duration> {
      if (j.contains(k) && j[k].is_number_integer()) {
        return Duration(j[k].get<int64_t>());
      }
      return std::nullopt;
    };
    r.write_block_to = ms("write_block_to_ms");
    r.write_block_back = ms("write_block_back_ms");
    r.through = j.value("through", "");
    r.front_door_wait = ms("front_door_wait_ms");
    if (j.contains("rpo_seconds") && j["rpo_seconds"].is_number_integer()) {
      r.rpo_seconds = j["rpo_seconds"].get<int64_t>();
    }
    r.readiness_before = j.value("readiness_before", "");
    r.readiness_after = j.value("readiness_after", "");
    r.documents_written = j.value("documents_written", int64_t{0});
    r.documents_read = j.value("documents_read", int64_t{0});
    return r;
  } catch (const std::exception& e) {
    return Error{ErrorCode::kCorrupt, std::string("a drill report is not readable: ") + e.what()};
  }
}

std::string render_drill_report(const DrillReport& r) {
  std::string t = "drill " + r.id + ": " +
                  (r.running ? std::string("RUNNING")
                   : r.ok    ? std::string("PASSED")
                             : "FAILED: " + r.reason) +
                  "\n  " + r.from + " -> " + r.to + " -> " + r.from + ", started " + format_time(r.started_at) +
                  " by " + r.actor;
  if (!r.running) {
    t += ", took " + secs(r.finished_at - r.started_at);
  }
  if (r.rolled_back) {
    t += "\n  rolled back: " + r.from + " active again";
  }
  t += "\n  write_unavailable " + r.from + "->" + r.to + ": " +
       (r.write_block_to ? secs(*r.write_block_to) : std::string("not measured"));
  t += "\n  write_unavailable " + r.to + "->" + r.from + ": " +
       (r.write_block_back ? secs(*r.write_block_back) : std::string("not measured"));
  t += "\n  rpo_at_start: " + (r.rpo_seconds ? std::to_string(*r.rpo_seconds) + "s" : std::string("unknown"));
  t += "\n  readiness_before: " + r.readiness_before;
  t += "\n  readiness_after: " + (r.readiness_after.empty() ? std::string("not recorded") : r.readiness_after);
  t += "\n  documents: " + std::to_string(r.documents_written) + " written, " + std::to_string(r.documents_read) +
       " read";
  if (!r.through.empty()) {
    t += "\n  through: " + r.through + " (the front door), routing to " + r.to + " after " +
         (r.front_door_wait ? secs(*r.front_door_wait) : std::string("not measured"));
  }
  for (const auto& s : r.steps) {
    t += "\n  " + std::string(s.ok ? "ok   " : "FAIL ") + std::string(to_string(s.step)) + " " + secs(s.took) +
         (s.detail.empty() ? "" : ": " + s.detail);
  }
  return t;
}

std::string drill_summary(const DrillReport& r, SysTime now) {
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - r.started_at).count();
  std::string t = r.id + " " +
                  (r.running ? std::string("running")
                   : r.ok    ? std::string("passed")
                             : "FAILED") +
                  ", " + std::to_string(std::max<int64_t>(age, 0)) + "s ago";
  if (!r.running && !r.ok) {
    t += ": " + r.reason;
  }
  if (r.write_block_to) {
    t += ", write_unavailable " + secs(*r.write_block_to) + " / " +
         (r.write_block_back ? secs(*r.write_block_back) : std::string("?"));
  }
  return t;
}

}  // namespace haes
