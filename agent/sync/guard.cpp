#include "sync/guard.hpp"

namespace haes::sync {

namespace {

bool writes_passive_data(SyncWrite k) {
  return k == SyncWrite::kClose || k == SyncWrite::kRestore || k == SyncWrite::kScratchRestore ||
         k == SyncWrite::kScratchDelete;
}

}  // namespace

std::string touched_text(const std::string& target, const std::vector<WriteIntent>& sent) {
  if (target.empty()) {
    return "";
  }
  std::string done;
  for (const auto& w : sent) {
    if (w.cluster == target && w.kind != SyncWrite::kRepository) {
      done += (done.empty() ? "" : ", ") + w.what;
    }
  }
  return done.empty() ? target + " was not touched" : "already done on " + target + ": " + done;
}

namespace {

// The rules every step passes, write or read; `write` null for a read.
std::optional<Error> step_check(const Plan& plan, const State& now, const std::string& cluster, const std::string& what,
                                const SyncWrite* write, const std::vector<WriteIntent>& sent, const GuardContext& ctx) {
  const std::string touched = touched_text(plan.target, sent);
  const std::string stopped = "stopped before " + what + " on " + cluster + (touched.empty() ? "" : "; " + touched);
  if (ctx.stopping) {
    return Error{ErrorCode::kCancelled, "the agent is stopping: " + stopped};
  }
  if (now.epoch != plan.epoch || now.active != plan.source) {
    return Error{ErrorCode::kRolesChanged, "roles changed (epoch " + std::to_string(plan.epoch) + " -> " +
                                               std::to_string(now.epoch) + ", active " + plan.source + " -> " +
                                               (now.active.empty() ? "none" : now.active) + "): " + stopped};
  }
  if (write == nullptr || *write != SyncWrite::kUnblockWrites) {
    if (auto h = hold_refusal(now.sync_hold)) {
      return Error{ErrorCode::kSyncHeld, h->message + "; " + stopped};
    }
  }
  if (plan.automatic && ctx.may_run) {
    if (auto why = ctx.may_run()) {
      return Error{ErrorCode::kNotPermitted, "this agent may not run automatic work now (" + *why + "): " + stopped};
    }
  }
  if (write != nullptr && writes_passive_data(*write) && cluster == now.active) {
    return Error{ErrorCode::kInternal, "refused to send " + std::string(to_string(*write)) + " to the active cluster " +
                                           cluster + " (a planning error): " + stopped};
  }
  return std::nullopt;
}

}  // namespace

bool is_guard_refusal(ErrorCode c) {
  return c == ErrorCode::kCancelled || c == ErrorCode::kRolesChanged || c == ErrorCode::kSyncHeld ||
         c == ErrorCode::kNotPermitted;
}

std::optional<Error> guard_check(const Plan& plan, const State& now, const WriteIntent& w,
                                 const std::vector<WriteIntent>& sent, const GuardContext& ctx) {
  return step_check(plan, now, w.cluster, w.what, &w.kind, sent, ctx);
}

std::optional<Error> read_check(const Plan& plan, const State& now, const std::string& cluster, const std::string& what,
                                const std::vector<WriteIntent>& sent, const GuardContext& ctx) {
  return step_check(plan, now, cluster, what, nullptr, sent, ctx);
}

}  // namespace haes::sync
