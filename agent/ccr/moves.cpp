// CCR mode's moves (docs/ccr.md): the promotion of the followers before a
// role change (the pipeline's prepare step), a planned switchover that
// waits for lag 0 with writes blocked, and `haesctl ccr refollow`. The
// service's lifecycle and its poll: service.cpp.
#include "ccr/service.hpp"  // first: its <utility> goes ahead of Asio's awaitable.hpp

#include <algorithm>
#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "sync/answers.hpp"
#include "sync/es_access.hpp"
#include "sync/naming.hpp"

namespace haes {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::string spaced(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ", ") + s;
  }
  return out.empty() ? "none" : out;
}

int64_t ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

asio::awaitable<ccr::IndexPromotion> CcrService::run_steps(std::shared_ptr<Clients> cl, std::string cluster,
                                                           std::vector<ccr::StepRequest> steps) {
  ccr::IndexPromotion p;
  p.index = steps.front().index;
  for (const ccr::StepRequest& st : steps) {
    auto a = co_await request(cl, cluster, st.method, st.path);
    auto judged = ccr::judge_step(st, a, cluster);
    if (!judged) {
      p.ok = false;
      p.failed = st.step;
      p.error = judged.error().message;
      break;
    }
    p.done.push_back(st.step);
  }
  co_return p;
}

asio::awaitable<void> CcrService::undo_runbook(std::shared_ptr<Clients> cl, std::string cluster,
                                               ccr::IndexPromotion& p) {
  // Left as found: reopened if closed, following again if paused here (its
  // leader answering or not). Unfollowed is irreversible: nothing to undo.
  const auto last_close_or_open = std::find_if(p.done.rbegin(), p.done.rend(), [](PromoteStep s) {
    return s == PromoteStep::kClose || s == PromoteStep::kOpen;
  });
  const bool closed = last_close_or_open != p.done.rend() && *last_close_or_open == PromoteStep::kClose;
  const bool paused = std::find(p.done.begin(), p.done.end(), PromoteStep::kPauseFollow) != p.done.end();
  const bool unfollowed = std::find(p.done.begin(), p.done.end(), PromoteStep::kUnfollow) != p.done.end();
  const std::string post = "POST";
  bool open = true;
  if (closed) {
    const std::string open_path = "/" + p.index + "/_open";
    auto o = co_await request(cl, cluster, post, open_path);
    open = o.ok();
    p.error += std::string("; reopened: ") + (open ? "yes" : "NO (" + o.summary + ")");
  }
  if (open && (closed || paused) && !unfollowed) {
    const std::string resume_path = "/" + p.index + "/_ccr/resume_follow";
    auto r = co_await request(cl, cluster, post, resume_path);
    p.error += std::string("; following again: ") + (r.ok() ? "yes" : "no (" + r.summary + ")");
  }
}

