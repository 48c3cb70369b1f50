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

namespace {
std::vector<LabelSet> node_labels(const Config& config) {
  std::vector<LabelSet> out;
  for (const auto& c : config.clusters) {
    for (const auto& n : c.nodes) {
      out.push_back({{"cluster", c.name}, {"node", n.name}});
    }
  }
  return out;
}

std::vector<LabelSet> cluster_labels(const Config& config) {
  std::vector<LabelSet> out;
  for (const auto& c : config.clusters) {
    out.push_back({{"cluster", c.name}});
  }
  return out;
}

VitalsThresholds thresholds_of(const VitalsConfig& v) {
  VitalsThresholds t;
  t.disk_warning_percent = v.disk_warning_percent;
  t.disk_critical_percent = v.disk_critical_percent;
  t.heap_warning_percent = v.heap_warning_percent;
  return t;
}

// Vitals answers can be large (every node's stats): a bound of their own.
constexpr size_t kVitalsMaxBody = size_t{16} * 1024 * 1024;
}  // namespace

HealthMonitor::HealthMonitor(asio::io_context& ctx, const Config& config, RoundCallback on_round)
    : ctx_(ctx), config_(config), on_round_(std::move(on_round)), stopped_(std::make_shared<bool>(false)) {
  stats_.probes = PerLabel<Counter>(node_labels(config_));
  stats_.failures = PerLabel<EnumCounter<ProbeFailure>>(node_labels(config_));
  stats_.vitals_reads = PerLabel<EnumCounter<VitalsResult>>(cluster_labels(config_));
  for (const auto& c : config_.clusters) {
    auto options = es::node_options(c, config_.failover.timeout, 1024 * 1024, /*warn_insecure=*/true);
    for (size_t k = 0; k < c.nodes.size(); ++k) {
      targets_.push_back(Target{c.name, c.nodes[k].name,
                                std::make_unique<es::NodeClient>(ctx_.get_executor(), std::move(options[k])), ""});
    }
    ClusterVitals v;
    v.cluster = c.name;
    v.nodes_configured = c.nodes.size();
    vitals_.push_back(std::move(v));
    if (config_.vitals.interval.count() > 0) {
      VitalsTarget vt;
      auto vo = es::node_options(c, config_.vitals.timeout, kVitalsMaxBody, /*warn_insecure=*/false);
      for (size_t k = 0; k < c.nodes.size(); ++k) {
        vt.nodes.push_back(c.nodes[k].name);
        vt.clients.push_back(std::make_unique<es::NodeClient>(ctx_.get_executor(), std::move(vo[k])));
      }
      vt.sleep = std::make_unique<asio::steady_timer>(ctx_);
      vitals_targets_.push_back(std::move(vt));
    }
  }
}

HealthMonitor::~HealthMonitor() { stop(); }

void HealthMonitor::start() {
  asio::co_spawn(ctx_, loop(), asio::detached);
  for (size_t k = 0; k < vitals_targets_.size(); ++k) {
    asio::co_spawn(ctx_, vitals_loop(k), asio::detached);
  }
}

void HealthMonitor::stop() {
  *stopped_ = true;
  if (sleep_) {
    sleep_->cancel();
  }
  for (auto& vt : vitals_targets_) {
    vt.sleep->cancel();
  }
}

asio::awaitable<Result<VitalsReading>> HealthMonitor::read_vitals(size_t cluster, size_t node) {
  auto stopped = stopped_;
  es::NodeClient& client = *vitals_targets_[cluster].clients[node];
  const Duration timeout = config_.vitals.timeout;
  // Let ES give up waiting for a master before our own deadline, so that a
  // node cut off from the master says so (and the next node is tried).
  const std::string mt = std::to_string(std::max<int64_t>(timeout.count() * 3 / 4, 1)) + "ms";
  const std::string stats_target = "/_nodes/stats/fs,jvm";
  const std::string health_target = "/_cluster/health?master_timeout=" + mt;
  const std::string blocks_target = "/_cluster/state/blocks?master_timeout=" + mt;
  auto failed = [](const std::string& what, const Result<es::Response>& r) -> Error {
    if (!r) {
      return Error{r.error().code, what + ": " + r.error().message};
    }
    return Error{ErrorCode::kEsError, what + ": " + r->error_summary()};
  };
  auto stats = co_await client.request("GET", stats_target, {}, timeout);
  if (*stopped) {
    co_return Error{ErrorCode::kInternal, "stopped"};
  }
  if (!stats || !stats->ok()) {
    co_return failed("GET /_nodes/stats/fs,jvm", stats);
  }
  auto nodes = parse_nodes_stats(stats->json);
  if (!nodes) {
    co_return nodes.error();
  }
  auto health = co_await client.request("GET", health_target, {}, timeout);
  if (*stopped) {
    co_return Error{ErrorCode::kInternal, "stopped"};
  }
  if (!health || !health->ok()) {
    co_return failed("GET /_cluster/health", health);
  }
  auto details = parse_health_details(health->json);
  if (!details) {
    co_return details.error();
  }
  auto blocks = co_await client.request("GET", blocks_target, {}, timeout);
  if (*stopped) {
    co_return Error{ErrorCode::kInternal, "stopped"};
  }
  if (!blocks || !blocks->ok()) {
    co_return failed("GET /_cluster/state/blocks", blocks);
  }
  auto read_only = parse_flood_stage_blocks(blocks->json);
  if (!read_only) {
    co_return read_only.error();
  }
  VitalsReading r;
  r.nodes = std::move(*nodes);
  r.health = std::move(*details);
  r.read_only_indices = std::move(*read_only);
  // For passive readiness (readiness/): a failure here does not fail the vitals.
  const std::string indices_target = kCatIndicesTarget;
  const std::string settings_target = kSettingsTarget;
  auto indices = co_await client.request("GET", indices_target, {}, timeout);
  if (*stopped) {
    co_return Error{ErrorCode::kInternal, "stopped"};
  }
  auto settings = co_await client.request("GET", settings_target, {}, timeout);
  if (*stopped) {
    co_return Error{ErrorCode::kInternal, "stopped"};
  }
  if (!indices || !indices->ok()) {
    r.readiness_error = failed("GET /_cat/indices", indices).message;
  } else if (auto list = parse_cat_indices(indices->json); !list) {
    r.readiness_error = list.error().message;
  } else {
    r.indices = std::make_shared<const std::vector<IndexStat>>(std::move(*list));
  }
  if (!settings || !settings->ok()) {
    r.readiness_error += (r.readiness_error.empty() ? "" : "; ") + failed("GET /_cluster/settings", settings).message;
  } else if (auto limits = parse_allocation_limits(settings->json); !limits) {
    r.readiness_error += (r.readiness_error.empty() ? "" : "; ") + limits.error().message;
  } else {
    r.limits = *limits;
  }
  co_return r;
}

