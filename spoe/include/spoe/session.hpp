#pragma once
/// @file
/// The one session idiom of every port haes serves: SPOP (spoe::Server), the
/// health and agent-check ports and the admin socket.
///
///  - A session is a `std::shared_ptr` owned by its own coroutines: each is
///    spawned with spawn(self, &S::member), whose lambda holds `self` for the
///    coroutine's whole life. A server keeps only a SessionSet of weak_ptrs,
///    never a raw reference to a session.
///  - Coroutines take their parameters by value (a member coroutine reads the
///    session through the `self` its spawner holds).
///  - One Deadline (one timer) per session puts a deadline on whatever the
///    session waits for: `auto armed = deadline.arm_for(d); co_await op;`.
///    Arming only stores a time point; the session's watchdog coroutine
///    (Deadline::watch) sleeps until the earliest armed time and, when it
///    passes, calls the session's close(), which ends the pending operation
///    with an error. The hot path (SPOP: every read) never touches the timer
///    when the deadline moves later.
///  - A server's stop() closes its acceptor and calls close() on every live
///    session (SessionSet::close_all); each session's close() closes its
///    socket and stops its Deadline, so every coroutine of the session ends
///    at the next run of the io_context and the io_context runs dry.
///
/// Everything here runs on the session's own executor (one thread): no locks.

