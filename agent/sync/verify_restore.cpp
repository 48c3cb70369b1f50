// SnapshotSync: restore verification under scratch names.
#include <spdlog/spdlog.h>

#include "sync/internal.hpp"

namespace haes {

namespace asio = boost::asio;
using nlohmann::json;
using sync::Method;
using sync::Write;

asio::awaitable<Result<std::string>> SnapshotSync::verify_restore(std::string actor) {
  const std::string who = "verify-restore by " + actor;
  auto waited = co_await wait_idle(SyncOperation::kVerifyRestore, who);
  if (!waited) {
    co_return waited.error();
  }
  Busy busy(*this, SyncOperation::kVerifyRestore);
  auto r = co_await run_verify(actor, false);
  if (r && !waited->empty()) {
    co_return *waited + "\n" + *r;
  }
  co_return r;
}

asio::awaitable<void> SnapshotSync::record_verify(bool ok, uint64_t epoch, std::string actor, std::string line) {
  if (stopping_) {
    spdlog::info("verify-restore stopped: {}", line);
    co_return;
  }
  status_.last_verify = line;
  status_.last_verify_at = now_sys();
  status_.last_verify_ok = ok;
  if (ok) {
    spdlog::info("{}", line);
  } else {
    spdlog::error("{}", line);
  }
  co_await journal(ok ? EventKind::kVerifyRestore : EventKind::kVerifyRestoreFailed, epoch, actor, line);
}

asio::awaitable<Result<std::string>> SnapshotSync::run_verify(std::string actor, bool automatic) {
  const uint64_t epoch = state().epoch;
  auto point = sync::verify_point(state());
  if (!point) {
    co_return point.error();
  }
  if (auto h = sync::hold_refusal(state().sync_hold)) {
    co_return Error{h->code, "verify-restore refused: it restores into the passive cluster and " + h->message};
  }
  const SyncPoint sp = *point;
  const std::string repo = sync_.repository.name;
  sync::Plan p;
  p.epoch = epoch;
  p.source = state().active;
  p.target = sp.target;
  p.automatic = automatic;
  guard_for(p);
  const std::string of = "verify-restore of " + sp.snapshot + " on " + sp.target;
  step("verify-restore " + sp.snapshot + " on " + sp.target);
  const sync::Read reading{sp.target, "reading snapshot " + sp.snapshot, "/_snapshot/" + repo + "/" + sp.snapshot};
  auto info = co_await read(reading);
  const auto& list = sync::at(info.body, "snapshots");
  if (!info.ok() || !list.is_array() || list.empty()) {
    Error e = sync::es_error("reading snapshot " + sp.snapshot, info);
    const std::string line = "verify-restore failed: " + e.message;
    co_await record_verify(false, epoch, actor, line);
    co_return e;
  }
  const std::vector<std::string> indices = sync::string_list(sync::at(list[0], "indices"));
  std::vector<std::string> scratch;
  for (const auto& idx : indices) {
    scratch.push_back(sync::scratch_name(idx));
  }
  // Every failure below is recorded; a guard refusal also says which
  // scratch indices it leaves behind (they are never deleted from a
  // cluster that became active).
  auto stopped = [&](const Error& refused, const std::vector<std::string>& left) {
    std::string line = of + " stopped: " + refused.message;
    if (!left.empty()) {
      line += "; scratch index(es) left on " + sp.target + ": " + sync::join(left) +
              " (delete them by hand once that is safe: DELETE /" + sync::join(left) + ")";
    }
    return Error{refused.code, line};
  };

  // Leftovers of an interrupted verification (same names) first: a restore
  // refuses to replace an open index.
  step("verify-restore: looking for leftover scratch indices on " + sp.target);
  const sync::Read listing{sp.target, "looking for leftover scratch indices", "/_cat/indices?format=json"};
  auto cat = co_await read(listing);
  auto leftovers = sync::present_indices(cat, scratch, sp.target);
  if (!leftovers) {
    const std::string line = of + " failed: " + leftovers.error().message;
    co_await record_verify(false, epoch, actor, line);
    co_return leftovers.error();
  }
  for (const auto& idx : *leftovers) {
    Write d = sync::make_write(SyncWrite::kScratchDelete, sp.target, "deleting the leftover " + idx, Method::kDelete,
                               "/" + idx);
    auto x = co_await write(std::move(d));
    if (!x) {
      Error e = stopped(x.error(), *leftovers);
      co_await record_verify(false, epoch, actor, e.message);
      co_return e;
    }
    if (!x->ok()) {
      Error e = sync::es_error(of + " failed: deleting the leftover scratch index " + idx, *x);
      co_await record_verify(false, epoch, actor, e.message);
      co_return e;
    }
  }

  step("verify-restore: restoring " + sp.snapshot + " under scratch names on " + sp.target);
  json body = {{"indices", sync::join(indices)},
               {"include_global_state", false},
               {"include_aliases", false},
               {"rename_pattern", "(.+)"},
               {"rename_replacement", std::string(sync::kScratchPrefix) + "$1"}};
  Write w = sync::make_write(
      SyncWrite::kScratchRestore, sp.target, "restoring " + sp.snapshot + " under scratch names", Method::kPost,
      "/_snapshot/" + repo + "/" + sp.snapshot + "/_restore?wait_for_completion=true", body.dump(), sync_.timeout);
  auto r = co_await write(std::move(w));
  if (!r) {
    Error e = stopped(r.error(), {});
    co_await record_verify(false, epoch, actor, e.message);
    co_return e;
  }
  std::string problems;
  if (auto judged = sync::judge_restore(*r, "restore under scratch names"); !judged) {
    problems = judged.error().message;
  }
  // Counting is only worth it while the scratch copies may still be
  // deleted afterwards.
  const sync::WriteIntent cleanup{SyncWrite::kScratchDelete, sp.target, "deleting the scratch indices"};
  std::string counts;
  if (problems.empty() && !guard().check(cleanup)) {
    step("verify-restore: counting documents on " + sp.target);
    std::vector<sync::IndexCounts> found;
    for (const auto& idx : indices) {
      const std::string copy = sync::scratch_name(idx);
      const sync::Read restored{sp.target, "counting " + copy, "/" + copy + "/_count"};
      auto a = co_await read(restored);
      const sync::Read synced{sp.target, "counting " + idx, "/" + idx + "/_count"};
      auto b = co_await read(synced);
      found.push_back(sync::IndexCounts{idx, sync::count_of(a), sync::count_of(b)});
    }
    sync::CountComparison c = sync::compare_counts(found, sp.target);
    counts = c.counts;
    problems = c.problems;
  }
  // Scratch indices are deleted whatever the outcome — through the guard:
  // after a role change they stay where they are, and the result says so.
  step("verify-restore: deleting the scratch indices on " + sp.target);
  std::string not_deleted;
  for (size_t i = 0; i < scratch.size(); ++i) {
    Write d = sync::make_write(SyncWrite::kScratchDelete, sp.target, "deleting " + scratch[i], Method::kDelete,
                               "/" + scratch[i]);
    auto x = co_await write(std::move(d));
    if (!x) {
      std::vector<std::string> left(scratch.begin() + static_cast<std::ptrdiff_t>(i), scratch.end());
      Error e = stopped(x.error(), left);
      co_await record_verify(false, epoch, actor, e.message);
      co_return e;
    }
    if (!x->ok() && x->status != 404) {
      not_deleted += (not_deleted.empty() ? "" : ", ") + scratch[i] + " (" + x->summary + ")";
    }
  }
  const std::string cleaned =
      not_deleted.empty() ? "scratch indices deleted" : "scratch index(es) NOT deleted: " + not_deleted;
  if (!problems.empty()) {
    const std::string line = of + " FAILED: " + problems + "; " + cleaned;
    co_await record_verify(false, epoch, actor, line);
    co_return Error{ErrorCode::kVerifyFailed, line};
  }
  const std::string line = of + " ok: " + std::to_string(indices.size()) +
                           " index(es) restored under scratch names, document counts match (" + counts + "), " +
                           cleaned;
  co_await record_verify(true, epoch, actor, line);
  co_return line;
}

}  // namespace haes
