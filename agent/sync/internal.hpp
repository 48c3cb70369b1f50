#pragma once
// Internal to SnapshotSync's translation units (snapshot_sync.cpp,
// es_steps.cpp, switchover.cpp, verify_restore.cpp): helpers for reading ES
// answers without ever throwing, and the Busy guard.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sync/snapshot_sync.hpp"

namespace haes::sync_detail {

using nlohmann::json;

inline std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ",") + s;
  }
  return out;
}

// The failure of an ES call as an Error whose message says what we tried.
inline Error es_error(const std::string& what, const Result<es::Response>& r) {
  if (!r) {
    return Error{r.error().code, what + ": " + r.error().message};
  }
  return Error{"es_error", what + ": " + r->error_summary()};
}

// Field access on ES answers that never throws: a missing field, or one of
// another type than documented, reads as null.
inline const json& at(const json& j, const char* key) {
  static const json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}

inline std::vector<std::string> string_list(const json& j) {
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

}  // namespace haes::sync_detail

namespace haes {

// Marks the sync busy for one operation; clears the step at the end.
// At shutdown the io_context destroys suspended coroutine frames after the
// SnapshotSync is gone: then (stopped) the destructor touches nothing.
class SnapshotSync::Busy {
 public:
  Busy(SnapshotSync& s, std::string operation) : s_(s), stopped_(s.stopped_) {
    s_.busy_ = true;
    s_.status_.operation = std::move(operation);
  }
  ~Busy() {
    if (*stopped_) {
      return;
    }
    s_.busy_ = false;
    s_.status_.step.clear();
    s_.status_.operation.clear();
  }

 private:
  SnapshotSync& s_;
  std::shared_ptr<bool> stopped_;
};


}  // namespace haes
