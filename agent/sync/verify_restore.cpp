// SnapshotSync: restore verification under scratch names.
#include "sync/snapshot_sync.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "sync/internal.hpp"
#include "sync/naming.hpp"

namespace haes {

namespace asio = boost::asio;
using nlohmann::json;
using namespace sync_detail;

asio::awaitable<Result<std::string>> SnapshotSync::verify_restore(std::string actor) {
  if (busy_) {
    co_return Error{"busy", "a " + status_.operation + " is running (" + status_.step + "); try again when it ends"};
  }
  Busy busy(*this, "verify-restore");
  const State& s = hooks_.state();
  const SyncPoint sp = s.last_sync;
  auto record = [&](bool ok, const std::string& line) {
    status_.last_verify = line;
    status_.last_verify_at = now_sys();
    status_.last_verify_ok = ok;
    hooks_.journal(Event{0, now_sys(), s.epoch, ok ? "verify_restore" : "verify_restore_failed", actor, line});
    (ok ? spdlog::info("{}", line) : spdlog::error("{}", line));
  };
  if (sp.snapshot.empty()) {
    co_return Error{"never_synced", "nothing to verify: no sync has completed yet"};
  }
  if (sp.target == s.active) {
    co_return Error{"target_active", "the last synced snapshot " + sp.snapshot + " was restored on " + sp.target +
                                         ", which is active now; verify after the next sync into the passive cluster"};
  }
  auto& dst = client(sp.target);
  step("verify-restore " + sp.snapshot + " on " + sp.target);
  auto info = co_await dst.request("GET", "/_snapshot/" + sync_.repository.name + "/" + sp.snapshot);
  if (!info || !info->ok() || !at(info->json, "snapshots").is_array() || info->json["snapshots"].empty()) {
    Error e = es_error("reading snapshot " + sp.snapshot, info);
    record(false, "verify-restore failed: " + e.message);
    co_return e;
  }
  std::vector<std::string> indices = string_list(at(info->json["snapshots"][0], "indices"));
  const std::string prefix = "haes-verify-";
  json body = {{"indices", join(indices)},
               {"include_global_state", false},
               {"include_aliases", false},
               {"rename_pattern", "(.+)"},
               {"rename_replacement", prefix + "$1"}};
  auto r = co_await dst.request("POST", "/_snapshot/" + sync_.repository.name + "/" + sp.snapshot +
                                            "/_restore?wait_for_completion=true",
                                body.dump(), sync_.timeout);
  std::string problems;
  if (!r || !r->ok()) {
    problems = es_error("restore under scratch names", r).message;
  } else if (at(at(at(r->json, "snapshot"), "shards"), "failed") != json(0)) {
    problems = "restore under scratch names: " + at(at(r->json, "snapshot"), "shards").dump();
  }
  std::string counts;
  if (problems.empty()) {
    for (const auto& idx : indices) {
      auto a = co_await dst.request("GET", "/" + prefix + idx + "/_count");
      auto b = co_await dst.request("GET", "/" + idx + "/_count");
      auto count = [](const Result<es::Response>& x) -> int64_t {
        return x && x->ok() && x->json.contains("count") && x->json["count"].is_number_integer()
                   ? x->json["count"].get<int64_t>()
                   : -1;
      };
      int64_t ca = count(a), cb = count(b);
      counts += (counts.empty() ? "" : ", ") + idx + "=" + std::to_string(ca);
      if (ca < 0 || ca != cb) {
        problems += (problems.empty() ? "" : "; ") + idx + ": snapshot holds " + std::to_string(ca) +
                    " documents, the synced copy on " + sp.target + " " + std::to_string(cb);
      }
    }
  }
  // Scratch indices are deleted whatever the outcome.
  for (const auto& idx : indices) {
    (void)co_await dst.request("DELETE", "/" + prefix + idx);
  }
  if (!problems.empty()) {
    std::string line = "verify-restore of " + sp.snapshot + " on " + sp.target + " FAILED: " + problems;
    record(false, line);
    co_return Error{"verify_failed", line};
  }
  std::string line = "verify-restore of " + sp.snapshot + " on " + sp.target + " ok: " +
                     std::to_string(indices.size()) + " index(es) restored under scratch names, document counts match (" +
                     counts + "), scratch indices deleted";
  record(true, line);
  co_return line;
}

}  // namespace haes
