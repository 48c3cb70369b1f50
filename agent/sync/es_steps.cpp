// SnapshotSync's Elasticsearch steps: repository, snapshot, restore, write
// blocks, retention, dangers. Each checks what it can and says what failed.
#include "sync/snapshot_sync.hpp"

#include <algorithm>

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

// ---- repository -------------------------------------------------------------

asio::awaitable<Result<void>> SnapshotSync::ensure_repositories(const Plan& p) {
  const auto& repo = sync_.repository;
  auto failed = [&](const std::string& cluster, Error e) {
    status_.repository[cluster] = "error: " + e.message;
    return e;
  };
  if (!repo.register_repository) {
    for (const auto& cluster : {p.target, p.source}) {
      step("checking repository " + repo.name + " on " + cluster);
      auto r = co_await client(cluster).request("GET", "/_snapshot/" + repo.name);
      if (!r || !r->ok()) {
        co_return failed(cluster, es_error("repository " + repo.name + " on " + cluster +
                                               " (sync.repository.register is false: register it yourself)",
                                           r));
      }
      status_.repository[cluster] = cluster == p.source ? "writer" : "readonly";
    }
    co_return Ok{};
  }
  // Order: the passive side is registered read-only first, so that after a
  // role change the old writer has stopped writing before the new writer
  // starts; the writer is registered and verified (its verification writes
  // a test blob, and creates an fs location); then the reader is verified.
  auto put = [&](const std::string& cluster, bool readonly) -> asio::awaitable<Result<void>> {
    step("registering repository " + repo.name + " on " + cluster + (readonly ? " (readonly)" : " (writer)"));
    json settings = repo.settings;
    if (readonly) {
      settings["readonly"] = true;
    } else {
      settings.erase("readonly");
    }
    json body = {{"type", repo.type}, {"settings", settings}};
    auto r = co_await client(cluster).request("PUT", "/_snapshot/" + repo.name, body.dump());
    if (!r || !r->ok()) {
      co_return failed(cluster, es_error("registering repository " + repo.name + " on " + cluster, r));
    }
    co_return Ok{};
  };
  auto verify = [&](const std::string& cluster) -> asio::awaitable<Result<void>> {
    step("verifying repository " + repo.name + " on " + cluster);
    auto v = co_await client(cluster).request("POST", "/_snapshot/" + repo.name + "/_verify");
    if (!v || !v->ok()) {
      co_return failed(cluster, es_error("verifying repository " + repo.name + " on " + cluster, v));
    }
    co_return Ok{};
  };
  if (auto r = co_await put(p.target, true); !r) {
    co_return r;
  }
  if (auto r = co_await put(p.source, false); !r) {
    co_return r;
  }
  // ES disables a writing registration that found the repository changed
  // by someone else ("... do not match its expected state"), and a PUT with
  // the same settings leaves it disabled. The other side is read-only now,
  // so re-create the writer's registration, as ES's troubleshooting guide
  // says; if it is disabled again at once, another cluster still writes.
  auto disabled = [&](const Result<es::Response>& r) {
    return r && r->status == 500 && r->es_type == "repository_exception" &&
           r->es_reason.find("expected state") != std::string::npos;
  };
  auto list_path = "/_snapshot/" + repo.name + "/_all?verbose=false";
  step("reading repository " + repo.name + " on " + p.source);
  if (auto l = co_await client(p.source).request("GET", list_path); disabled(l)) {
    auto msg = "repository " + repo.name + " on " + p.source +
               " was disabled by Elasticsearch: its contents changed behind the writer's back (another cluster "
               "or a person wrote it); " + p.target + " is registered read-only now, re-registering it on " +
               p.source;
    spdlog::warn("sync: {}", msg);
    hooks_.journal(Event{0, now_sys(), p.epoch, "repository_reregistered", "sync", msg});
    step("re-registering repository " + repo.name + " on " + p.source);
    auto d = co_await client(p.source).request("DELETE", "/_snapshot/" + repo.name);
    if (!d || !d->ok()) {
      co_return failed(p.source, es_error("unregistering disabled repository " + repo.name + " on " + p.source, d));
    }
    if (auto r = co_await put(p.source, false); !r) {
      co_return r;
    }
    if (auto again = co_await client(p.source).request("GET", list_path); disabled(again)) {
      co_return failed(p.source,
                       Error{"repository_disabled",
                             "repository " + repo.name + " on " + p.source +
                                 " is disabled again right after re-registration: another cluster is writing it; "
                                 "register it read-only (\"readonly\": true) everywhere but on " + p.source});
    }
  }
  if (auto r = co_await verify(p.source); !r) {
    co_return r;
  }
  if (auto r = co_await verify(p.target); !r) {
    co_return r;
  }
  status_.repository[p.source] = "writer";
  status_.repository[p.target] = "readonly";
  co_return Ok{};
}

