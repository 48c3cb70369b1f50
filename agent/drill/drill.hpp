#pragma once
// DrillRunner (docs/drills.md): a DR drill on command or on a schedule —
// planned switchover to the passive cluster (SnapshotSync::planned_switch,
// the one switchover path), documents written to and read back from a
// scratch index there, the index deleted, a planned switchover back — with a
// report. A step failing after the switchover cleans up and switches back,
// so the pair ends as the drill found it.
//
// Reports (the last drill.keep) are a document of the state store
// ("drills": <state.path>.drills with the local store, <prefix>docs/drills
// with etcd), written when a drill starts and after every step, so every
// agent of the pair sees the same reports. A drill nobody finished (the
// agent killed, or, with several agents, the leader killed or cut off) is
// found there by whoever runs drills next — the same agent restarted, or
// the new leader — marked failed and undone (the pair switched back when the
// roles had moved). A leader that loses the leadership mid-drill stops at
// the next step and leaves the undoing to the new leader. Not in the state
// record: a report is history for operators, not something any verdict or
// transition reads, and would make every compare-and-swap of the state
// larger.
//
// Runs on the control thread (coroutines; parameters by value).
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/health.hpp"
#include "common/result.hpp"
#include "config/config.hpp"
#include "controller/controller.hpp"
#include "drill/plan.hpp"
#include "es/client.hpp"
#include "metrics/stats.hpp"
#include "readiness/readiness.hpp"
#include "transitions/pipeline.hpp"

namespace haes {

class SnapshotSync;
namespace es {
class ClusterClient;
}

#define HAES_DRILL_RESULT_LIST(X) X(kPassed, "passed") X(kFailed, "failed")
HAES_ENUM(DrillResult, uint8_t, "result", HAES_DRILL_RESULT_LIST)

struct DrillStats {
  EnumCounter<DrillResult> runs;
  template <class V>
  void visit(V& v) const {
    v(runs, "haes_drills_total", "DR drills run to their end, by result.");
  }
};

struct DrillContext {
  FailoverController& controller;
  TransitionPipeline& pipeline;
  SnapshotSync& sync;
  std::function<const HealthRound*()> latest_round;
  std::function<ReadinessVerdict()> readiness;
  // Whether this agent may run scheduled work (several agents: the leader).
  std::function<bool()> may_run_automatic;
};

class DrillRunner {
 public:
  DrillRunner(boost::asio::io_context& io, const Config& config, DrillContext ctx);
  ~DrillRunner();
  // Starts the watch (reloads the reports every few seconds; when this
  // agent may run drills and the last report was left running by an agent
  // that stopped, undoes it once a health round is known) and the schedule
  // if drill.interval.
  void start();
  void stop();
  // One drill. Refused when another runs, or when the target is not ready
  // (unless `force`). The report is returned whether it passed or not;
  // an error only when it could not start.
  boost::asio::awaitable<Result<DrillReport>> run(std::string to, std::string actor, bool force);
  // The plan (for --dry-run).
  Result<DrillPlan> plan(const std::string& to) const;
  // As last loaded or written (oldest first): a few seconds old at most.
  const std::vector<DrillReport>& reports() const { return reports_; }
  // Read from the store now (the cached list while this agent runs a drill).
  boost::asio::awaitable<Result<std::vector<DrillReport>>> fresh_reports();
  bool running() const { return running_; }
  const DrillStats& stats() const { return stats_; }
  // Where the reports are kept (for messages).
  std::string where() const;  // the store's place for them

 private:
  boost::asio::awaitable<Result<std::string>> switch_to(std::string target, std::string actor, std::string reason);
  // One request to `cluster`'s nodes, or (`front`) through drill.through
  // with that cluster's auth and tls: the answer whatever its status; an
  // error (naming method, target and where) only when none came.
  boost::asio::awaitable<Result<es::Response>> send(std::string cluster, std::string method, std::string target,
                                                    std::string body, bool front);
  std::string where(const std::string& cluster, bool front) const;  // "on dc2" / "through the front door URL"
  // send(), an answer that is not 2xx an error; the body.
  boost::asio::awaitable<Result<std::string>> scratch(std::string cluster, std::string method, std::string target,
                                                      std::string body, bool front = false);
  // DELETE <index> on `cluster`'s nodes: true deleted, false not there.
  boost::asio::awaitable<Result<bool>> delete_scratch(std::string cluster, std::string index);
  // The scratch index created through the front door, tried again while
  // front_door_not_routing_yet (at most kFrontDoorWait): how long it took.
  boost::asio::awaitable<Result<Duration>> create_through_front_door(std::string cluster, std::string target,
                                                                     std::string body);
  // GET <index>/_count on `cluster` (or through the front door): the count,
  // -1 when the index does not exist there (404 index_not_found_exception).
  boost::asio::awaitable<Result<int64_t>> count_on(std::string cluster, std::string index, bool front);
  boost::asio::awaitable<void> step(DrillReport& r, DrillStep s, Result<std::string> outcome,
                                    std::chrono::steady_clock::time_point began);
  boost::asio::awaitable<void> recover(DrillReport r);
  boost::asio::awaitable<void> watch();
  boost::asio::awaitable<void> schedule();
  boost::asio::awaitable<void> journal(EventKind kind, std::string actor, std::string message);
  boost::asio::awaitable<Result<std::vector<DrillReport>>> load();
  boost::asio::awaitable<void> save();
  // Stopping, or no longer the agent that may run drills (several agents:
  // the leadership lost): the drill in hand stops and is left to be undone.
  bool abandoned() const;
  void warn_once(const std::string& message);  // the watch would repeat it every period

  boost::asio::io_context& io_;
  const Config& config_;
  DrillContext ctx_;
  std::vector<DrillReport> reports_;
  std::vector<std::unique_ptr<es::ClusterClient>> clients_;  // config order
  std::vector<std::unique_ptr<es::ClusterClient>> front_;    // drill.through, per cluster (config order)
  DrillStats stats_;
  bool running_ = false;
  bool stopped_ = false;
  boost::asio::steady_timer wake_;
  boost::asio::steady_timer watch_timer_;
  std::string last_warning_;
};

}  // namespace haes
