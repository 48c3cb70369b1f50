#include "cluster/coordinator.hpp"

#include <map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "config/schema.hpp"
#include "es/client.hpp"

namespace haes::cluster {

namespace asio = boost::asio;

namespace {

Steady steady_now() { return std::chrono::steady_clock::now(); }

asio::awaitable<void> sleep_on(asio::steady_timer& t, Duration d) {
  t.expires_after(d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

Coordinator::Coordinator(asio::io_context& io, etcd::EtcdStore& store, CoordinatorOptions options, Hooks hooks)
    : io_(io), store_(store), options_(std::move(options)), hooks_(std::move(hooks)) {
  store_.set_agent(options_.name);
  auto p = peer_status_.lock();
  p->name = options_.name;
  p->stale_after = options_.window.stale_after;
}

Coordinator::~Coordinator() { stop(); }

void Coordinator::start() {
  poll_timer_ = std::make_unique<asio::steady_timer>(io_);
  lease_timer_ = std::make_unique<asio::steady_timer>(io_);
  asio::co_spawn(io_, poll_loop(), asio::detached);
  asio::co_spawn(io_, lease_loop(), asio::detached);
}

void Coordinator::stop() {
  stopped_ = true;
  if (poll_timer_) {
    poll_timer_->cancel();
  }
  if (lease_timer_) {
    lease_timer_->cancel();
  }
  store_.client().close();
}

std::vector<std::string> Coordinator::other_members() const {
  std::vector<std::string> out;
  if (view_ && view_->members) {
    for (const auto& [name, m] : view_->members->agents) {
      if (name != options_.name) {
        out.push_back(name);
      }
    }
  }
  return out;
}

std::vector<AgentSeen> Coordinator::seen(const std::string& active) const {
  std::vector<AgentSeen> out;
  bool self = false;
  auto add = [&](const etcd::AgentRecord& r) {
    AgentSeen a;
    a.agent = r.name;
    for (const auto& c : r.clusters) {
      if (c.name == active) {
        a.bad_rounds = c.bad_rounds;
        a.red = c.red;
        a.unreachable = c.unreachable;
      }
    }
    out.push_back(std::move(a));
  };
  if (view_) {
    for (const auto& r : view_->agents) {
      self = self || r.name == options_.name;
      if (r.name == options_.name) {
        continue;  // ours: fresher from the hook below
      }
      add(r);
    }
  }
  if (hooks_.record) {
    add(hooks_.record());
  }
  (void)self;
  return out;
}

void Coordinator::learned(Steady at) { clock_.learned_at = at; }

void Coordinator::on_state(const State& s, Steady at) {
  if (!epoch_known_ || s.epoch != epoch_seen_ || s.active != active_seen_) {
    epoch_known_ = true;
    epoch_seen_ = s.epoch;
    active_seen_ = s.active;
    clock_.learned_at = at;
  }
  update_peer_status();
}

void Coordinator::update_peer_status() {
  auto p = peer_status_.lock();
  p->epoch = epoch_seen_;
  p->active = active_seen_;
  p->leader = view_ ? view_->leader : "";
}

std::string Coordinator::peer_answer_json() const {
  auto p = peer_status_.lock();
  const Steady now = steady_now();
  nlohmann::json j = {
      {"name", p->name},
      {"epoch", p->epoch},
      {"active", p->active},
      {"leader", p->leader},
      {"store_reachable", p->store_reachable(now)},
      {"view_age_ms", p->last_read_ok_start
                          ? std::chrono::duration_cast<std::chrono::milliseconds>(now - *p->last_read_ok_start).count()
                          : -1}};
  return j.dump();
}

void Coordinator::publish_soon() {
  if (publish_pending_ || stopped_ || lease_ == 0) {
    return;
  }
  publish_pending_ = true;
  asio::co_spawn(io_, publish(), asio::detached);
}

asio::awaitable<void> Coordinator::publish() {
  publish_pending_ = false;
  if (!hooks_.record || lease_ == 0) {
    co_return;
  }
  etcd::AgentRecord r = hooks_.record();
  const int64_t lease = lease_;
  if (auto p = co_await store_.publish(std::move(r), lease); !p) {
    spdlog::debug("etcd: publishing this agent's record: {}", p.error().message);
  }
}

asio::awaitable<void> Coordinator::poll_loop() {
  while (!stopped_) {
    const Steady t0 = steady_now();
    auto v = co_await store_.read_view();
    if (stopped_) {
      co_return;
    }
    if (v) {
      stats_.polls.inc(PollResult::kOk);
      if (!clock_.confirmed_at || last_error_.size() > 0) {
        if (!last_error_.empty()) {
          spdlog::info("etcd answers again ({})", store_.client().current());
        }
      }
      last_error_.clear();
      clock_.confirmed_at = t0;
      clock_.by_failsafe = false;
      failsafe_ = FailsafeResult{};
      peer_status_.lock()->last_read_ok_start = t0;
      view_ = std::move(*v);
      if (view_->state && hooks_.adopt) {
        hooks_.adopt(*view_->state);  // the agent's pipeline keeps the newer one and calls on_state
      }
      if (!joined_ || !view_->members || view_->members->agents.count(options_.name) == 0) {
        etcd::Member me{options_.peer_url, options_.admin_url};
        const std::string name = options_.name;
        auto j = co_await store_.join(name, me);
        if (j) {
          joined_ = true;
          view_->members = *j;
        } else {
          spdlog::warn("etcd: joining the membership list: {}", j.error().message);
        }
      }
      update_peer_status();
    } else {
      stats_.polls.inc(PollResult::kFailed);
      if (last_error_.empty()) {
        spdlog::warn("etcd: reading the shared state failed: {}", v.error().message);
      }
      last_error_ = v.error().message;
      const Steady now = steady_now();
      const bool half_stale = !clock_.confirmed_at || now - *clock_.confirmed_at >= options_.window.stale_after / 2;
      if (half_stale && epoch_known_) {
        co_await failsafe_round();
      }
    }
    if (hooks_.changed) {
      hooks_.changed();
    }
    const auto spent = steady_now() - t0;
    const Duration wait = spent >= options_.poll_interval
                              ? Duration(0)
                              : std::chrono::duration_cast<Duration>(options_.poll_interval - spent);
    co_await sleep_on(*poll_timer_, wait);
  }
}

asio::awaitable<void> Coordinator::failsafe_round() {
  const std::vector<std::string> members = other_members();
  const Steady tq = steady_now();
  std::vector<PeerAnswer> answers;
  // One request per member, in sequence (members are few); each bounded by
  // the poll interval.
  for (const auto& m : members) {
    PeerAnswer a;
    a.name = m;
    const etcd::Member& info = view_->members->agents.at(m);
    NodeUrl url;
    std::string why;
    if (info.peer_url.empty() || !config_detail::parse_node_url(info.peer_url, url, why)) {
      a.error = "no usable peer URL '" + info.peer_url + "'";
      answers.push_back(std::move(a));
      continue;
    }
    es::NodeClientOptions o;
    o.url = url;
    o.timeout = options_.poll_interval;
    o.max_body_bytes = 64 * 1024;
    es::NodeClient client(io_.get_executor(), std::move(o));
    auto r = co_await client.request("GET", "/peer");
    if (!r || !r->ok() || !r->json.is_object()) {
      a.error = !r ? r.error().message : "HTTP " + std::to_string(r->status);
    } else {
      const auto& j = r->json;
      a.answered = true;
      a.answered_as = j.value("name", std::string());
      a.store_reachable = j.value("store_reachable", true);
      a.epoch = j.value("epoch", uint64_t{0});
      a.active = j.value("active", std::string());
    }
    answers.push_back(std::move(a));
  }
  if (stopped_) {
    co_return;
  }
  failsafe_ = failsafe(members, answers, epoch_seen_, active_seen_);
  if (failsafe_.confirmed) {
    stats_.failsafe_rounds.inc(FailsafeOutcome::kConfirmed);
    if (!clock_.by_failsafe) {
      spdlog::warn("etcd unreachable, FAILSAFE: {}; keeping verdicts for {} (no agent can change the roles)",
                   failsafe_.text, active_seen_.empty() ? "none" : active_seen_);
    }
    clock_.confirmed_at = tq;
    clock_.by_failsafe = true;
  } else {
    stats_.failsafe_rounds.inc(FailsafeOutcome::kRefused);
    spdlog::debug("failsafe not confirmed: {}", failsafe_.text);
  }
}

asio::awaitable<void> Coordinator::lease_loop() {
  const int64_t ttl_s =
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(options_.lease_ttl).count());
  const Duration tick = std::max<Duration>(options_.poll_interval, options_.lease_ttl / 3);
  const Duration margin = options_.window.margin;
  while (!stopped_) {
    const Steady t0 = steady_now();
    const bool was_leader = leader(t0);
    if (lease_ == 0) {
      auto g = co_await store_.grant(ttl_s);
      if (g) {
        lease_ = g->id;
        leadership_until_ = t0 + std::chrono::seconds(g->ttl_seconds) - margin;
      }
    } else {
      const int64_t lease = lease_;
      auto k = co_await store_.keepalive(lease);
      if (k && *k > 0) {
        leadership_until_ = t0 + std::chrono::seconds(*k) - margin;
      } else if (k) {
        spdlog::warn(
            "etcd: this agent's lease expired (etcd was out of reach for longer than lease_ttl {}); "
            "taking a new one",
            format_duration(options_.lease_ttl));
        stats_.lease_lost.inc();
        lease_ = 0;
        holds_leader_ = false;
      }
    }
    if (stopped_) {
      co_return;
    }
    if (lease_ != 0) {
      co_await publish();
      const std::string leader_now = view_ ? view_->leader : "";
      if (leader_now.empty() || leader_now == options_.name) {
        const std::string name = options_.name;
        auto c = co_await store_.campaign(name, lease_);
        if (c) {
          holds_leader_ = *c == options_.name;
          if (view_) {
            view_->leader = *c;
          }
        }
      } else {
        holds_leader_ = false;
      }
    }
    const bool is_leader = leader(steady_now());
    if (is_leader != was_leader) {
      stats_.leadership_changes.inc();
      update_peer_status();
      if (hooks_.changed) {
        hooks_.changed();
      }
    }
    const auto spent = steady_now() - t0;
    co_await sleep_on(*lease_timer_, spent >= tick ? Duration(0) : std::chrono::duration_cast<Duration>(tick - spent));
  }
}

}  // namespace haes::cluster
