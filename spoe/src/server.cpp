#include "spoe/server.hpp"

#include <utility>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "connection.hpp"

namespace spoe {

namespace asio = boost::asio;

std::string_view to_string(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "?";
}

// ---- AckWriter / DeferredAck ----------------------------------------------

AckWriter& AckWriter::set_var(Scope scope, std::string_view name, const Value& v) {
  append_set_var(out_, scope, name, v);
  return *this;
}

AckWriter& AckWriter::unset_var(Scope scope, std::string_view name) {
  append_unset_var(out_, scope, name);
  return *this;
}

AckWriter& AckWriter::raw_actions(std::span<const uint8_t> actions) {
  out_.insert(out_.end(), actions.begin(), actions.end());
  return *this;
}

DeferredAck AckWriter::defer() {
  DeferredAck d;
  if (deferred_ || conn_ == nullptr) {
    return d;  // only one handle per NOTIFY
  }
  deferred_ = true;
  d.conn_ = conn_->shared_from_this();
  d.stream_id_ = stream_id_;
  d.frame_id_ = frame_id_;
  return d;
}

DeferredAck::DeferredAck(DeferredAck&& o) noexcept
    : conn_(std::move(o.conn_)), stream_id_(o.stream_id_), frame_id_(o.frame_id_), actions_(std::move(o.actions_)) {}

DeferredAck& DeferredAck::operator=(DeferredAck&& o) noexcept {
  if (this != &o) {
    complete();
    conn_ = std::move(o.conn_);
    stream_id_ = o.stream_id_;
    frame_id_ = o.frame_id_;
    actions_ = std::move(o.actions_);
  }
  return *this;
}

DeferredAck::~DeferredAck() { complete(); }

DeferredAck& DeferredAck::set_var(Scope scope, std::string_view name, const Value& v) {
  append_set_var(actions_, scope, name, v);
  return *this;
}

DeferredAck& DeferredAck::unset_var(Scope scope, std::string_view name) {
  append_unset_var(actions_, scope, name);
  return *this;
}

DeferredAck& DeferredAck::raw_actions(std::span<const uint8_t> actions) {
  actions_.insert(actions_.end(), actions.begin(), actions.end());
  return *this;
}

void DeferredAck::complete() {
  if (!conn_) {
    return;
  }
  auto conn = std::move(conn_);
  conn_.reset();
  conn->post_ack(stream_id_, frame_id_, std::move(actions_));
}

// ---- Server ----------------------------------------------------------------

struct Server::Impl {
  ServerShared shared;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor;
  net::LogLimiter refused_log;  // accept loop's thread only
  net::LogLimiter accept_log;   // accept loop's thread only
  std::mutex done_mutex;
  std::condition_variable done_cv;
  size_t threads_done = 0;
  uint16_t port = 0;
  bool started = false;
  bool stopped = false;

  asio::awaitable<void> accept_loop() {
    size_t next = 0;
    boost::system::error_code ec;
    for (;;) {
      Worker& w = *workers[next++ % workers.size()];
      asio::ip::tcp::socket socket =
          co_await acceptor->async_accept(w.ctx, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) {
          co_return;
        }
        size_t suppressed = 0;
        if (accept_log.allow(suppressed)) {
          shared.log(LogLevel::kWarn, "spoe accept failed: " + ec.message() + net::LogLimiter::more(suppressed));
        }
        co_await net::accept_backoff(ec);
        continue;
      }
      if (shared.connections.load(std::memory_order_relaxed) >= shared.options.max_connections) {
        ThreadStats::inc(w.stats.connections_refused);
        if (shared.options.on_refused) {
          shared.options.on_refused();
        }
        size_t suppressed = 0;
        if (refused_log.allow(suppressed)) {
          boost::system::error_code pec;
          auto ep = socket.remote_endpoint(pec);
          shared.log(LogLevel::kWarn, "spoe connection from " + (pec ? std::string("?") : ep.address().to_string()) +
                                          " refused: spoe.max_connections (" +
                                          std::to_string(shared.options.max_connections) + ") reached" +
                                          net::LogLimiter::more(suppressed));
        }
        boost::system::error_code ignore;
        socket.close(ignore);
        continue;
      }
      shared.connections.fetch_add(1, std::memory_order_relaxed);
      ThreadStats::inc(w.stats.connections_total);
      ThreadStats::inc(w.stats.connections_current);
      auto conn = std::make_shared<Connection>(std::move(socket), shared, w);
      // Registered and started on the connection's own thread, where its
      // SessionSet lives; after stop() began there, it is closed at once.
      asio::post(w.ctx, [conn, &w] {
        if (w.stopping) {
          conn->close();
          return;
        }
        w.sessions.add(conn);
        conn->start();
      });
    }
  }
};