asio::awaitable<ccr::PromotionReport> CcrService::promote(std::shared_ptr<Clients> cl, std::string cluster) {
  ccr::PromotionReport report;
  report.cluster = cluster;
  const std::string get = "GET";
  auto followers = co_await followers_of(cl, cluster);
  if (!followers) {
    report.errors.push_back(followers.error().message);
    co_return report;
  }
  const std::string streams_path = kDataStreams;
  auto ds = co_await request(cl, cluster, get, streams_path);
  auto streams = ccr::parse_data_streams(ds, cluster);
  if (!streams) {
    report.errors.push_back(streams.error().message);
    co_return report;
  }
  // Replicated data streams first: their write index is a follower that
  // cannot be closed until the stream is promoted and rolled over.
  std::vector<std::string> streams_failed;
  for (auto& group : ccr::by_target(ccr::data_stream_steps(*streams, *followers, ccr_.indices))) {
    ccr::IndexPromotion p = co_await run_steps(cl, cluster, std::move(group));
    p.data_stream = true;
    spdlog::log(p.ok ? spdlog::level::info : spdlog::level::err, "ccr: {}", ccr::index_event_text(p, cluster));
    if (!p.ok) {
      streams_failed.push_back(p.index);
    }
    report.indices.push_back(std::move(p));
  }
  // A stream that could not be promoted keeps its backing indices following
  // (unfollow cannot be undone, and its move is refused anyway).
  std::erase_if(*followers, [&](const ccr::FollowerInfo& f) {
    const std::string stream = ccr::backing_data_stream(f.index);
    return !stream.empty() && std::find(streams_failed.begin(), streams_failed.end(), stream) != streams_failed.end();
  });
  for (auto& group : ccr::by_target(ccr::promotion_steps(*followers, ccr_.indices))) {
    ccr::IndexPromotion p = co_await run_steps(cl, cluster, std::move(group));
    if (!p.ok) {
      co_await undo_runbook(cl, cluster, p);
    }
    spdlog::log(p.ok ? spdlog::level::info : spdlog::level::err, "ccr: {}", ccr::index_event_text(p, cluster));
    report.indices.push_back(std::move(p));
  }
  if (report.ok()) {
    // The promoted cluster must not start following the old one again
    // when it comes back: its auto-follow patterns are paused.
    const std::string patterns_path = "/_ccr/auto_follow";
    auto pats = co_await request(cl, cluster, get, patterns_path);
    const json& list = sync::at(pats.body, "patterns");
    if (pats.ok() && list.is_array()) {
      for (const auto& p : list) {
        const std::string name = sync::string_at(p, "name");
        const json& active = sync::at(sync::at(p, "pattern"), "active");
        if (name.empty() || (active.is_boolean() && !active.get<bool>())) {
          continue;
        }
        const std::string post = "POST";
        const std::string pause_path = "/_ccr/auto_follow/" + name + "/pause";
        auto r = co_await request(cl, cluster, post, pause_path);
        spdlog::info("ccr: auto-follow pattern {} on {} paused: {}", name, cluster, r.ok() ? "ok" : r.summary);
      }
    }
  }
  co_return report;
}

asio::awaitable<Result<void>> CcrService::prepare(Change& change) {
  if (!change.next || !change.transition || change.next->active.empty() ||
      change.next->active == pipeline_.state().active) {
    co_return Ok{};
  }
  const std::string target = change.next->active;
  const Transition kind = *change.transition;
  const std::string actor = change.next->changed_by.empty() ? "controller" : change.next->changed_by;
  const auto started = std::chrono::steady_clock::now();
  last_asked_at_ = started;
  if (actor == "controller" && target == last_failed_target_ && started - last_failed_at_ < ccr_.poll_interval) {
    change.events.clear();  // refused again without touching the followers (journaled already)
    co_return last_failure_;
  }
  std::shared_ptr<Clients> cl = new_clients();
  ccr::PromotionReport report = co_await promote(cl, target);
  const int64_t took = ms_since(started);
  stats_.last_promotion_seconds.set(static_cast<double>(took) / 1000.0);
  const SysTime now = now_sys();
  const uint64_t epoch = change.next->epoch;
  std::vector<Event> steps;
  for (const auto& p : report.indices) {
    steps.push_back(make_event(now, epoch, EventKind::kCcrPromotion, actor, ccr::index_event_text(p, target)));
  }
  status_.last_promotion_at = now;
  status_.last_promotion_ms = took;
  if (report.ok() || kind == Transition::kForcedFailover) {
    std::string line = report.summary() + " in " + std::to_string(took) + " ms";
    if (!report.ok()) {
      stats_.promotions.inc(PromotionResult::kForced);
      line = "forced " + std::string(to_string(kind)) + " goes on WITHOUT promoting every follower: " + line +
             " — not promoted: " + spaced(report.not_promoted()) +
             " (they stay followers of the old active cluster or closed; promote them by hand)";
      steps.push_back(make_event(now, epoch, EventKind::kCcrPromotion, actor, line));
    } else {
      stats_.promotions.inc(PromotionResult::kOk);
    }
    for (auto& e : steps) {
      change.events.push_back(std::move(e));
    }
    // A fence on the target (it was fenced, it becomes active): writes open
    // before it takes traffic. If that fails the move goes on and the poll
    // retries (ccr::fence_step: kLift).
    // Fenced without a marker too: a block may be on its way (fence()).
    const WriteBlock& wb = pipeline_.state().write_block;
    const bool marked = wb.fence && wb.cluster == target && change.next->write_block.cluster == target;
    if (marked || pipeline_.state().is_fenced(target)) {
      if (auto u = co_await set_write_block(cl, target, false); u) {
        if (marked) {
          change.next->write_block = WriteBlock{};
          change.events.push_back(make_event(now, epoch, EventKind::kUnfenceWrites, actor,
                                             "writes on " + target +
                                                 " were blocked when it was fenced; it becomes active: writes "
                                                 "unblocked"));
        }
      } else {
        spdlog::error("ccr: {} becomes active but unblocking its writes failed: {} — retried", target,
                      u.error().message);
      }
    }
    status_.last_promotion = line;
    status_.blocked.clear();
    last_failed_target_.clear();
    last_block_event_.clear();
    spdlog::warn("ccr: {}", line);
    if (changed_) {
      changed_();
    }
    co_return Ok{};
  }
  stats_.promotions.inc(PromotionResult::kFailed);
  const std::string why = std::string(to_string(kind)) + " to " + target + " refused: " + report.summary() +
                          " (a follower that cannot be promoted blocks the move; haesctl failover --to " + target +
                          " --force goes on without it)";
  status_.blocked = why;
  status_.last_promotion = why;
  change.events.clear();
  std::string key;  // the indices and steps that failed: journaled once, not every round
  for (const auto& p : report.indices) {
    if (!p.ok) {
      key += p.index + ":" + (p.failed ? std::string(to_string(*p.failed)) : "") + " ";
    }
  }
  for (const auto& e : report.errors) {
    key += e + " ";
  }
  if (key != last_block_event_) {
    last_block_event_ = key;
    change.events = std::move(steps);
    change.events.push_back(make_event(now, pipeline_.state().epoch, EventKind::kFailoverBlocked, actor, why));
  }
  spdlog::error("ccr: {}", why);
  if (changed_) {
    changed_();
  }
  last_failed_target_ = target;
  last_failed_at_ = std::chrono::steady_clock::now();
  last_failure_ = Error{ErrorCode::kPromotionFailed, why};
  co_return last_failure_;
}

