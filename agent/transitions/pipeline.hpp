#pragma once
// TransitionPipeline: the only writer of the stored state (DESIGN.md: every
// transition is written to the StateStore before any verdict changes). Every
// change — the controller's decisions on health rounds, operator commands,
// sync hold and release, first start, the sync point, the write-block marker
// — is applied here, always in this order:
//   1. compare-and-swap in the store, from the revision of state();
//   2. journal the change's events;
//   3. publish the verdicts computed from the new state;
//   4. queue the on_role_change hook (only when the active role moved).
// A transition may first go through a prepare step (set_prepare; CCR mode:
// the new active cluster's follower indices are promoted, agent/ccr), run
// before step 1: it may add events to the change; its error refuses the
// change — only the events it left are journaled, nothing is stored.
// A failed compare-and-swap changes nothing: no journal entry, no publish,
// no hook, and state() keeps the last stored value. A change without `next`
// (a refusal, a notice) is only journaled.
//
// The compare-and-swap expects the revision the change was decided from
// (`next->revision`: a next state is a copy of the state it was decided on),
// so a decision made on a state that has moved since — another agent wrote,
// or another change of ours completed while this one was in flight —
// conflicts instead of overwriting it.
//
// Runs on one thread (the agent's control thread); not thread-safe. The
// etcd store plugs in behind StateStore; states written by other agents
// come in through adopt().

#include <functional>
#include <optional>
#include <string>

#include "common/change.hpp"
#include "common/enum_names.hpp"
#include "common/result.hpp"
#include "common/state.hpp"
#include "metrics/stats.hpp"
#include "store/state_store.hpp"

namespace haes {

#define HAES_STORE_WRITE_LIST(X) X(kOk, "ok") X(kConflict, "conflict") X(kFailed, "failed")
HAES_ENUM(StoreWrite, uint8_t, "result", HAES_STORE_WRITE_LIST)

struct PipelineStats {
  EnumCounter<StoreWrite> store_writes;
  EnumCounter<Transition> transitions;
  Counter journal_errors;

  template <class V>
  void visit(V& v) const {
    v(store_writes, "haes_store_writes_total",
      "State store writes by result (ok; conflict: another writer was first; failed: the store refused or was "
      "unreachable). A write that did not succeed changed nothing.");
    v(transitions, "haes_transitions_total", "Role changes since start, by kind.");
    v(journal_errors, "haes_journal_errors_total",
      "Events that could not be journaled (the state change itself was stored).");
  }
};

class TransitionPipeline {
 public:
  using Publish = std::function<void(const State&)>;
  using Hook = std::function<void(const RoleChange&)>;
  using Prepare = std::function<boost::asio::awaitable<Result<void>>(Change&)>;

  // `preferred` only words the role-change log line ("haesctl failback").
  TransitionPipeline(StateStore& store, Publish publish, Hook hook, std::string preferred);

  // The last stored state (with its revision), as this agent knows it.
  const State& state() const { return state_; }
  StateStore& store() { return store_; }
  const PipelineStats& stats() const { return stats_; }
  // The step every transition (a change with `transition`) goes through
  // before it is stored (see above). Set once, before the first apply().
  void set_prepare(Prepare prepare) { prepare_ = std::move(prepare); }

  // Reads the store at start-up (nullopt: never initialised). Errors:
  // corrupt, io_error, store_unreachable — the agent refuses to guess.
  boost::asio::awaitable<Result<std::optional<State>>> load();
  // Applies one change (see the order above). Errors: the store's
  // (conflict, io_error, ...), with nothing changed. `change` is copied in:
  // the caller's may be gone when this resumes.
  boost::asio::awaitable<Result<void>> apply(Change change);
  // Takes a state stored by someone else (a restart's stored state; another
  // agent's write seen through the store) and publishes it. No journal, no
  // hook: whoever wrote it did those.
  void adopt(const State& stored);
  // Re-reads the store after a conflict and adopts what it holds.
  boost::asio::awaitable<Result<void>> reload();

 private:
  void log_role_change(const State& old, const State& now, Transition t) const;

  StateStore& store_;
  Publish publish_;
  Hook hook_;
  Prepare prepare_;
  std::string preferred_;
  State state_;
  PipelineStats stats_;
};

}  // namespace haes