Server::Server(ServerOptions options, NotifyHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->shared.options = std::move(options);
  impl_->shared.handler = std::move(handler);
  ServerOptions& o = impl_->shared.options;
  if (o.threads == 0) {
    o.threads = std::max(1u, std::thread::hardware_concurrency());
  }
  if (o.max_frame_size < kMinMaxFrameSize) {
    o.max_frame_size = kMinMaxFrameSize;
  }
  impl_->shared.max_output_bytes = std::max(o.max_output_bytes, 2 * (size_t{4} + o.max_frame_size));
}

Server::~Server() { stop(); }

void Server::start() {
  Impl& im = *impl_;
  if (im.started) {
    return;
  }
  const unsigned n = im.shared.options.threads;
  for (unsigned i = 0; i < n; ++i) {
    im.workers.push_back(std::make_unique<Worker>());
  }
  auto address = asio::ip::make_address(im.shared.options.host);
  asio::ip::tcp::endpoint ep(address, im.shared.options.port);
  im.acceptor = std::make_unique<asio::ip::tcp::acceptor>(im.workers[0]->ctx);
  im.acceptor->open(ep.protocol());
  im.acceptor->set_option(asio::ip::tcp::acceptor::reuse_address(true));
  im.acceptor->bind(ep);
  im.acceptor->listen(asio::socket_base::max_listen_connections);
  im.port = im.acceptor->local_endpoint().port();
  asio::co_spawn(
      im.workers[0]->ctx, [&im] { return im.accept_loop(); }, asio::detached);
  for (unsigned i = 0; i < n; ++i) {
    asio::io_context* ctx = &im.workers[i]->ctx;
    im.guards.push_back(asio::make_work_guard(*ctx));
    im.threads.emplace_back([ctx, &im] {
      ctx->run();
      std::lock_guard lock(im.done_mutex);
      ++im.threads_done;
      im.done_cv.notify_all();
    });
  }
  im.started = true;
  im.shared.log(LogLevel::kInfo, "spoe listening on " + im.shared.options.host + ":" + std::to_string(im.port) +
                                     " with " + std::to_string(n) + " threads");
}

void Server::stop() {
  Impl& im = *impl_;
  if (!im.started || im.stopped) {
    return;
  }
  im.stopped = true;
  // Each thread closes what it owns; then nothing is left to run and every
  // io_context runs dry: run() returns with no coroutine frame suspended.
  asio::post(im.workers[0]->ctx, [&im] {
    boost::system::error_code ec;
    im.acceptor->close(ec);
  });
  for (auto& w : im.workers) {
    Worker* wp = w.get();
    asio::post(wp->ctx, [wp] {
      wp->stopping = true;
      wp->sessions.close_all();
    });
  }
  im.guards.clear();
  {
    std::unique_lock lock(im.done_mutex);
    if (!im.done_cv.wait_for(lock, std::chrono::seconds(10), [&im] { return im.threads_done == im.threads.size(); })) {
      im.shared.log(LogLevel::kError, "spoe threads still busy 10 s after stop: stopping them");
      for (auto& w : im.workers) {
        w->ctx.stop();
      }
    }
  }
  for (auto& t : im.threads) {
    t.join();
  }
  im.acceptor.reset();
}

uint16_t Server::port() const { return impl_->port; }

const ServerOptions& Server::options() const { return impl_->shared.options; }

size_t Server::max_output_bytes() const { return impl_->shared.max_output_bytes; }

Stats Server::stats() const {
  Stats s;
  for (const auto& w : impl_->workers) {
    w->stats.add_to(s);
  }
  return s;
}

}  // namespace spoe