void CcrService::journal_soon(EventKind kind, std::string actor, std::string message) {
  Change c;
  c.events.push_back(make_event(now_sys(), pipeline_.state().epoch, kind, std::move(actor), std::move(message)));
  asio::co_spawn(
      io_, [this, c]() -> asio::awaitable<void> { (void)co_await pipeline_.apply(c); }, asio::detached);
}

asio::awaitable<Result<void>> CcrService::set_write_block(std::shared_ptr<Clients> cl, std::string cluster,
                                                          bool block) {
  const std::string put = "PUT";
  // allow_no_indices: block what exists (ES's default for settings updates
  // refuses a wildcard matching nothing).
  const std::string path = "/" + sync::index_expression(ccr_.indices, false) + "/_settings?allow_no_indices=true";
  const std::string body = json{{"index.blocks.write", block}}.dump();
  auto r = co_await request(cl, cluster, put, path, body);
  if (!r.ok()) {
    co_return sync::es_error(std::string(block ? "blocking" : "unblocking") + " writes on " + cluster, r);
  }
  co_return Ok{};
}

asio::awaitable<void> CcrService::fence(std::shared_ptr<Clients> cl) {
  if (stopping_ || (may_run_ && !may_run_()) || std::chrono::steady_clock::now() < next_fence_try_) {
    co_return;
  }
  const ccr::FenceStep want = ccr::fence_step(pipeline_.state(), passive_of(pipeline_.state().active));
  if (want.action == ccr::FenceAction::kNone) {
    co_return;
  }
  const bool block = want.action == ccr::FenceAction::kBlock;
  // The block first, then the marker: a crash between the two leaves a
  // block without a marker, put again at the next start (idempotent).
  auto r = co_await set_write_block(cl, want.cluster, block);
  if (!r) {
    next_fence_try_ = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    if (r.error().message != last_fence_error_) {
      last_fence_error_ = r.error().message;
      if (block) {
        spdlog::error(
            "ccr fencing: {} lost the active role; blocking writes on its indices of the patterns failed: {} — "
            "clients that bypass HAProxy can still write there (and lose it at the refollow); retried every 5s",
            want.cluster, r.error().message);
      } else {
        spdlog::error("ccr fencing: {} is active again but unblocking its writes failed: {} — retried every 5s",
                      want.cluster, r.error().message);
      }
    }
    co_return;
  }
  last_fence_error_.clear();
  // Decided again on the state as it is now (it may have moved meanwhile).
  const State now_state = pipeline_.state();
  const ccr::FenceStep again = ccr::fence_step(now_state, passive_of(now_state.active));
  if (again.action != want.action || again.cluster != want.cluster) {
    if (block && now_state.active == want.cluster) {
      // It became active while the block was on its way (an operator's
      // failover back; its prepare step unblocked it before ours landed).
      auto u = co_await set_write_block(cl, want.cluster, false);
      spdlog::warn("ccr fencing: {} became active while its writes were being blocked: {}", want.cluster,
                   u ? std::string("unblocked again") : "UNBLOCKING FAILED: " + u.error().message + " — retried");
    }
    co_return;
  }
  Change c;
  c.next = now_state;
  c.next->write_block = block ? WriteBlock{want.cluster, now_sys(), "ccr", true} : WriteBlock{};
  const std::string msg =
      block ? "writes blocked on the indices of " + want.cluster + " matching the patterns (fenced: it lost the " +
                  "active role; a direct write would be deleted by `haesctl ccr refollow`); lifted if " + want.cluster +
                  " becomes active again"
            : "writes on " + want.cluster + " were blocked when it was fenced; it is active again: writes unblocked";
  c.events.push_back(
      make_event(now_sys(), now_state.epoch, block ? EventKind::kFenceWrites : EventKind::kUnfenceWrites, "ccr", msg));
  if (auto a = co_await pipeline_.apply(std::move(c)); !a) {
    spdlog::error("ccr fencing: recording the write-block marker failed: {} — retried", a.error().message);
    co_return;
  }
  spdlog::warn("ccr fencing: {}", msg);
}

