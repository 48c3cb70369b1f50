#pragma once
// CcrService: CCR mode's I/O (sync.mode: ccr, docs/ccr.md). Polls the
// passive cluster's follower indices every sync.ccr.poll_interval (and,
// with sync.ccr.manage, creates the remote cluster setting, the auto-follow
// pattern and the missing followers); promotes the followers of the new
// active cluster before a transition is stored (the TransitionPipeline's
// prepare step); re-follows on an operator's command. The decisions are
// ccr/rules.hpp's. Control thread only; never on the verdict path: status()
// is a copy the status model reads.
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "ccr/rules.hpp"
#include "common/change.hpp"
#include "config/config.hpp"
#include "es/cluster_client.hpp"
#include "metrics/stats.hpp"
#include "transitions/pipeline.hpp"

namespace haes {

struct CcrStats {
  EnumCounter<PromotionResult> promotions;
  Counter polls_failed;
  Gauge last_promotion_seconds;

  template <class V>
  void visit(V& v) const {
    v(promotions, "haes_ccr_promotions_total",
      "Promotions of follower indices before a move (ok; failed: the move was refused; forced: a forced failover "
      "went on without some).");
    v(polls_failed, "haes_ccr_polls_failed_total", "Polls of the follower indices that could not read everything.");
    v(last_promotion_seconds, "haes_ccr_last_promotion_seconds",
      "Duration of the last promotion (the RTO it adds to a failover).");
  }
};

class CcrService {
 public:
  using Changed = std::function<void()>;
  CcrService(boost::asio::io_context& ctx, const Config& config, TransitionPipeline& pipeline, Changed changed);
  ~CcrService();
  CcrService(const CcrService&) = delete;
  CcrService& operator=(const CcrService&) = delete;

  void start();
  void stop();
  const ccr::CcrStatus& status() const { return status_; }
  const CcrStats& stats() const { return stats_; }

  // The pipeline's prepare step: for a transition to a new active cluster,
  // promotes its followers of the patterns. Every index's steps are
  // journaled (added to the change's events). A failure refuses the move
  // (its events become the refusal), except a forced failover, which goes on
  // and says what was not promoted.
  boost::asio::awaitable<Result<void>> prepare(Change& change);

  // haesctl ccr refollow: on the passive cluster, snapshot (unless
  // `no_snapshot`), delete and follow again from the active cluster every
  // index of the patterns that is not a follower there. `dry_run` lists them.
  boost::asio::awaitable<Result<std::string>> refollow(bool dry_run, bool no_snapshot, std::string actor);

  // A planned move in CCR mode: block writes on the active cluster's
  // indices of the patterns, wait for every follower on `target` to have
  // read after the block and be 0 operations behind (up to sync.ccr.timeout),
  // then `switch_roles` (the controller and the pipeline: the promotion runs
  // there). Any failure before the switch unblocks the writes.
  using SwitchRoles = std::function<boost::asio::awaitable<Result<std::string>>()>;
  boost::asio::awaitable<Result<std::string>> planned_switch(std::string target, bool dry_run,
                                                             SwitchRoles switch_roles);

  // Several agents: whether this one may do the automatic work (fencing);
  // unset: always (one agent).
  void set_may_run(std::function<bool()> may_run) { may_run_ = std::move(may_run); }

 private:
  // What the poll and every operation read first (service.cpp, moves.cpp).
  static constexpr const char* kIndexList = "/_cat/indices?format=json&h=index,status";
  // Every follower: `*` as `_all` would, and `.ds-*` for data streams'
  // backing indices (hidden; followers_of also adds the follow tasks).
  static constexpr const char* kFollowInfo = "/*,.ds-*/_ccr/info";
  static constexpr const char* kDataStreams = "/_data_stream";
  static constexpr const char* kFollowStats = "/_ccr/stats";

  // One es::ClusterClient per cluster. A NodeClient keeps one connection
  // and takes one request at a time: the poll has its own set, every
  // operation (a promotion, a refollow, a planned move) makes a new one.
  using Clients = std::map<std::string, std::unique_ptr<es::ClusterClient>>;
  std::shared_ptr<Clients> new_clients();

  boost::asio::awaitable<void> loop();
  boost::asio::awaitable<void> poll();
  boost::asio::awaitable<void> manage(std::shared_ptr<Clients> cl, std::string passive, std::string active,
                                      ccr::Observation obs);
  boost::asio::awaitable<sync::Answer> request(std::shared_ptr<Clients> cl, std::string cluster, std::string method,
                                               std::string path, std::string body = {});
  // The follower indices of `cluster`: its follow info, plus the follow
  // tasks the info leaves out (a data stream's backing indices).
  boost::asio::awaitable<Result<std::vector<ccr::FollowerInfo>>> followers_of(std::shared_ptr<Clients> cl,
                                                                              std::string cluster);
  // One look at the pair: the active cluster's indices, the passive one's
  // followers and their stats (what ccr::judge reads).
  boost::asio::awaitable<ccr::Observation> observe(std::shared_ptr<Clients> cl, std::string active,
                                                   std::string passive);
  boost::asio::awaitable<ccr::PromotionReport> promote(std::shared_ptr<Clients> cl, std::string cluster);
  // After a runbook step failed: the index reopened and following again.
  boost::asio::awaitable<void> undo_runbook(std::shared_ptr<Clients> cl, std::string cluster, ccr::IndexPromotion& p);
  // One index's (or data stream's) steps in order, up to the first that fails.
  boost::asio::awaitable<ccr::IndexPromotion> run_steps(std::shared_ptr<Clients> cl, std::string cluster,
                                                        std::vector<ccr::StepRequest> steps);
  boost::asio::awaitable<Result<void>> set_write_block(std::shared_ptr<Clients> cl, std::string cluster, bool block);
  std::string passive_of(const std::string& active) const;
  std::vector<std::string> seeds_of(const std::string& cluster) const;
  void journal_soon(EventKind kind, std::string actor, std::string message);
  // Blocks writes on the fenced cluster's indices of the patterns, or lifts
  // the block from a cluster active again (ccr::fence_step), every poll.
  boost::asio::awaitable<void> fence(std::shared_ptr<Clients> cl);

  boost::asio::io_context& io_;
  const Config& config_;
  const CcrConfig& ccr_;
  TransitionPipeline& pipeline_;
  Changed changed_;
  std::shared_ptr<Clients> poll_clients_;
  std::vector<std::weak_ptr<Clients>> live_;  // shut down by stop()
  boost::asio::steady_timer timer_;
  ccr::CcrStatus status_;
  ccr::CaughtUp caught_up_;
  CcrStats stats_;
  std::string managed_;  // "passive<-active" already set up
  std::string last_block_event_;
  // The last refused automatic promotion: the controller asks again every
  // round; the promotion is tried again only every poll_interval.
  std::string last_failed_target_;
  std::chrono::steady_clock::time_point last_failed_at_{};
  Error last_failure_;
  std::chrono::steady_clock::time_point last_asked_at_{};  // the last prepare() of a move
  bool stopping_ = false;
  bool switching_ = false;
  std::function<bool()> may_run_;
  std::string last_fence_error_;  // logged once
  std::chrono::steady_clock::time_point next_fence_try_{};
};

}  // namespace haes
