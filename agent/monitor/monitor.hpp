#pragma once
// HealthMonitor: probes every node of every cluster once per
// failover.interval, each probe bounded by failover.timeout, all nodes in
// parallel; hands each complete round to a callback. Runs on the executor
// it is given (the agent's control thread); the callback runs there too.
//
// A probe is GET / (is it Elasticsearch, which version) then
// GET /_cluster/health?master_timeout=… on the same kept-alive connection;
// judge.hpp turns the answers into observations.
#include <utility>  // before Asio 1.74 awaitable.hpp, which uses std::exchange without it
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/health.hpp"
#include "config/config.hpp"
#include "es/client.hpp"

namespace haes {

// Counters the monitor keeps (read on the control thread for /metrics).
struct ProbeCounters {
  uint64_t rounds = 0;
  // per "cluster/node": probes and failures by ProbeFailure
  std::map<std::string, std::map<std::string, uint64_t>> failures;
  std::map<std::string, uint64_t> probes;
};

class HealthMonitor {
 public:
  using RoundCallback = std::function<void(const HealthRound&)>;
  // Throws std::runtime_error (start-up) when a cluster's TLS or auth
  // settings cannot be used; the message names the cluster and the setting.
  HealthMonitor(boost::asio::io_context& ctx, const Config& config, RoundCallback on_round);
  ~HealthMonitor();
  void start();
  void stop();
  const ProbeCounters& counters() const { return counters_; }
  // The version a node reported on GET / ("" until it answered).
  std::string version_of(const std::string& cluster, const std::string& node) const;

 private:
  struct Target {
    std::string cluster;
    std::string node;
    std::unique_ptr<es::NodeClient> client;
    std::string version;  // from GET /, for status
  };
  boost::asio::awaitable<void> loop();
  boost::asio::awaitable<void> probe(Target& t, NodeObservation& out, std::shared_ptr<size_t> pending,
                                     boost::asio::steady_timer& done);

  boost::asio::io_context& ctx_;
  const Config& config_;
  RoundCallback on_round_;
  std::vector<Target> targets_;
  ProbeCounters counters_;
  uint64_t seq_ = 0;
  std::shared_ptr<bool> stopped_;
  std::unique_ptr<boost::asio::steady_timer> sleep_;
};

}  // namespace haes
