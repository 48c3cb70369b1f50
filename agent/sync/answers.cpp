#include "sync/answers.hpp"

#include <algorithm>

namespace haes::sync {

Error es_error(const std::string& what, const Answer& a) {
  if (a.transport) {
    return Error{a.transport->code, what + ": " + a.transport->message};
  }
  return Error{ErrorCode::kEsError, what + ": " + a.summary};
}

const json& at(const json& j, const char* key) {
  static const json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}

std::string string_at(const json& j, const char* key) {
  const json& v = at(j, key);
  return v.is_string() ? v.get<std::string>() : "";
}

std::vector<std::string> string_list(const json& j) {
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& i : j) {
      if (i.is_string()) {
        out.push_back(i.get<std::string>());
      }
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ",") + s;
  }
  return out;
}

// ---- snapshot ---------------------------------------------------------------

WatchStep judge_snapshot_poll(const Answer& a, SnapshotWatch& w, SteadyTime now) {
  WatchStep out;
  const std::string of = "snapshot " + w.name + " of " + w.cluster;
  if (a.ok()) {
    w.server_errors = 0;
    const json& list = at(a.body, "snapshots");
    if (list.is_array() && !list.empty()) {
      const json& info = list[0];
      const std::string state = string_at(info, "state");
      if (state == "SUCCESS") {
        out.verdict = WatchVerdict::kSucceeded;
        out.info = info;
        return out;
      }
      if (!state.empty() && state != "IN_PROGRESS" && state != "STARTED") {
        std::string failures = at(info, "failures").is_null() ? "" : info["failures"].dump().substr(0, 300);
        out.verdict = WatchVerdict::kFailed;
        out.error = Error{state == "PARTIAL" ? ErrorCode::kSnapshotPartial : ErrorCode::kSnapshotFailed,
                          of + " ended " + state +
                              (failures.empty() || failures == "[]" ? "" : " (failures: " + failures + ")") +
                              ": never restored"};
        return out;
      }
    }
  } else if (!a.transport) {
    // A missing snapshot or a disabled repository is final; another 5xx is
    // retried a few times, like a connection error.
    if (a.status < 500 || a.es_type == "repository_exception" || ++w.server_errors >= kMaxWatchServerErrors) {
      out.verdict = WatchVerdict::kFailed;
      out.error = es_error("watching " + of, a);
      return out;
    }
  }
  if (now >= w.deadline) {
    out.verdict = WatchVerdict::kFailed;
    out.error = Error{ErrorCode::kTimeout,
                      of + " still running after sync.timeout " + format_duration(w.timeout) + ": not restored"};
  }
  return out;
}

// ---- restore ----------------------------------------------------------------

Result<std::vector<std::string>> indices_to_close(const Answer& cat, const std::vector<std::string>& restoring,
                                                  const std::string& cluster) {
  if (!cat.ok() || !cat.body.is_array()) {
    return es_error("listing indices on " + cluster, cat);
  }
  std::vector<std::string> out;
  for (const auto& row : cat.body) {
    const std::string idx = string_at(row, "index");
    if (string_at(row, "status") == "open" && std::find(restoring.begin(), restoring.end(), idx) != restoring.end()) {
      out.push_back(idx);
    }
  }
  return out;
}

Result<std::vector<std::string>> present_indices(const Answer& cat, const std::vector<std::string>& names,
                                                 const std::string& cluster) {
  if (!cat.ok() || !cat.body.is_array()) {
    return es_error("listing indices on " + cluster, cat);
  }
  std::vector<std::string> out;
  for (const auto& row : cat.body) {
    const std::string idx = string_at(row, "index");
    if (std::find(names.begin(), names.end(), idx) != names.end()) {
      out.push_back(idx);
    }
  }
  return out;
}

Result<void> judge_restore(const Answer& a, const std::string& what) {
  if (!a.ok()) {
    return es_error(what, a);
  }
  const json& shards = at(at(a.body, "snapshot"), "shards");
  const json& failed = at(shards, "failed");
  const int64_t n = failed.is_number_integer() ? failed.get<int64_t>() : -1;
  if (n == 0) {
    return Ok{};
  }
  return Error{ErrorCode::kRestoreFailed,
               what + ": " +
                   (n < 0 ? std::string("no shard counts in the answer")
                          : std::to_string(n) + " of " + at(shards, "total").dump() + " shards failed") +
                   " (HTTP " + std::to_string(a.status) + "); the passive data is NOT usable until the next sync"};
}

Result<void> judge_restored_health(const Answer& a, const std::string& cluster) {
  const std::string status = a.transport ? "" : string_at(a.body, "status");
  if (status == "green" || status == "yellow") {
    return Ok{};
  }
  const std::string why = !status.empty() ? status : a.transport ? a.transport->message : a.summary;
  return Error{ErrorCode::kRestoreUnusable, "restored indices on " + cluster + " are not usable (health " + why + ")"};
}

// ---- retention --------------------------------------------------------------

Result<std::vector<SnapshotEntry>> snapshot_entries(const Answer& a) {
  if (!a.ok() || !at(a.body, "snapshots").is_array()) {
    return es_error("listing snapshots", a);
  }
  std::vector<SnapshotEntry> out;
  for (const auto& s : a.body["snapshots"]) {
    SnapshotEntry e;
    e.name = string_at(s, "snapshot");
    e.state = string_at(s, "state");
    if (const json& t = at(s, "start_time_in_millis"); t.is_number_integer()) {
      e.start = from_unix_ms(t.get<int64_t>());
    }
    out.push_back(std::move(e));
  }
  return out;
}

// ---- verify-restore ---------------------------------------------------------

std::string scratch_name(const std::string& index) { return kScratchPrefix + index; }

int64_t count_of(const Answer& a) {
  const json& c = at(a.body, "count");
  return a.ok() && c.is_number_integer() ? c.get<int64_t>() : -1;
}

CountComparison compare_counts(const std::vector<IndexCounts>& counts, const std::string& cluster) {
  CountComparison out;
  for (const auto& c : counts) {
    out.counts += (out.counts.empty() ? "" : ", ") + c.index + "=" + std::to_string(c.restored);
    if (c.restored < 0 || c.synced < 0 || c.restored != c.synced) {
      out.ok = false;
      out.problems += (out.problems.empty() ? "" : "; ") + c.index + ": snapshot holds " +
                      (c.restored < 0 ? std::string("an unreadable number of") : std::to_string(c.restored)) +
                      " documents, the synced copy on " + cluster + " " +
                      (c.synced < 0 ? std::string("cannot be counted") : std::to_string(c.synced));
    }
  }
  return out;
}

}  // namespace haes::sync
