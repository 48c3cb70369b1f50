// SnapshotSync's Elasticsearch steps: repository, snapshot, restore, write
// blocks, retention, dangers. Each sends its requests (writes only through
// the operation's guard) and hands the answers to the pure functions of
// answers.hpp / plan.hpp, which decide.
#include <spdlog/spdlog.h>

#include "sync/internal.hpp"
#include "sync/naming.hpp"

namespace haes {

namespace asio = boost::asio;
using nlohmann::json;
using sync::Answer;
using sync::Method;
using sync::Write;

// ---- repository -------------------------------------------------------------

asio::awaitable<Result<void>> SnapshotSync::put_repository(std::string cluster, bool readonly) {
  const auto& repo = sync_.repository;
  step("registering repository " + repo.name + " on " + cluster + (readonly ? " (readonly)" : " (writer)"));
  json settings = repo.settings;
  if (readonly) {
    settings["readonly"] = true;
  } else {
    settings.erase("readonly");
  }
  json body = {{"type", to_string(repo.type)}, {"settings", settings}};
  Write w = sync::make_write(SyncWrite::kRepository, cluster, "registering repository " + repo.name, Method::kPut,
                             "/_snapshot/" + repo.name, body.dump());
  auto r = co_await write(std::move(w));
  if (!r) {
    co_return r.error();
  }
  if (!r->ok()) {
    Error e = sync::es_error("registering repository " + repo.name + " on " + cluster, *r);
    status_.repository[cluster] = RepositoryState{RepositoryRole::kError, e.message};
    co_return e;
  }
  co_return Ok{};
}

asio::awaitable<Result<void>> SnapshotSync::verify_repository(std::string cluster) {
  const auto& repo = sync_.repository;
  step("verifying repository " + repo.name + " on " + cluster);
  // Verification writes a test blob (and creates an fs location): a write.
  Write w = sync::make_write(SyncWrite::kRepository, cluster, "verifying repository " + repo.name, Method::kPost,
                             "/_snapshot/" + repo.name + "/_verify");
  auto r = co_await write(std::move(w));
  if (!r) {
    co_return r.error();
  }
  if (!r->ok()) {
    Error e = sync::es_error("verifying repository " + repo.name + " on " + cluster, *r);
    status_.repository[cluster] = RepositoryState{RepositoryRole::kError, e.message};
    co_return e;
  }
  co_return Ok{};
}

asio::awaitable<Result<void>> SnapshotSync::ensure_repositories(sync::Plan p) {
  const auto& repo = sync_.repository;
  if (!repo.register_repository) {
    for (const std::string& cluster : {p.target, p.source}) {
      step("checking repository " + repo.name + " on " + cluster);
      const sync::Read rd{cluster, "reading repository " + repo.name, "/_snapshot/" + repo.name};
      auto r = co_await read(rd);
      if (!r.ok()) {
        Error e = sync::es_error(
            "repository " + repo.name + " on " + cluster + " (sync.repository.register is false: register it yourself)",
            r);
        status_.repository[cluster] = RepositoryState{RepositoryRole::kError, e.message};
        co_return e;
      }
      status_.repository[cluster] =
          RepositoryState{cluster == p.source ? RepositoryRole::kWriter : RepositoryRole::kReadonly, ""};
    }
    co_return Ok{};
  }
  // Order: the passive side is registered read-only first, so that after a
  // role change the old writer has stopped writing before the new writer
  // starts; the writer is registered and verified; then the reader is verified.
  if (auto r = co_await put_repository(p.target, true); !r) {
    co_return r;
  }
  if (auto r = co_await put_repository(p.source, false); !r) {
    co_return r;
  }
  // ES disables a writing registration that found the repository changed
  // by someone else ("... do not match its expected state"), and a PUT with
  // the same settings leaves it disabled. The other side is read-only now,
  // so re-create the writer's registration, as ES's troubleshooting guide
  // says; if it is disabled again at once, another cluster still writes.
  auto disabled = [](const Answer& a) {
    return !a.transport && a.status == 500 && a.es_type == "repository_exception" &&
           a.summary.find("expected state") != std::string::npos;
  };
  const std::string list_path = "/_snapshot/" + repo.name + "/_all?verbose=false";
  step("reading repository " + repo.name + " on " + p.source);
  const sync::Read rd{p.source, "listing repository " + repo.name, list_path};
  if (auto l = co_await read(rd); disabled(l)) {
    const std::string msg = "repository " + repo.name + " on " + p.source +
                            " was disabled by Elasticsearch: its contents changed behind the writer's back (another "
                            "cluster or a person wrote it); " +
                            p.target +
                            " is registered read-only now, "
                            "re-registering it on " +
                            p.source;
    spdlog::warn("sync: {}", msg);
    const std::string actor = "sync";
    co_await journal(EventKind::kRepositoryReregistered, p.epoch, actor, msg);
    step("re-registering repository " + repo.name + " on " + p.source);
    Write w = sync::make_write(SyncWrite::kRepository, p.source, "unregistering the disabled repository " + repo.name,
                               Method::kDelete, "/_snapshot/" + repo.name);
    auto d = co_await write(std::move(w));
    if (!d) {
      co_return d.error();
    }
    if (!d->ok()) {
      Error e = sync::es_error("unregistering disabled repository " + repo.name + " on " + p.source, *d);
      status_.repository[p.source] = RepositoryState{RepositoryRole::kError, e.message};
      co_return e;
    }
    if (auto r = co_await put_repository(p.source, false); !r) {
      co_return r;
    }
    if (auto again = co_await read(rd); disabled(again)) {
      Error e{ErrorCode::kRepositoryDisabled,
              "repository " + repo.name + " on " + p.source +
                  " is disabled again right after re-registration: another cluster is writing it; "
                  "register it read-only (\"readonly\": true) everywhere but on " +
                  p.source};
      status_.repository[p.source] = RepositoryState{RepositoryRole::kError, e.message};
      co_return e;
    }
  }
  if (auto r = co_await verify_repository(p.source); !r) {
    co_return r;
  }
  // With two repositories (sync.repository.copy) the target's may still be
  // empty, even absent, before the first copy: it is checked after each
  // copy instead, by reading the copied snapshot there.
  if (!copying()) {
    if (auto r = co_await verify_repository(p.target); !r) {
      co_return r;
    }
  }
  status_.repository[p.source] = RepositoryState{RepositoryRole::kWriter, ""};
  status_.repository[p.target] = RepositoryState{RepositoryRole::kReadonly, ""};
  co_return Ok{};
}

asio::awaitable<void> SnapshotSync::check_dangers(sync::Plan p) {
  status_.dangers.clear();
  const sync::Read rd{p.target, "reading SLM policies", "/_slm/policy"};
  auto r = co_await read(rd);
  if (r.ok() && r.body.is_object() && !r.body.empty()) {
    std::string names;
    for (const auto& [k, v] : r.body.items()) {
      names += (names.empty() ? "" : ", ") + k;
    }
    status_.dangers.push_back("SLM policies on the passive cluster " + p.target + " (" + names +
                              "): their retention deletes snapshots, a write to the shared repository; "
                              "disable SLM on the passive side");
  }
}

// ---- snapshot and restore ---------------------------------------------------

asio::awaitable<Result<json>> SnapshotSync::take_snapshot(sync::Plan p, std::string name) {
  const std::string repo = sync_.repository.name;
  step("snapshot " + name + " of " + p.source);
  status_.last_snapshot = name;
  const auto started = std::chrono::steady_clock::now();
  json body = {{"indices", sync::index_expression(sync_.indices, sync_.include_system_indices)},
               {"include_global_state", false},
               {"partial", false},
               {"metadata", {{"taken_by", "haes"}, {"epoch", p.epoch}, {"cluster", p.source}}}};
  Write w = sync::make_write(SyncWrite::kSnapshot, p.source, "snapshot " + name, Method::kPut,
                             "/_snapshot/" + repo + "/" + name + "?wait_for_completion=false", body.dump());
  auto r = co_await write(std::move(w));
  if (!r) {
    co_return r.error();
  }
  if (!r->ok()) {
    co_return sync::es_error("starting snapshot " + name + " on " + p.source, *r);
  }
  sync::SnapshotWatch watch{name, p.source, started + sync_.timeout, sync_.timeout, 0};
  // What the operation writes next: watching stops as soon as it would be
  // refused (the snapshot goes on in ES; nothing of ours waits for it).
  sync::WriteIntent next{SyncWrite::kRestore, p.target, "the restore"};
  for (;;) {
    const sync::Read rd{p.source, "watching snapshot " + name, "/_snapshot/" + repo + "/" + name};
    auto g = co_await read(rd);
    sync::WatchStep s = sync::judge_snapshot_poll(g, watch, std::chrono::steady_clock::now());
    if (s.verdict == sync::WatchVerdict::kSucceeded) {
      status_.last_snapshot_took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
      co_return s.info;
    }
    if (s.verdict == sync::WatchVerdict::kFailed) {
      status_.last_snapshot_took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
      co_return s.error;
    }
    if (stopping_) {
      co_return cancelled("watching snapshot " + name);
    }
    if (auto refused = guard().check(next)) {
      co_return *refused;
    }
    if (!g.ok()) {
      spdlog::debug("sync: watching snapshot {}: {} (retrying)", name, g.transport ? g.transport->message : g.summary);
    }
    co_await sleep(std::chrono::milliseconds(200));
  }
}

asio::awaitable<Result<void>> SnapshotSync::red_only_where_restored(sync::Plan p, std::vector<std::string> indices) {
  step("reading which indices are red on " + p.target);
  const sync::Read rd{p.target, "reading index health", "/_cluster/health?level=indices"};
  auto h = co_await read(rd);
  auto red = sync::red_indices_of(h, p.target);
  if (!red) {
    co_return red.error();
  }
  if (auto ok = sync::red_target_check(p.target, *red, indices, left_red_.indices); !ok) {
    co_return ok;
  }
  if (!red->empty()) {
    spdlog::warn(
        "sync: the passive cluster {} is red only in index(es) our failed restore left red ({}): "
        "restoring over them",
        p.target, sync::join(*red));
  }
  co_return Ok{};
}

asio::awaitable<Result<void>> SnapshotSync::restore(sync::Plan p, std::string name, std::vector<std::string> indices,
                                                    std::optional<bool> write_block) {
  const std::string repo = sync_.repository.name;
  const auto started = std::chrono::steady_clock::now();
  if (indices.empty()) {
    status_.last_restore_took = Duration(0);
    co_return Ok{};
  }
  // Close the indices the restore replaces (ES refuses to restore over an
  // open index). Closing rather than deleting: if the restore fails, the
  // old copy is still there to reopen.
  step("closing " + std::to_string(indices.size()) + " index(es) on " + p.target + " before restore");
  const sync::Read listing{p.target, "listing indices", "/_cat/indices?format=json"};
  auto cat = co_await read(listing);
  auto to_close = sync::indices_to_close(cat, indices, p.target);
  if (!to_close) {
    co_return to_close.error();
  }
  for (const auto& idx : *to_close) {
    Write w = sync::make_write(SyncWrite::kClose, p.target, "closing " + idx, Method::kPost, "/" + idx + "/_close");
    auto c = co_await write(std::move(w));
    // An index still being restored cannot be closed: a restore an earlier
    // run started (the agent was killed or restarted mid-restore) goes on in
    // Elasticsearch. Wait for it to end, within sync.timeout, saying so.
    const auto waiting_since = std::chrono::steady_clock::now();
    bool said = false;
    while (c && c->status == 400 && c->summary.find("being restored") != std::string::npos) {
      if (!said) {
        spdlog::warn(
            "sync: {} on {} is still being restored by an earlier restore (left running by an "
            "earlier run of the agent?): waiting for it to end before restoring over it",
            idx, p.target);
        said = true;
      }
      step("waiting for an earlier restore of " + idx + " on " + p.target + " to end");
      if (std::chrono::steady_clock::now() - waiting_since > sync_.timeout) {
        co_return Error{ErrorCode::kRestoreFailed, idx + " on " + p.target +
                                                       " is still being restored by an earlier restore after " +
                                                       format_duration(sync_.timeout) +
                                                       " (sync.timeout): not restoring over it; "
                                                       "retrying next interval"};
      }
      co_await sleep(std::chrono::milliseconds(500));
      // Named, not a temporary in the co_await (GCC 12 destroys those twice).
      Write again =
          sync::make_write(SyncWrite::kClose, p.target, "closing " + idx, Method::kPost, "/" + idx + "/_close");
      c = co_await write(std::move(again));
    }
    if (!c) {
      co_return c.error();
    }
    if (!c->ok()) {
      co_return sync::es_error("closing " + idx + " on " + p.target, *c);
    }
  }
  step("restore " + name + " on " + p.target);
  json body = {{"indices", sync::join(indices)}, {"include_global_state", false}, {"include_aliases", true}};
  if (write_block) {
    body["index_settings"] = {{"index.blocks.write", *write_block}};
  }
  Write w = sync::make_write(SyncWrite::kRestore, p.target, "restoring " + name, Method::kPost,
                             "/_snapshot/" + repo + "/" + name + "/_restore?wait_for_completion=true", body.dump(),
                             sync_.timeout);
  auto r = co_await write(std::move(w));
  if (!r) {
    co_return r.error();  // not sent
  }
  left_red_ = {p.target, indices};  // sent: until it ends well
  if (auto judged = sync::judge_restore(*r, "restore of " + name + " on " + p.target); !judged) {
    co_return judged;
  }
  // Judged by the indices' health, not by the HTTP status alone.
  step("waiting for restored indices on " + p.target);
  const sync::Read health{p.target, "waiting for the restored indices' health",
                          "/_cluster/health/" + sync::join(indices) + "?wait_for_status=green&timeout=30s",
                          std::chrono::seconds(40)};
  auto h = co_await read(health);
  if (h.transport && sync::is_guard_refusal(h.transport->code)) {
    co_return *h.transport;  // the restore was sent: left_red_ keeps its indices
  }
  if (auto usable = sync::judge_restored_health(h, p.target); !usable) {
    co_return usable;
  }
  left_red_ = {};
  status_.last_restore_took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
  co_return Ok{};
}

asio::awaitable<Result<void>> SnapshotSync::set_write_block(std::string cluster, bool on) {
  const std::string expr = sync::index_expression(sync_.indices, sync_.include_system_indices);
  json body = {{"index.blocks.write", on}};
  Write w = sync::make_write(on ? SyncWrite::kBlockWrites : SyncWrite::kUnblockWrites, cluster,
                             std::string(on ? "blocking" : "unblocking") + " writes", Method::kPut,
                             // allow_no_indices: block what exists (ES's default for
                             // settings updates refuses a wildcard matching nothing)
                             "/" + expr + "/_settings?allow_no_indices=true", body.dump());
  auto r = co_await write(std::move(w));
  if (!r) {
    co_return r.error();
  }
  if (!r->ok()) {
    co_return sync::es_error(std::string(on ? "blocking" : "unblocking") + " writes on " + cluster, *r);
  }
  co_return Ok{};
}

asio::awaitable<void> SnapshotSync::retention(sync::Plan p) {
  step("retention on " + sync_.repository.name);
  const sync::Read rd{p.source, "listing snapshots for retention", "/_snapshot/" + sync_.repository.name + "/_all"};
  auto r = co_await read(rd);
  auto list = sync::snapshot_entries(r);
  if (!list) {
    spdlog::warn("sync retention: cannot list snapshots: {}", list.error().message);
    co_return;
  }
  auto victims = sync::retention_victims(*list, sync_.retention_keep, sync_.retention_max_age,
                                         state().last_sync.snapshot, now_sys());
  for (const auto& v : victims) {
    Write w = sync::make_write(SyncWrite::kRetentionDelete, p.source, "deleting old snapshot " + v, Method::kDelete,
                               "/_snapshot/" + sync_.repository.name + "/" + v, {}, std::chrono::minutes(5));
    auto d = co_await write(std::move(w));
    if (!d) {
      co_return;  // refused (logged and counted by the guard): the next sync's retention deletes it
    }
    if (d->ok()) {
      stats_.snapshots_deleted.inc();
      spdlog::info("sync retention: deleted snapshot {} (keep {}, max_age {})", v, sync_.retention_keep,
                   format_duration(sync_.retention_max_age));
    } else {
      spdlog::warn("sync retention: {}", sync::es_error("deleting snapshot " + v, *d).message);
    }
  }
}

}  // namespace haes