asio::awaitable<Result<std::string>> CcrService::refollow(bool dry_run, bool no_snapshot, std::string actor) {
  std::shared_ptr<Clients> cl = new_clients();
  const State s = pipeline_.state();
  const std::string active = s.active;
  const std::string passive = passive_of(active);
  if (active.empty() || passive.empty()) {
    co_return Error{ErrorCode::kNoActive, "no active cluster: nothing to follow"};
  }
  const std::string alias = ccr::remote_alias(ccr_.remote_alias, active);
  const std::string get = "GET";
  const std::string list_path = kIndexList;
  auto pa = co_await request(cl, passive, get, list_path);
  auto passive_names = ccr::parse_index_names(pa, passive);
  if (!passive_names) {
    co_return passive_names.error();
  }
  auto followers = co_await followers_of(cl, passive);
  if (!followers) {
    co_return followers.error();
  }
  auto aa = co_await request(cl, active, get, list_path);
  auto active_names = ccr::parse_index_names(aa, active);
  if (!active_names) {
    co_return active_names.error();
  }
  const auto victims = ccr::refollow_victims(*passive_names, *followers, *active_names, ccr_.indices);
  const auto missing = ccr::missing_followers(*passive_names, *active_names, ccr_.indices);
  const bool snap = ccr_.snapshot_before_refollow && !no_snapshot && !victims.empty();
  const std::string repo = config_.sync->repository.name;
  const std::string snapshot =
      "haes-refollow-e" + std::to_string(s.epoch) + "-" + std::to_string(to_unix_ms(now_sys())) + "-" + passive;
  std::string snapshot_lc = snapshot;
  std::transform(snapshot_lc.begin(), snapshot_lc.end(), snapshot_lc.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (dry_run) {
    std::string out = "dry run: on " + passive + ", would delete " + std::to_string(victims.size()) +
                      " index(es): " + spaced(victims);
    std::vector<std::string> streams;
    for (const auto& d : ccr::refollow_deletions(victims)) {
      if (!d.data_stream.empty()) {
        streams.push_back(d.data_stream);
      }
    }
    out += streams.empty() ? "" : " (data streams deleted whole: " + spaced(streams) + ")";
    out += snap ? " (after snapshot " + snapshot_lc + " of them into repository " + repo + ")"
                : (victims.empty() ? "" : " (WITHOUT a snapshot)");
    out += "; then follow from " + active + " (remote " + alias + "): " + spaced([&] {
             auto all = victims;
             all.insert(all.end(), missing.begin(), missing.end());
             std::sort(all.begin(), all.end());
             return all;
           }());
    co_return out;
  }
  if (ccr_.manage) {
    const std::string put = "PUT";
    const std::string settings_path = "/_cluster/settings";
    const std::string settings = ccr::remote_settings_body(alias, seeds_of(active)).dump();
    auto r = co_await request(cl, passive, put, settings_path, settings);
    if (!r.ok()) {
      co_return sync::es_error("setting remote cluster " + alias + " on " + passive, r);
    }
  } else {
    const std::string remote_path = "/_remote/info";
    auto a = co_await request(cl, passive, get, remote_path);
    if (auto p = ccr::remote_problem(a, alias, passive)) {
      co_return Error{ErrorCode::kConfig, "refollow refused: " + *p + " (set it, or sync.ccr.manage: true)"};
    }
  }
  std::string done;
  if (snap && config_.sync->repository.register_repository) {
    const std::string put = "PUT";
    const std::string path = "/_snapshot/" + repo;
    const std::string body =
        json{{"type", to_string(config_.sync->repository.type)}, {"settings", config_.sync->repository.settings}}
            .dump();
    auto r = co_await request(cl, passive, put, path, body);
    if (!r.ok()) {
      co_return sync::es_error("refollow refused, nothing deleted: registering repository " + repo + " on " + passive,
                               r);
    }
  }
  if (snap) {
    const std::string put = "PUT";
    const std::string path = "/_snapshot/" + repo + "/" + snapshot_lc + "?wait_for_completion=true";
    const std::string body = json{{"indices", sync::join(victims)}, {"include_global_state", false}}.dump();
    auto r = co_await request(cl, passive, put, path, body);
    const std::string state = sync::string_at(sync::at(r.body, "snapshot"), "state");
    if (!r.ok() || state != "SUCCESS") {
      co_return Error{r.ok() ? ErrorCode::kSnapshotFailed : sync::es_error("", r).code,
                      "refollow refused, nothing deleted: snapshot " + snapshot_lc + " of " + spaced(victims) + " on " +
                          passive + " failed: " + (r.ok() ? "state " + state : r.summary)};
    }
    done = "snapshot " + snapshot_lc + " in repository " + repo + " holds them; ";
  }
  std::vector<std::string> followed;
  std::vector<std::string> failed;
  std::vector<std::string> all = victims;
  all.insert(all.end(), missing.begin(), missing.end());
  std::sort(all.begin(), all.end());
  std::set<std::string, std::less<>> not_deleted;
  for (const auto& deletion : ccr::refollow_deletions(victims)) {
    const std::string del = "DELETE";
    auto d = co_await request(cl, passive, del, deletion.path);
    if (!d.ok()) {
      for (const auto& index : deletion.indices) {
        not_deleted.insert(index);
        failed.push_back(index + " (delete " + deletion.path + ": " + d.summary + ")");
      }
    }
  }
  for (const auto& index : all) {
    if (not_deleted.contains(index)) {
      continue;
    }
    const std::string put = "PUT";
    const std::string path = "/" + index + "/_ccr/follow?wait_for_active_shards=1";
    const std::string body = json{{"remote_cluster", alias}, {"leader_index", index}}.dump();
    auto f = co_await request(cl, passive, put, path, body);
    if (f.ok()) {
      followed.push_back(index);
    } else {
      failed.push_back(index + " (follow: " + (f.transport ? f.transport->message : f.summary) + ")");
    }
  }
  if (ccr_.manage) {
    managed_.clear();  // the auto-follow pattern is set at the next poll
  }
  std::string msg = "ccr refollow on " + passive + " by " + actor + ": " + done + "deleted and followed from " +
                    active + " again: " + spaced(followed) + (failed.empty() ? "" : "; FAILED: " + spaced(failed));
  journal_soon(EventKind::kCcrRefollow, actor, msg);
  spdlog::warn("{}", msg);
  if (!failed.empty()) {
    co_return Error{ErrorCode::kEsError, msg};
  }
  co_return msg;
}

asio::awaitable<Result<std::string>> CcrService::planned_switch(std::string target, bool dry_run,
                                                                SwitchRoles switch_roles) {
  const State s = pipeline_.state();
  const std::string source = s.active;
  if (source == target) {
    co_return Error{ErrorCode::kAlreadyActive, target + " is already active (epoch " + std::to_string(s.epoch) + ")"};
  }
  if (switching_) {
    co_return Error{ErrorCode::kBusy, "a planned move in CCR mode is already running"};
  }
  if (dry_run) {
    co_return "dry run: would block writes on " + source + " (" + sync::index_expression(ccr_.indices, false) +
        "), wait until every follower on " + target + " has read after the block and is 0 operations behind (up to " +
        format_duration(ccr_.timeout) +
        "), promote them (replicated data streams promoted and rolled over; then pause_follow, close, unfollow, open), "
        "make " +
        target + " active; " + source + " keeps its write block until `haesctl ccr refollow` replaces its indices";
  }
  std::shared_ptr<Clients> cl = new_clients();
  {
    // Refused before any block when the target cannot catch up at all: a
    // leader index without a follower there (after a failover: refollow first).
    const std::string get = "GET";
    const std::string list_path = kIndexList;
    auto li = co_await request(cl, source, get, list_path);
    auto leaders = ccr::parse_index_names(li, source);
    auto followers = co_await followers_of(cl, target);
    if (!leaders || !followers) {
      co_return Error{ErrorCode::kTargetUnhealthy,
                      "switchover to " + target +
                          " not started: " + (!leaders ? leaders.error().message : followers.error().message)};
    }
    std::vector<std::string> have;
    for (const auto& f : *followers) {
      have.push_back(f.leader_index);
    }
    const auto missing = ccr::missing_followers(have, *leaders, ccr_.indices);
    if (!missing.empty()) {
      co_return Error{ErrorCode::kTargetUnhealthy, "switchover to " + target + " not started: " + target +
                                                       " does not follow " + spaced(missing) + " of " + source +
                                                       " (after a failover: haesctl ccr refollow first)"};
    }
  }
  switching_ = true;
  struct Done {
    bool& f;
    ~Done() { f = false; }
  } done{switching_};
  auto unblock_after = [&](Error e) -> asio::awaitable<Error> {
    auto u = co_await set_write_block(cl, source, false);
    e.message += u ? "; writes on " + source + " unblocked, it stays active"
                   : "; UNBLOCKING WRITES ON " + source + " FAILED: " + u.error().message;
    co_return e;
  };
  const auto blocked_at = std::chrono::steady_clock::now();
  if (auto b = co_await set_write_block(cl, source, true); !b) {
    Error e{b.error().code, "switchover to " + target + " not started: " + b.error().message};
    co_return co_await unblock_after(e);
  }
  spdlog::warn("ccr switchover: writes on {} are blocked until {} has caught up and takes over", source, target);
  const auto deadline = blocked_at + ccr_.timeout;
  std::string last;
  bool caught_up = false;
  while (!stopping_) {
    const ccr::Observation obs = co_await observe(cl, source, target);
    ccr::CaughtUp scratch;
    const ccr::CcrStatus now = ccr::judge(obs, ccr_.indices, scratch, now_sys());
    const int64_t since_block = ms_since(blocked_at);
    bool all = now.read_ok && now.not_followed.empty();
    last = !now.read_ok
               ? spaced(now.errors)
               : (!now.not_followed.empty() ? "not followed on " + target + ": " + spaced(now.not_followed) : "");
    for (const auto& l : now.indices) {
      const bool ok = l.status == FollowStatus::kActive && l.operations_behind == 0 && l.since_last_read_ms >= 0 &&
                      l.since_last_read_ms < since_block;
      if (!ok) {
        all = false;
        if (last.empty()) {
          last = l.index + " is " + std::to_string(l.operations_behind) + " operation(s) behind";
        }
      }
    }
    if (all) {
      caught_up = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    timer_.expires_after(std::chrono::milliseconds(200));
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!caught_up) {
    Error e{ErrorCode::kTimeout, "switchover to " + target + " rolled back: the followers did not catch up within " +
                                     format_duration(ccr_.timeout) + " (" + last + ")"};
    co_return co_await unblock_after(e);
  }
  const int64_t waited = ms_since(blocked_at);
  auto sw = co_await switch_roles();
  if (!sw) {
    Error e{sw.error().code, "switchover to " + target + " rolled back: " + sw.error().message};
    co_return co_await unblock_after(e);
  }
  // A leader's index settings may have reached the followers: writes open on
  // the new active cluster.
  (void)co_await set_write_block(cl, target, false);
  const int64_t window = ms_since(blocked_at);
  co_return *sw + "\nccr switchover " + source + " -> " + target + " without loss: followers caught up " +
      std::to_string(waited) + " ms after the write block; writes were unavailable for " + std::to_string(window) +
      " ms; " + source + " keeps its write block until `haesctl ccr refollow` replaces its indices";
}

}  // namespace haes