asio::awaitable<void> HealthMonitor::vitals_loop(size_t k) {
  auto stopped = stopped_;
  VitalsTarget& t = vitals_targets_[k];
  boost::system::error_code ec;
  // The first read waits one round: the health round goes first at start.
  t.sleep->expires_after(config_.failover.interval);
  co_await t.sleep->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  while (!*stopped) {
    const auto started = std::chrono::steady_clock::now();
    std::optional<VitalsReading> got;
    std::string errors;
    for (size_t i = 0; i < t.clients.size() && !got; ++i) {
      const size_t node = (t.current + i) % t.clients.size();
      auto r = co_await read_vitals(k, node);
      if (*stopped) {
        co_return;
      }
      if (r) {
        got = std::move(*r);
        got->from = t.nodes[node];
        t.current = node;
      } else {
        errors += (errors.empty() ? "" : "; ") + t.nodes[node] + ": " + r.error().message;
      }
    }
    ClusterVitals& v = vitals_[k];
    const VitalsLevel before = v.last ? v.judgement.level : VitalsLevel::kUnknown;
    const bool failed_before = !v.error.empty();
    ++v.attempts;
    v.attempt_at = now_sys();
    if (got) {
      got->at = v.attempt_at;
      v.judgement = judge_vitals(*got, v.nodes_configured, thresholds_of(config_.vitals));
      v.last = std::move(got);
      v.error.clear();
      stats_.vitals_reads.at(k).inc(VitalsResult::kOk);
      if (v.judgement.level != before || failed_before) {
        const std::string concerns = v.judgement.concerns.empty()
                                         ? ""
                                         : ": " + v.judgement.concerns.front().text +
                                               (v.judgement.concerns.size() > 1
                                                    ? " (+" + std::to_string(v.judgement.concerns.size() - 1) + " more)"
                                                    : "");
        spdlog::log(v.judgement.level >= VitalsLevel::kWarning ? spdlog::level::warn : spdlog::level::info,
                    "cluster {} vitals: {}{}", v.cluster, to_string(v.judgement.level), concerns);
      }
    } else {
      v.error = "no node answered the vitals requests (" + errors + ")";
      stats_.vitals_reads.at(k).inc(VitalsResult::kFailed);
      if (!failed_before) {
        spdlog::warn("cluster {} vitals: {}", v.cluster, v.error);
      }
    }
    t.sleep->expires_at(started + config_.vitals.interval);
    co_await t.sleep->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> HealthMonitor::probe(Target& t, NodeObservation& out, std::shared_ptr<size_t> pending,
                                           asio::steady_timer& done) {
  auto stopped = stopped_;
  const auto deadline = std::chrono::steady_clock::now() + config_.failover.timeout;
  auto remaining = [&] { return std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now()); };
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
      health = Error{ErrorCode::kTimeout, "no health answer within the timeout (GET / took it all)"};
    } else {
      // Let ES give up waiting for a master before our own deadline, so that
      // "no master" is reported as such rather than as a timeout.
      auto mt = std::max<int64_t>(left.count() * 3 / 4, 1);
      health =
          co_await t.client->request("GET", "/_cluster/health?master_timeout=" + std::to_string(mt) + "ms", {}, left);
    }
  }
  if (*stopped) {
    // Stopped mid-round: still count this probe as ended, so that the round
    // (waiting on `done`) ends and the io_context can run dry.
    if (--*pending == 0) {
      done.cancel();
    }
    co_return;
  }
  std::string url = out.url;
  std::string name = out.name;
  out = judge_node(health);
  out.name = std::move(name);
  out.url = std::move(url);
  out.version = t.version;
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
    stats_.rounds.inc();
    size_t i = 0;
    for (const auto& c : config_.clusters) {
      std::vector<NodeObservation> nodes;
      for (size_t k = 0; k < c.nodes.size(); ++k, ++i) {
        stats_.probes.at(i).inc();
        if (obs[i].health == Health::kUnreachable) {
          stats_.failures.at(i).inc(obs[i].failure);
        }
        nodes.push_back(std::move(obs[i]));
      }
      round.clusters.push_back(judge_cluster(c.name, std::move(nodes)));
    }
    co_await on_round_(std::move(round));
    sleep_->expires_at(started + config_.failover.interval);
    co_await sleep_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace haes
