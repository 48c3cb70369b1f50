#pragma once
// Coordinator: this agent's part in a pair run by several agents through
// etcd (docs/failover.md "Several agents"). On the control thread it:
//  - polls the shared view every state.etcd.poll_interval (the state, the
//    leader, the members, every live agent's record: one transaction) — each
//    successful poll confirms this agent's view; a newer state is adopted;
//  - keeps its lease alive, publishes its record under it, campaigns for the
//    leader key (held under the same lease);
//  - when its polls fail, asks every other member over its health port
//    (GET /peer) whether etcd is down for all (the failsafe);
//  - joins the membership list.
// The decisions are the pure rules of cluster/rules.hpp; this class only
// does the I/O and keeps the clock readings they need.
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "cluster/rules.hpp"
#include "common/lock_guarded.hpp"
#include "etcd/store.hpp"
#include "metrics/stats.hpp"

namespace haes {
#define HAES_POLL_RESULT_LIST(X) X(kOk, "ok") X(kFailed, "failed")
HAES_ENUM(PollResult, uint8_t, "result", HAES_POLL_RESULT_LIST)
#define HAES_FAILSAFE_RESULT_LIST(X) X(kConfirmed, "confirmed") X(kRefused, "refused")
HAES_ENUM(FailsafeOutcome, uint8_t, "result", HAES_FAILSAFE_RESULT_LIST)
}  // namespace haes

namespace haes::cluster {

struct CoordinatorOptions {
  std::string name;
  std::string peer_url;   // this agent's health port, http://host:port
  std::string admin_url;  // "" when it has no admin port
  Duration poll_interval = std::chrono::milliseconds(250);
  Duration lease_ttl = std::chrono::seconds(5);
  WindowConfig window;
};

// What GET /peer answers (read on the edge thread).
struct PeerStatus {
  std::string name;
  uint64_t epoch = 0;
  std::string active;
  std::string leader;
  std::optional<Steady> last_read_ok_start;
  Duration stale_after{0};
  bool store_reachable(Steady now) const { return last_read_ok_start && now - *last_read_ok_start < stale_after; }
};

struct CoordinatorStats {
  EnumCounter<PollResult> polls;
  EnumCounter<FailsafeOutcome> failsafe_rounds;
  Counter leadership_changes;
  Counter lease_lost;

  template <class V>
  void visit(V& v) const {
    v(polls, "haes_store_polls_total", "Reads of the shared state (etcd) by result.");
    v(failsafe_rounds, "haes_failsafe_rounds_total",
      "Rounds asking every other member whether etcd is down for all, by result.");
    v(leadership_changes, "haes_leadership_changes_total", "Times this agent became or stopped being the leader.");
    v(lease_lost, "haes_lease_lost_total", "Times this agent's etcd lease expired or could not be kept alive.");
  }
};

class Coordinator {
 public:
  struct Hooks {
    std::function<void(const State&)> adopt;    // a stored state newer than ours
    std::function<etcd::AgentRecord()> record;  // this agent's record now
    std::function<void()> changed;              // view, window or leadership changed
  };

  Coordinator(boost::asio::io_context& io, etcd::EtcdStore& store, CoordinatorOptions options, Hooks hooks);
  ~Coordinator();
  void start();
  void stop();

  // This agent holds the leader key and its lease is known to be alive now.
  bool leader(Steady now) const { return holds_leader_ && now < leadership_until_; }
  const std::string& leader_name() const { return view_ ? view_->leader : empty_; }
  const ViewClock& clock() const { return clock_; }
  const std::optional<etcd::PairView>& view() const { return view_; }
  const FailsafeResult& failsafe_result() const { return failsafe_; }
  const std::string& last_error() const { return last_error_; }
  const CoordinatorStats& stats() const { return stats_; }
  // Every other member of the pair (the failsafe asks them all).
  std::vector<std::string> other_members() const;
  // Live agents' view of `active` (this agent's own record included).
  std::vector<AgentSeen> seen(const std::string& active) const;
  // This agent wrote a state itself (a role change): it learned that epoch
  // at `at` (when the store acknowledged the write).
  void learned(Steady at);
  // Note a state adopted or written: a new epoch starts the wait.
  void on_state(const State& s, Steady at);
  // Publishes this agent's record now (after a health round).
  void publish_soon();
  // The answer of GET /peer (edge thread).
  std::string peer_answer_json() const;

 private:
  boost::asio::awaitable<void> poll_loop();
  boost::asio::awaitable<void> lease_loop();
  boost::asio::awaitable<void> failsafe_round();
  boost::asio::awaitable<void> publish();
  void update_peer_status();

  boost::asio::io_context& io_;
  etcd::EtcdStore& store_;
  CoordinatorOptions options_;
  Hooks hooks_;
  std::optional<etcd::PairView> view_;
  ViewClock clock_;
  uint64_t epoch_seen_ = 0;
  std::string active_seen_;
  bool epoch_known_ = false;
  FailsafeResult failsafe_;
  std::string last_error_;
  int64_t lease_ = 0;
  bool holds_leader_ = false;
  Steady leadership_until_{};
  bool joined_ = false;
  bool stopped_ = false;
  bool publish_pending_ = false;
  CoordinatorStats stats_;
  std::unique_ptr<boost::asio::steady_timer> poll_timer_;
  std::unique_ptr<boost::asio::steady_timer> lease_timer_;
  mutable LockGuarded<PeerStatus> peer_status_;
  static inline const std::string empty_;
};

}  // namespace haes::cluster