asio::awaitable<void> SnapshotSync::check_dangers(const Plan& p) {
  status_.dangers.clear();
  auto r = co_await client(p.target).request("GET", "/_slm/policy");
  if (r && r->ok() && r->json.is_object() && !r->json.empty()) {
    std::string names;
    for (const auto& [k, v] : r->json.items()) {
      names += (names.empty() ? "" : ", ") + k;
    }
    status_.dangers.push_back("SLM policies on the passive cluster " + p.target + " (" + names +
                              "): their retention deletes snapshots, a write to the shared repository; "
                              "disable SLM on the passive side");
  }
}

// ---- snapshot and restore ---------------------------------------------------

asio::awaitable<Result<json>> SnapshotSync::take_snapshot(const Plan& p, const std::string& name) {
  const std::string repo = sync_.repository.name;
  auto& src = client(p.source);
  step("snapshot " + name + " of " + p.source);
  status_.last_snapshot = name;
  const auto started = std::chrono::steady_clock::now();
  json body = {{"indices", sync::index_expression(sync_.indices, sync_.include_system_indices)},
               {"include_global_state", false},
               {"partial", false},
               {"metadata", {{"taken_by", "haes"}, {"epoch", p.epoch}, {"cluster", p.source}}}};
  auto r = co_await src.request("PUT", "/_snapshot/" + repo + "/" + name + "?wait_for_completion=false", body.dump());
  if (!r || !r->ok()) {
    co_return es_error("starting snapshot " + name + " on " + p.source, r);
  }
  const auto deadline = started + sync_.timeout;
  constexpr int kMaxWatchServerErrors = 5;
  int server_errors = 0;
  for (;;) {
    auto g = co_await src.request("GET", "/_snapshot/" + repo + "/" + name);
    if (g && g->ok() && at(g->json, "snapshots").is_array() && !g->json["snapshots"].empty()) {
      const json& info = g->json["snapshots"][0];
      std::string state = info.contains("state") && info["state"].is_string() ? info["state"].get<std::string>() : "";
      if (state != "IN_PROGRESS" && state != "STARTED" && !state.empty()) {
        status_.last_snapshot_took =
            std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
        if (state != "SUCCESS") {
          std::string failures = at(info, "failures").is_null() ? "" : info["failures"].dump().substr(0, 300);
          co_return Error{"snapshot_" + std::string(state == "PARTIAL" ? "partial" : "failed"),
                          "snapshot " + name + " of " + p.source + " ended " + state +
                              (failures.empty() || failures == "[]" ? "" : " (failures: " + failures + ")") +
                              ": never restored"};
        }
        co_return info;
      }
    } else if (g && !g->ok()) {
      // A missing snapshot or a disabled repository is final; a 5xx of
      // another kind (a master election, an overloaded node) is retried a
      // few times, like a connection error, rather than failing the sync.
      if (g->status < 500 || g->es_type == "repository_exception" || ++server_errors >= kMaxWatchServerErrors) {
        co_return es_error("watching snapshot " + name + " on " + p.source, g);
      }
      spdlog::debug("sync: watching snapshot {}: {} (retrying)", name, g->error_summary());
    }
    if (g && g->ok()) {
      server_errors = 0;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      co_return Error{"timeout", "snapshot " + name + " of " + p.source + " still running after sync.timeout " +
                                     format_duration(sync_.timeout) + ": not restored"};
    }
    co_await sleep(std::chrono::milliseconds(200));
  }
}

asio::awaitable<Result<void>> SnapshotSync::red_only_where_restored(const Plan& p,
                                                                    const std::vector<std::string>& indices) {
  step("reading which indices are red on " + p.target);
  auto h = co_await client(p.target).request("GET", "/_cluster/health?level=indices");
  if (!h || !h->ok()) {
    co_return es_error("reading index health on the red passive cluster " + p.target, h);
  }
  auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  std::vector<std::string> ours, others;
  for (const auto& [name, idx] : at(h->json, "indices").items()) {
    if (at(idx, "status") == "red") {
      (has(indices, name) && has(left_red_.indices, name) ? ours : others).push_back(name);
    }
  }
  if (!others.empty()) {
    co_return Error{"target_unhealthy", "the passive cluster " + p.target + " is red in index(es) that no failed "
                                        "restore of ours left red (" + join(others) + "): not restoring into it; "
                                        "retrying next interval"};
  }
  if (!ours.empty()) {
    spdlog::warn("sync: the passive cluster {} is red only in index(es) our failed restore left red ({}): "
                 "restoring over them", p.target, join(ours));
  }
  co_return Ok{};
}

