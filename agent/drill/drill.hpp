#pragma once
// DrillRunner (docs/drills.md): a DR drill on command or on a schedule —
// planned switchover to the passive cluster (SnapshotSync::planned_switch,
// the one switchover path), documents written to and read back from a
// scratch index there, the index deleted, a planned switchover back — with a
// report. A step failing after the switchover cleans up and switches back,
// so the pair ends as the drill found it.
//
// Reports (the last drill.keep) live in a file beside the state file
// (<state.path>.drills), written atomically when a drill starts and after
// every step: a drill the agent did not finish (killed) is found there at
// the next start, marked failed and undone (the pair switched back when the
// roles had moved). Not in the state record: a report is history for
// operators, not something any verdict or transition reads, and would make
// every compare-and-swap of the state larger.
//
// Runs on the control thread (coroutines; parameters by value).
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <filesystem>
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
  // Loads the reports; undoes a drill left running (in the background,
  // once a health round is known); starts the schedule if drill.interval.
  void start();
  void stop();
  // One drill. Refused when another runs, or when the target is not ready
  // (unless `force`). The report is returned whether it passed or not;
  // an error only when it could not start.
  boost::asio::awaitable<Result<DrillReport>> run(std::string to, std::string actor, bool force);
  // The plan (for --dry-run).
  Result<DrillPlan> plan(const std::string& to) const;
  const std::vector<DrillReport>& reports() const { return reports_; }  // oldest first
  bool running() const { return running_; }
  const DrillStats& stats() const { return stats_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  boost::asio::awaitable<Result<std::string>> switch_to(std::string target, std::string actor, std::string reason);
  boost::asio::awaitable<Result<std::string>> scratch(std::string cluster, std::string method, std::string target,
                                                      std::string body);
  boost::asio::awaitable<void> step(DrillReport& r, DrillStep s, Result<std::string> outcome,
                                    std::chrono::steady_clock::time_point began);
  boost::asio::awaitable<void> recover(DrillReport r);
  boost::asio::awaitable<void> schedule();
  boost::asio::awaitable<void> journal(EventKind kind, std::string actor, std::string message);
  void save();

  boost::asio::io_context& io_;
  const Config& config_;
  DrillContext ctx_;
  std::filesystem::path path_;
  std::vector<DrillReport> reports_;
  std::vector<std::unique_ptr<es::ClusterClient>> clients_;  // config order
  DrillStats stats_;
  bool running_ = false;
  bool stopped_ = false;
  boost::asio::steady_timer wake_;
};

}  // namespace haes
