#pragma once
// HealthMonitor: probes every node of every cluster once per
// failover.interval, each probe bounded by failover.timeout, all nodes in
// parallel; hands each complete round to a callback. Runs on the executor
// it is given (the agent's control thread); the callback runs there too.
//
// A probe is GET / (is it Elasticsearch, which version) then
// GET /_cluster/health?master_timeout=… on the same kept-alive connection;
// judge.hpp turns the answers into observations.
//
// Apart from the rounds, every vitals.interval, it reads each cluster's
// vitals (vitals/vitals.hpp): GET /_nodes/stats/fs,jvm, GET /_cluster/health
// and GET /_cluster/state/blocks from one node (the next one on any failure),
// on connections of their own, so a slow vitals answer never delays a round;
// vitals are never handed to the round callback (not on the verdict path).
// The first vitals read starts one failover.interval after start().
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>  // before Asio 1.74 awaitable.hpp, which uses std::exchange without it
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/health.hpp"
#include "config/config.hpp"
#include "es/client.hpp"
#include "metrics/stats.hpp"
#include "vitals/vitals.hpp"

namespace haes {

// The monitor's counters; per node, labelled {cluster, node}.
struct MonitorStats {
  Counter rounds;
  PerLabel<Counter> probes;
  PerLabel<EnumCounter<ProbeFailure>> failures;
  PerLabel<EnumCounter<VitalsResult>> vitals_reads;  // labelled {cluster}

  template <class V>
  void visit(V& v) const {
    v(rounds, "haes_health_rounds_total", "Completed health rounds.");
    v(probes, "haes_node_probes_total", "Probes sent, by node.");
    v(failures, "haes_node_probe_failures_total", "Failed probes by node and reason.");
    v(vitals_reads, "haes_vitals_reads_total",
      "Cluster vitals reads by cluster and result (ok: one node answered all three requests).");
  }
};

class HealthMonitor {
 public:
  // Called with each complete round; the next round starts once it returns
  // (it may wait on the state store).
  using RoundCallback = std::function<boost::asio::awaitable<void>(HealthRound)>;
  // Throws std::runtime_error (start-up) when a cluster's TLS or auth
  // settings cannot be used; the message names the cluster and the setting.
  HealthMonitor(boost::asio::io_context& ctx, const Config& config, RoundCallback on_round);
  // Stops probing: no callback after this. A round in flight ends when its
  // probes do (each within failover.timeout), a vitals read in flight when
  // its current request does (within vitals.timeout), so the io_context's
  // run() returns once they have.
  ~HealthMonitor();
  void start();
  void stop();
  const MonitorStats& stats() const { return stats_; }
  // Every configured cluster's vitals, in config order (control thread).
  const std::vector<ClusterVitals>& vitals() const { return vitals_; }

 private:
  struct Target {
    std::string cluster;
    std::string node;
    std::unique_ptr<es::NodeClient> client;
    std::string version;  // from GET /, for status
  };
  struct VitalsTarget {
    std::vector<std::string> nodes;  // configured names
    std::vector<std::unique_ptr<es::NodeClient>> clients;
    size_t current = 0;  // the node that answered last
    std::unique_ptr<boost::asio::steady_timer> sleep;
  };
  boost::asio::awaitable<void> loop();
  boost::asio::awaitable<void> vitals_loop(size_t cluster);
  boost::asio::awaitable<Result<VitalsReading>> read_vitals(size_t cluster, size_t node);
  boost::asio::awaitable<void> probe(Target& t, NodeObservation& out, std::shared_ptr<size_t> pending,
                                     boost::asio::steady_timer& done);

  boost::asio::io_context& ctx_;
  const Config& config_;
  RoundCallback on_round_;
  std::vector<Target> targets_;
  std::vector<VitalsTarget> vitals_targets_;  // empty when vitals.interval is 0s
  std::vector<ClusterVitals> vitals_;
  MonitorStats stats_;
  uint64_t seq_ = 0;
  std::shared_ptr<bool> stopped_;
  std::unique_ptr<boost::asio::steady_timer> sleep_;
};

}  // namespace haes