asio::awaitable<Result<void>> SnapshotSync::restore(const Plan& p, const std::string& name,
                                                    const std::vector<std::string>& indices, bool unblock_writes) {
  const std::string repo = sync_.repository.name;
  auto& dst = client(p.target);
  const auto started = std::chrono::steady_clock::now();
  if (indices.empty()) {
    status_.last_restore_took = Duration(0);
    co_return Ok{};
  }
  // Close the indices the restore replaces (ES refuses to restore over an
  // open index). Closing rather than deleting: if the restore fails, the
  // old copy is still there to reopen.
  step("closing " + std::to_string(indices.size()) + " index(es) on " + p.target + " before restore");
  auto cat = co_await dst.request("GET", "/_cat/indices?format=json");
  if (!cat || !cat->ok() || !cat->json.is_array()) {
    co_return es_error("listing indices on " + p.target, cat);
  }
  for (const auto& row : cat->json) {
    std::string idx = row.contains("index") && row["index"].is_string() ? row["index"].get<std::string>() : "";
    std::string st = row.contains("status") && row["status"].is_string() ? row["status"].get<std::string>() : "";
    if (st == "open" && std::find(indices.begin(), indices.end(), idx) != indices.end()) {
      if (!still(p)) {
        co_return roles_changed(p, "closing indices on " + p.target);
      }
      auto c = co_await dst.request("POST", "/" + idx + "/_close");
      if (!c || !c->ok()) {
        co_return es_error("closing " + idx + " on " + p.target, c);
      }
    }
  }
  if (!still(p)) {
    co_return roles_changed(p, "restoring into " + p.target);
  }
  step("restore " + name + " on " + p.target);
  left_red_ = {p.target, indices};  // until it ends well
  json body = {{"indices", join(indices)}, {"include_global_state", false}, {"include_aliases", true}};
  if (unblock_writes) {
    body["index_settings"] = {{"index.blocks.write", false}};
  }
  auto r = co_await dst.request("POST", "/_snapshot/" + repo + "/" + name + "/_restore?wait_for_completion=true",
                                body.dump(), sync_.timeout);
  if (!r || !r->ok()) {
    co_return es_error("restoring " + name + " on " + p.target, r);
  }
  const json& shards = at(at(r->json, "snapshot"), "shards");
  int64_t failed = shards.is_object() && shards.contains("failed") && shards["failed"].is_number_integer()
                       ? shards["failed"].get<int64_t>()
                       : -1;
  if (failed != 0) {
    co_return Error{"restore_failed",
                    "restore of " + name + " on " + p.target + ": " +
                        (failed < 0 ? "no shard counts in the answer" : std::to_string(failed) + " of " +
                                                                            at(shards, "total").dump() +
                                                                            " shards failed") +
                        " (HTTP " + std::to_string(r->status) + "); the passive data is NOT usable until the next sync"};
  }
  // Judged by the indices' health, not by the HTTP status alone.
  step("waiting for restored indices on " + p.target);
  auto h = co_await dst.request("GET", "/_cluster/health/" + join(indices) + "?wait_for_status=green&timeout=30s",
                                {}, std::chrono::seconds(40));
  std::string status = h && h->json.is_object() && h->json.contains("status") && h->json["status"].is_string()
                           ? h->json["status"].get<std::string>()
                           : "";
  if (status != "green" && status != "yellow") {
    co_return Error{"restore_unusable", "restored indices on " + p.target + " are not usable (health " +
                                            (status.empty() ? (h ? h->error_summary() : h.error().message) : status) +
                                            ")"};
  }
  left_red_ = {};
  status_.last_restore_took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
  co_return Ok{};
}

asio::awaitable<Result<void>> SnapshotSync::set_write_block(const std::string& cluster, bool on) {
  std::string expr = sync::index_expression(sync_.indices, sync_.include_system_indices);
  json body = {{"index.blocks.write", on}};
  auto r = co_await client(cluster).request("PUT", "/" + expr + "/_settings", body.dump());
  if (!r || !r->ok()) {
    co_return es_error(std::string(on ? "blocking" : "unblocking") + " writes on " + cluster, r);
  }
  co_return Ok{};
}

asio::awaitable<void> SnapshotSync::retention(const Plan& p) {
  step("retention on " + sync_.repository.name);
  auto r = co_await client(p.source).request("GET", "/_snapshot/" + sync_.repository.name + "/_all");
  if (!r || !r->ok() || !at(r->json, "snapshots").is_array()) {
    spdlog::warn("sync retention: cannot list snapshots: {}", es_error("listing", r).message);
    co_return;
  }
  std::vector<sync::SnapshotEntry> list;
  for (const auto& s : r->json["snapshots"]) {
    sync::SnapshotEntry e;
    e.name = s.contains("snapshot") && s["snapshot"].is_string() ? s["snapshot"].get<std::string>() : "";
    e.state = s.contains("state") && s["state"].is_string() ? s["state"].get<std::string>() : "";
    if (s.contains("start_time_in_millis") && s["start_time_in_millis"].is_number_integer()) {
      e.start = from_unix_ms(s["start_time_in_millis"].get<int64_t>());
    }
    list.push_back(std::move(e));
  }
  auto victims = sync::retention_victims(list, sync_.retention_keep, sync_.retention_max_age,
                                         hooks_.state().last_sync.snapshot, now_sys());
  for (const auto& v : victims) {
    if (!still(p)) {
      co_return;
    }
    auto d = co_await client(p.source).request("DELETE", "/_snapshot/" + sync_.repository.name + "/" + v, {},
                                               std::chrono::minutes(5));
    if (d && d->ok()) {
      ++status_.snapshots_deleted;
      spdlog::info("sync retention: deleted snapshot {} (keep {}, max_age {})", v, sync_.retention_keep,
                   format_duration(sync_.retention_max_age));
    } else {
      spdlog::warn("sync retention: {}", es_error("deleting snapshot " + v, d).message);
    }
  }
}

}  // namespace haes
