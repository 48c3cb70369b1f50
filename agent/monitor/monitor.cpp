#include "monitor/monitor.hpp"

#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "es/cluster_client.hpp"
#include "monitor/judge.hpp"

namespace haes {

namespace asio = boost::asio;

HealthMonitor::HealthMonitor(asio::io_context& ctx, const Config& config, RoundCallback on_round)
    : ctx_(ctx), config_(config), on_round_(std::move(on_round)), stopped_(std::make_shared<bool>(false)) {
  for (const auto& c : config_.clusters) {
    auto options = es::node_options(c, config_.failover.timeout, 1024 * 1024, /*warn_insecure=*/true);
    for (size_t k = 0; k < c.nodes.size(); ++k) {
      targets_.push_back(Target{c.name, c.nodes[k].name,
                                std::make_unique<es::NodeClient>(ctx_.get_executor(), std::move(options[k])), ""});
    }
  }
}

HealthMonitor::~HealthMonitor() { stop(); }

void HealthMonitor::start() {
  asio::co_spawn(ctx_, loop(), asio::detached);
}

void HealthMonitor::stop() {
  *stopped_ = true;
  if (sleep_) {
    sleep_->cancel();
  }
}

asio::awaitable<void> HealthMonitor::probe(Target& t, NodeObservation& out, std::shared_ptr<size_t> pending,
                                           asio::steady_timer& done) {
  auto stopped = stopped_;
  const auto deadline = std::chrono::steady_clock::now() + config_.failover.timeout;
  auto remaining = [&] {
    return std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
  };
  auto root = co_await t.client->request("GET", "/", {}, remaining());
  Result<es::Response> health = root.ok() ? Result<es::Response>(es::Response{}) : Result<es::Response>(root.error());
  if (root && !root->ok()) {
    // The root answers an error: judge it like a health answer would be.
    health = std::move(root);
  } else if (root) {
    if (root->json.is_object() && root->json.contains("version") && root->json["version"].is_object() &&
        root->json["version"].contains("number")) {
      const auto& number = root->json["version"]["number"];
      t.version = number.is_string() ? number.get<std::string>() : "";
    }
    auto left = remaining();
    if (left <= Duration(0)) {
      health = Error{"timeout", "no health answer within the timeout (GET / took it all)"};
    } else {
      // Let ES give up waiting for a master before our own deadline, so that
      // "no master" is reported as such rather than as a timeout.
      auto mt = std::max<int64_t>(left.count() * 3 / 4, 1);
      health = co_await t.client->request("GET", "/_cluster/health?master_timeout=" + std::to_string(mt) + "ms",
                                          {}, left);
    }
  }
  if (*stopped) {
    co_return;
  }
  std::string url = out.url;
  std::string name = out.name;
  out = judge_node(health);
  out.name = std::move(name);
  out.url = std::move(url);
  if (out.health == Health::kUnreachable && out.failure == ProbeFailure::kBadBody && root && !root->ok() &&
      root->status != 0) {
    out.failure = ProbeFailure::kHttpError;
  }
  if (--*pending == 0) {
    done.cancel();
  }
}

asio::awaitable<void> HealthMonitor::loop() {
  auto stopped = stopped_;
  sleep_ = std::make_unique<asio::steady_timer>(ctx_);
  while (!*stopped) {
    const auto started = std::chrono::steady_clock::now();
    HealthRound round;
    round.seq = ++seq_;
    round.at = now_sys();
    std::vector<NodeObservation> obs(targets_.size());
    auto pending = std::make_shared<size_t>(targets_.size());
    asio::steady_timer done(ctx_, asio::steady_timer::time_point::max());
    for (size_t i = 0; i < targets_.size(); ++i) {
      obs[i].name = targets_[i].node;
      for (const auto& c : config_.clusters) {
        if (c.name == targets_[i].cluster) {
          obs[i].url = c.find_node(targets_[i].node)->url.text;
        }
      }
      asio::co_spawn(ctx_, probe(targets_[i], obs[i], pending, done), asio::detached);
    }
    boost::system::error_code ec;
    if (*pending > 0) {
      co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (*stopped) {
      co_return;
    }
    ++counters_.rounds;
    size_t i = 0;
    for (const auto& c : config_.clusters) {
      std::vector<NodeObservation> nodes;
      for (size_t k = 0; k < c.nodes.size(); ++k, ++i) {
        const std::string key = c.name + "/" + obs[i].name;
        ++counters_.probes[key];
        if (obs[i].health == Health::kUnreachable) {
          ++counters_.failures[key][std::string(to_string(obs[i].failure))];
        }
        nodes.push_back(std::move(obs[i]));
      }
      round.clusters.push_back(judge_cluster(c.name, std::move(nodes)));
    }
    on_round_(round);
    sleep_->expires_at(started + config_.failover.interval);
    co_await sleep_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

std::string HealthMonitor::version_of(const std::string& cluster, const std::string& node) const {
  for (const auto& t : targets_) {
    if (t.cluster == cluster && t.node == node) {
      return t.version;
    }
  }
  return {};
}

}  // namespace haes
