// CCR mode's service (docs/ccr.md): its lifecycle, and the poll that reads
// the followers and, with sync.ccr.manage, sets them up. The moves
// (promotion, planned switchover, refollow): moves.cpp.
#include "ccr/service.hpp"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "sync/answers.hpp"
#include "sync/es_access.hpp"
#include "sync/naming.hpp"

namespace haes {

namespace asio = boost::asio;
using nlohmann::json;

CcrService::CcrService(asio::io_context& ctx, const Config& config, TransitionPipeline& pipeline, Changed changed)
    : io_(ctx),
      config_(config),
      ccr_(config.sync->ccr),
      pipeline_(pipeline),
      changed_(std::move(changed)),
      timer_(ctx) {
  status_.patterns = ccr_.indices;
  status_.poll_interval = ccr_.poll_interval;
  status_.manage = ccr_.manage;
  poll_clients_ = new_clients();
}

std::shared_ptr<CcrService::Clients> CcrService::new_clients() {
  auto cl = std::make_shared<Clients>();
  for (const auto& c : config_.clusters) {
    (*cl)[c.name] = std::make_unique<es::ClusterClient>(io_.get_executor(), c, ccr_.timeout, 16 * 1024 * 1024);
  }
  std::erase_if(live_, [](const auto& w) { return w.expired(); });
  live_.push_back(cl);
  if (stopping_) {
    for (auto& [name, c] : *cl) {
      c->shutdown();
    }
  }
  return cl;
}

CcrService::~CcrService() = default;

void CcrService::start() {
  const auto& patterns = config_.sync->ccr.indices;
  spdlog::info("ccr mode: indices {} followed on the passive cluster, polled every {}",
               patterns.empty() ? "*" : patterns.front() + (patterns.size() > 1 ? ",..." : ""),
               format_duration(config_.sync->ccr.poll_interval));
  asio::co_spawn(io_, loop(), asio::detached);
}

void CcrService::stop() {
  stopping_ = true;
  timer_.cancel();
  for (const auto& w : live_) {
    if (auto cl = w.lock()) {
      for (auto& [name, c] : *cl) {
        c->shutdown();
      }
    }
  }
}

asio::awaitable<void> CcrService::loop() {
  while (!stopping_) {
    co_await poll();
    timer_.expires_after(ccr_.poll_interval);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<sync::Answer> CcrService::request(std::shared_ptr<Clients> cl, std::string cluster, std::string method,
                                                  std::string path, std::string body) {
  auto it = cl->find(cluster);
  if (it == cl->end()) {
    sync::Answer a;
    a.transport = Error{ErrorCode::kInternal, "no configured cluster named " + cluster};
    co_return a;
  }
  auto r = co_await it->second->request(method, path, body);
  co_return sync::answer_of(r);
}

std::string CcrService::passive_of(const std::string& active) const {
  for (const auto& c : config_.clusters) {
    if (c.name != active) {
      return c.name;
    }
  }
  return "";
}

std::vector<std::string> CcrService::seeds_of(const std::string& cluster) const {
  std::vector<std::string> out;
  if (const ClusterConfig* c = config_.find_cluster(cluster)) {
    for (const auto& n : c->nodes) {
      const uint16_t port = ccr_.transport_port == 0 ? n.url.port : static_cast<uint16_t>(ccr_.transport_port);
      const bool v6 = n.url.host.find(':') != std::string::npos;
      out.push_back((v6 ? "[" + n.url.host + "]" : n.url.host) + ":" + std::to_string(port));
    }
  }
  return out;
}

asio::awaitable<Result<std::vector<ccr::FollowerInfo>>> CcrService::followers_of(std::shared_ptr<Clients> cl,
                                                                                 std::string cluster) {
  const std::string get = "GET";
  const std::string info_path = kFollowInfo;
  const std::string stats_path = kFollowStats;
  auto info = co_await request(cl, cluster, get, info_path);
  auto followers = ccr::parse_follow_info(info, cluster);
  if (!followers) {
    co_return followers.error();
  }
  auto st = co_await request(cl, cluster, get, stats_path);
  auto stats = ccr::parse_follow_stats(st, cluster);
  if (!stats) {
    co_return stats.error();
  }
  co_return ccr::with_task_followers(std::move(*followers), *stats);
}

asio::awaitable<ccr::Observation> CcrService::observe(std::shared_ptr<Clients> cl, std::string active,
                                                      std::string passive) {
  ccr::Observation obs;
  obs.active = active;
  obs.passive = passive;
  const std::string index_path = kIndexList;
  const std::string info_path = kFollowInfo;
  const std::string stats_path = kFollowStats;
  const std::string get = "GET";
  auto leaders = co_await request(cl, active, get, index_path);
  if (auto l = ccr::parse_index_names(leaders, active)) {
    obs.leader_indices = *l;
  } else {
    obs.errors.push_back(l.error().message);
  }
  auto info = co_await request(cl, passive, get, info_path);
  if (auto f = ccr::parse_follow_info(info, passive)) {
    obs.followers = *f;
  } else {
    obs.errors.push_back(f.error().message);
  }
  auto stats = co_await request(cl, passive, get, stats_path);
  if (auto st = ccr::parse_follow_stats(stats, passive)) {
    obs.stats = *st;
  } else {
    obs.errors.push_back(st.error().message);
  }
  if (obs.followers && obs.stats) {
    obs.followers = ccr::with_task_followers(std::move(*obs.followers), *obs.stats);
  }
  co_return obs;
}

asio::awaitable<void> CcrService::poll() {
  std::shared_ptr<Clients> cl = poll_clients_;
  const State s = pipeline_.state();
  if (s.active.empty() || passive_of(s.active).empty()) {
    status_.errors = {"no active cluster"};
    status_.read_ok = false;
    co_return;
  }
  ccr::Observation obs = co_await observe(cl, s.active, passive_of(s.active));
  if (stopping_) {
    co_return;
  }
  std::vector<std::string> setup = status_.setup;
  if (!s.is_fenced(obs.passive)) {
    co_await manage(cl, obs.passive, obs.active, obs);
    setup = status_.setup;
  } else {
    setup = {obs.passive + " is fenced: its indices follow " + obs.active + " again only after `haesctl ccr refollow`"};
  }
  if (!switching_) {
    co_await fence(cl);
  }
  if (!status_.blocked.empty() && std::chrono::steady_clock::now() - last_asked_at_ > 3 * ccr_.poll_interval) {
    status_.blocked.clear();  // no move asked for a while (the active cluster recovered, or a pause)
    last_failed_target_.clear();
    last_block_event_.clear();
  }
  ccr::CcrStatus next = ccr::judge(obs, ccr_.indices, caught_up_, now_sys());
  next.setup = setup;
  next.last_promotion = status_.last_promotion;
  next.last_promotion_at = status_.last_promotion_at;
  next.last_promotion_ms = status_.last_promotion_ms;
  next.blocked = status_.blocked;
  next.patterns = ccr_.indices;
  next.poll_interval = ccr_.poll_interval;
  next.manage = ccr_.manage;
  status_ = std::move(next);
  if (!status_.read_ok) {
    stats_.polls_failed.inc();
  }
  if (changed_) {
    changed_();
  }
}

asio::awaitable<void> CcrService::manage(std::shared_ptr<Clients> cl, std::string passive, std::string active,
                                         ccr::Observation obs) {
  const std::string alias = ccr::remote_alias(ccr_.remote_alias, active);
  std::vector<std::string> setup;
  if (!ccr_.manage) {
    const std::string path = "/_remote/info";
    const std::string get = "GET";
    auto a = co_await request(cl, passive, get, path);
    if (auto p = ccr::remote_problem(a, alias, passive)) {
      setup.push_back(*p);
    }
    const std::string patterns_path = "/_ccr/auto_follow";
    auto f = co_await request(cl, passive, get, patterns_path);
    if (auto p = ccr::auto_follow_problem(f, alias, ccr_.indices, passive)) {
      setup.push_back(*p);
    }
    status_.setup = setup;
    co_return;
  }
  const std::string key = passive + "<-" + active;
  if (managed_ != key) {
    const std::string put = "PUT";
    const std::string settings_path = "/_cluster/settings";
    const std::string settings = ccr::remote_settings_body(alias, seeds_of(active)).dump();
    auto r = co_await request(cl, passive, put, settings_path, settings);
    if (!r.ok()) {
      setup.push_back(sync::es_error("setting remote cluster " + alias + " on " + passive, r).message);
    } else {
      const std::string pattern_path = "/_ccr/auto_follow/" + ccr::auto_follow_name(alias);
      const std::string pattern = ccr::auto_follow_body(alias, ccr_.indices).dump();
      auto p = co_await request(cl, passive, put, pattern_path, pattern);
      if (!p.ok()) {
        setup.push_back(
            sync::es_error("auto-follow pattern " + ccr::auto_follow_name(alias) + " on " + passive, p).message);
      } else {
        managed_ = key;
        spdlog::info("ccr: remote cluster {} and auto-follow pattern {} set on {}", alias, ccr::auto_follow_name(alias),
                     passive);
      }
    }
  }
  // Leader indices that existed before the auto-follow pattern are not
  // followed by it (ES follows only new ones): follow them.
  if (managed_ == key && obs.leader_indices) {
    const std::string get = "GET";
    const std::string list_path = kIndexList;
    auto have = co_await request(cl, passive, get, list_path);
    auto names = ccr::parse_index_names(have, passive);
    if (names) {
      for (const auto& index : ccr::missing_followers(*names, *obs.leader_indices, ccr_.indices)) {
        const std::string put = "PUT";
        const std::string path = "/" + index + "/_ccr/follow?wait_for_active_shards=0";
        const std::string body = json{{"remote_cluster", alias}, {"leader_index", index}}.dump();
        auto f = co_await request(cl, passive, put, path, body);
        if (f.ok()) {
          spdlog::info("ccr: {} follows {}:{} now", passive, alias, index);
        } else {
          std::string what = "following ";
          what += alias;
          what += ":";
          what += index;
          what += " on ";
          what += passive;
          setup.push_back(sync::es_error(what, f).message);
        }
      }
    }
  }
  status_.setup = setup;
}

}  // namespace haes