#include <utility>  // before Asio 1.74 awaitable.hpp, which uses std::exchange without it

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace spoe::net {

using Clock = std::chrono::steady_clock;

/// One timer per session; see the file comment.
class Deadline {
 public:
  /// max_sleep: the watchdog wakes at least this often, so arming for up to
  /// max_sleep never has to move the timer (no timer operation per arm).
  explicit Deadline(const boost::asio::any_io_executor& ex, Clock::duration max_sleep = std::chrono::hours(24 * 365))
      : timer_(ex), max_sleep_(max_sleep) {
    timer_.expires_at(Clock::time_point::max());
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  /// The session must be closed if still waiting at `at`.
  void arm_at(Clock::time_point at) {
    at_ = at;
    if (!stopped_ && at < timer_.expiry()) {
      timer_.expires_at(at);  // wakes the watchdog, which sleeps again until `at`
    }
  }
  void arm(Clock::duration d) { arm_at(Clock::now() + d); }
  void disarm() { at_ = Clock::time_point::max(); }
  Clock::time_point armed_at() const { return at_; }

  /// Arms for the life of the returned guard (one operation).
  class [[nodiscard]] Armed {
   public:
    explicit Armed(Deadline& d) : d_(&d) {}
    Armed(Armed&& o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
    Armed(const Armed&) = delete;
    Armed& operator=(const Armed&) = delete;
    Armed& operator=(Armed&&) = delete;
    ~Armed() {
      if (d_ != nullptr) {
        d_->disarm();
      }
    }

   private:
    Deadline* d_;
  };
  Armed arm_for(Clock::duration d) {
    arm(d);
    return Armed(*this);
  }

  /// True once the watchdog has fired.
  bool expired() const { return expired_; }
  /// Ends the watchdog for good (the session is closing). Idempotent.
  void stop() {
    stopped_ = true;
    timer_.cancel();
  }
  bool stopped() const { return stopped_; }

  /// The session's watchdog coroutine: calls on_expiry() each time an armed
  /// deadline passes (then disarms); ends at stop().
  /// Spawn it through spawn() so that it owns the session.
  template <class F>
  boost::asio::awaitable<void> watch(F on_expiry) {
    boost::system::error_code ec;
    while (!stopped_) {
      const auto now = Clock::now();
      if (at_ <= now) {
        expired_ = true;
        at_ = Clock::time_point::max();  // fired: disarmed until armed again
        on_expiry();                     // usually closes the session (stop())
        continue;
      }
      timer_.expires_at(at_ - now > max_sleep_ ? now + max_sleep_ : at_);
      co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
  }

 private:
  boost::asio::steady_timer timer_;
  Clock::duration max_sleep_;
  Clock::time_point at_ = Clock::time_point::max();
  bool expired_ = false;
  bool stopped_ = false;
};

/// Spawns a member coroutine of a session; the coroutine owns the session.
template <class S>
void spawn(const std::shared_ptr<S>& self, boost::asio::awaitable<void> (S::*fn)()) {
  boost::asio::co_spawn(
      self->executor(), [self, fn] { return ((*self).*fn)(); }, boost::asio::detached);
}

/// Spawns the session's watchdog: on expiry it calls self->on_deadline().
template <class S>
void spawn_watchdog(const std::shared_ptr<S>& self, Deadline& deadline) {
  boost::asio::co_spawn(
      self->executor(),
      [self, &deadline] {  // `deadline` is a member of *self, which the lambda owns
        return deadline.watch([s = self.get()] { s->on_deadline(); });
      },
      boost::asio::detached);
}

/// The live sessions of one server (or of one thread of it), as weak_ptrs:
/// the server can close them all at stop() but owns none of them. Also the
/// count a connection limit is checked against.
template <class S>
class SessionSet {
 public:
  void add(const std::shared_ptr<S>& s) {
    if (sessions_.size() >= prune_at_) {
      prune();
      prune_at_ = 2 * sessions_.size() + 16;
    }
    sessions_.push_back(s);
  }
  /// Sessions still alive.
  size_t live() {
    prune();
    return sessions_.size();
  }
  /// close() on every live session; forgets them.
  void close_all() {
    auto all = std::move(sessions_);
    sessions_.clear();
    for (auto& w : all) {
      if (auto s = w.lock()) {
        s->close();
      }
    }
  }

 private:
  void prune() {
    std::erase_if(sessions_, [](const std::weak_ptr<S>& w) { return w.expired(); });
  }
  std::vector<std::weak_ptr<S>> sessions_;
  size_t prune_at_ = 16;
};

/// Rate limit for a log line a peer can trigger at will (refused connections,
/// slow peers): at most one line per interval, saying how many were not logged.
class LogLimiter {
 public:
  explicit LogLimiter(Clock::duration interval = std::chrono::seconds(10)) : interval_(interval) {}
  /// True if a line may be logged now; `suppressed` is then how many calls
  /// since the last logged line were not logged.
  bool allow(size_t& suppressed) {
    const auto now = Clock::now();
    if (logged_ && now - last_ < interval_) {
      ++suppressed_;
      return false;
    }
    logged_ = true;
    last_ = now;
    suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }
  /// " (N more not logged)" or "".
  static std::string more(size_t suppressed) {
    return suppressed == 0 ? std::string()
                           : " (" + std::to_string(suppressed) + " more since the last line not logged)";
  }

 private:
  Clock::duration interval_;
  Clock::time_point last_{};
  bool logged_ = false;
  size_t suppressed_ = 0;
};

/// Whether a failed accept() means the process (or the system) is out of
/// file descriptors or memory: EMFILE, ENFILE, ENOBUFS, ENOMEM. The pending
/// connection then stays in the listen backlog, so accepting again at once
/// fails again at once: an accept loop that just continues spins a core and
/// floods the log. Such a loop waits kAcceptBackoff first (accept_backoff).
inline bool accept_should_back_off(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category()) {
    return false;
  }
  const int e = ec.value();
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}
inline constexpr std::chrono::milliseconds kAcceptBackoff{100};

/// In an accept loop after a failed accept (not a closed acceptor): waits
/// kAcceptBackoff when accept_should_back_off(ec), else returns at once.
/// `ec` by value: a coroutine parameter (STYLE.md).
inline boost::asio::awaitable<void> accept_backoff(boost::system::error_code ec) {
  if (!accept_should_back_off(ec)) {
    co_return;
  }
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, kAcceptBackoff);
  boost::system::error_code ignore;
  co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignore));
}

/// After a server's stop() and the io_context's stop(): runs what stop()
/// cancelled until nothing is left — including what completes later, such
/// as a child process still exiting after its SIGTERM or a request being
/// cancelled — for at most `bound`, so that no coroutine frame is left to be
/// destroyed with its io_context after the component it uses. Returns false
/// when work was still pending at the bound.
inline bool drain(boost::asio::io_context& ctx, std::chrono::steady_clock::duration bound = std::chrono::seconds(4)) {
  ctx.restart();
  const auto until = std::chrono::steady_clock::now() + bound;
  while (ctx.run_one_until(until) > 0) {
  }
  return ctx.stopped();  // out of work; false: the bound passed first
}

}  // namespace spoe::net
