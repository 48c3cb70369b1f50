#include "transitions/pipeline.hpp"

#include <spdlog/spdlog.h>

namespace haes {

TransitionPipeline::TransitionPipeline(StateStore& store, Publish publish, Hook hook, std::string preferred)
    : store_(store), publish_(std::move(publish)), hook_(std::move(hook)), preferred_(std::move(preferred)) {}

boost::asio::awaitable<Result<std::optional<State>>> TransitionPipeline::load() { co_return co_await store_.load(); }

boost::asio::awaitable<Result<void>> TransitionPipeline::apply(Change change) {
  const State old = state_;
  if (change.next && change.transition && prepare_) {
    if (auto p = co_await prepare_(change); !p) {
      if (!change.events.empty()) {
        if (auto j = co_await store_.append_events(std::move(change.events)); !j) {
          spdlog::error("event journal: {}", j.error().message);
        }
      }
      co_return p.error();
    }
  }
  if (change.next) {
    auto rev = co_await store_.compare_and_swap(change.next->revision, *change.next);
    if (!rev) {
      const bool conflict = rev.error().code == ErrorCode::kConflict;
      stats_.store_writes.inc(conflict ? StoreWrite::kConflict : StoreWrite::kFailed);
      spdlog::error("state store write failed ({}): {}; nothing changed, verdicts unchanged",
                    to_string(rev.error().code), rev.error().message);
      co_return rev.error();
    }
    stats_.store_writes.inc(StoreWrite::kOk);
    if (*rev > state_.revision) {  // a newer state adopted meanwhile stays
      state_ = *change.next;
      state_.revision = *rev;
    }
  }
  if (!change.events.empty()) {
    for (const auto& e : change.events) {
      spdlog::info("event {} by {}: {}", to_string(e.kind), e.actor, e.message);
    }
    const size_t n = change.events.size();
    if (auto j = co_await store_.append_events(std::move(change.events)); !j) {
      stats_.journal_errors.inc(n);
      spdlog::error("event journal: {}", j.error().message);
    }
  }
  if (change.next && publish_) {
    publish_(state_);
  }
  if (change.next && change.transition) {
    stats_.transitions.inc(*change.transition);
    log_role_change(old, state_, *change.transition);
    if (hook_) {
      hook_(RoleChange{*change.transition, old.active, state_.active, state_.epoch, state_.reason, state_.changed_by});
    }
  }
  co_return Ok{};
}

void TransitionPipeline::adopt(const State& stored) {
  if (stored.revision < state_.revision) {
    return;  // older than what we hold (a late answer)
  }
  state_ = stored;
  if (publish_) {
    publish_(state_);
  }
}

boost::asio::awaitable<Result<void>> TransitionPipeline::reload() {
  auto loaded = co_await store_.load();
  if (!loaded) {
    co_return loaded.error();
  }
  if (loaded->has_value()) {
    adopt(**loaded);
  }
  co_return Ok{};
}

void TransitionPipeline::log_role_change(const State& old, const State& now, Transition t) const {
  std::string next_step;
  if ((t == Transition::kFailover || t == Transition::kForcedFailover) && !old.active.empty()) {
    next_step = " — " + old.active + " is fenced: when it is healthy again and you are ready, haesctl " +
                (old.active == preferred_ ? std::string("failback") : "switchover --to " + old.active);
  }
  spdlog::warn("ROLE CHANGE ({}): epoch {} → {}, active {} → {}; {}{}", to_string(t), old.epoch, now.epoch,
               old.active.empty() ? "none" : old.active, now.active.empty() ? "none" : now.active, now.reason,
               next_step);
}

}  // namespace haes
