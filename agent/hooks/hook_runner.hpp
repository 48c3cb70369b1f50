#pragma once
// HookRunner: runs failover.on_role_change after each role change, one at a
// time and in order, on its own worker thread, so the control thread and the
// verdict path never wait for it.
//
// The command runs as `/bin/sh -c COMMAND` in its own process group with the
// agent's environment plus:
//   HAES_EVENT        failover | failback | switchover | forced_failover
//   HAES_OLD_ACTIVE   the cluster that held the role ("" if none)
//   HAES_NEW_ACTIVE   the cluster that holds it now ("" if none)
//   HAES_EPOCH        the new epoch
//   HAES_REASON       one line: why
//   HAES_CHANGED_BY   "controller" or "operator <user>@<host>"
// Past `timeout` the whole process group gets SIGKILL. Output (stdout and
// stderr, first 4 KiB) and the exit status are logged and passed to on_done.

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "common/change.hpp"
#include "common/enum_names.hpp"
#include "common/lock_guarded.hpp"
#include "common/time.hpp"
#include "metrics/stats.hpp"

namespace haes {

struct HookOutcome {
  int exit_code = -1;  // -1: did not exit normally (killed, or could not start)
  int signal = 0;      // the signal that ended it, if any
  bool timed_out = false;
  bool started = false;
  std::string output;  // first 4 KiB of stdout+stderr
  Duration took{0};
};

#define HAES_HOOK_RESULT_LIST(X) X(kOk, "ok") X(kFailed, "failed") X(kTimeout, "timeout")
HAES_ENUM(HookResult, uint8_t, "result", HAES_HOOK_RESULT_LIST)
HookResult result_of(const HookOutcome& o);

struct HookStats {
  EnumCounter<HookResult> runs;
  template <class V>
  void visit(V& v) const {
    v(runs, "haes_hook_runs_total", "on_role_change hook runs by result (timeout: killed after its timeout).");
  }
};

class HookRunner {
 public:
  using DoneFn = std::function<void(const RoleChange&, const HookOutcome&)>;

  // An empty command makes submit() a no-op. on_done runs on the worker thread.
  HookRunner(std::string command, Duration timeout, DoneFn on_done = {});
  ~HookRunner();  // finishes queued hooks (each bounded by the timeout), then joins
  HookRunner(const HookRunner&) = delete;
  HookRunner& operator=(const HookRunner&) = delete;

  // Never blocks on the hook: queues it.
  void submit(RoleChange change);
  const HookStats& stats() const { return stats_; }

 private:
  struct Queue {
    std::deque<RoleChange> items;
    bool stopping = false;
  };

  void run();
  HookOutcome execute(const RoleChange& change) const;

  std::string command_;
  Duration timeout_;
  DoneFn on_done_;
  HookStats stats_;
  LockGuarded<Queue> queue_;
  std::condition_variable wake_;
  std::thread worker_;
};

}  // namespace haes
