#include "spoe/server.hpp"

#include <utility>

#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
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
    : conn_(std::move(o.conn_)), stream_id_(o.stream_id_), frame_id_(o.frame_id_),
      actions_(std::move(o.actions_)) {}

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
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<std::unique_ptr<ThreadStats>> stats;
  std::vector<std::thread> threads;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor;
  uint16_t port = 0;
  bool started = false;
  bool stopped = false;

  asio::awaitable<void> accept_loop() {
    size_t next = 0;
    boost::system::error_code ec;
    for (;;) {
      size_t index = next++ % contexts.size();
      asio::ip::tcp::socket socket = co_await acceptor->async_accept(
          *contexts[index], asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) {
          co_return;
        }
        shared.log(LogLevel::kWarn, "spoe accept failed: " + ec.message());
        continue;
      }
      ThreadStats& ts = *stats[index];
      if (shared.connections.load(std::memory_order_relaxed) >= shared.options.max_connections) {
        ThreadStats::inc(ts.connections_refused);
        shared.log(LogLevel::kWarn, "spoe connection refused: max_connections (" +
                                        std::to_string(shared.options.max_connections) +
                                        ") reached");
        boost::system::error_code ignore;
        socket.close(ignore);
        continue;
      }
      shared.connections.fetch_add(1, std::memory_order_relaxed);
      ThreadStats::inc(ts.connections_total);
      ThreadStats::inc(ts.connections_current);
      auto conn = std::make_shared<Connection>(std::move(socket), shared, ts);
      conn->start();
    }
  }
};

Server::Server(ServerOptions options, NotifyHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->shared.options = std::move(options);
  impl_->shared.handler = std::move(handler);
  if (impl_->shared.options.threads == 0) {
    impl_->shared.options.threads = std::max(1u, std::thread::hardware_concurrency());
  }
  if (impl_->shared.options.max_frame_size < kMinMaxFrameSize) {
    impl_->shared.options.max_frame_size = kMinMaxFrameSize;
  }
}

Server::~Server() { stop(); }

void Server::start() {
  Impl& im = *impl_;
  if (im.started) {
    return;
  }
  const unsigned n = im.shared.options.threads;
  for (unsigned i = 0; i < n; ++i) {
    im.contexts.push_back(std::make_unique<asio::io_context>(1));
    im.stats.push_back(std::make_unique<ThreadStats>());
  }
  auto address = asio::ip::make_address(im.shared.options.host);
  asio::ip::tcp::endpoint ep(address, im.shared.options.port);
  im.acceptor = std::make_unique<asio::ip::tcp::acceptor>(*im.contexts[0]);
  im.acceptor->open(ep.protocol());
  im.acceptor->set_option(asio::ip::tcp::acceptor::reuse_address(true));
  im.acceptor->bind(ep);
  im.acceptor->listen(asio::socket_base::max_listen_connections);
  im.port = im.acceptor->local_endpoint().port();
  asio::co_spawn(*im.contexts[0], [&im] { return im.accept_loop(); }, asio::detached);
  for (unsigned i = 0; i < n; ++i) {
    asio::io_context* ctx = im.contexts[i].get();
    im.threads.emplace_back([ctx] {
      auto guard = asio::make_work_guard(*ctx);
      ctx->run();
    });
  }
  im.started = true;
  im.shared.log(LogLevel::kInfo, "spoe listening on " + im.shared.options.host + ":" +
                                     std::to_string(im.port) + " with " + std::to_string(n) +
                                     " threads");
}

void Server::stop() {
  Impl& im = *impl_;
  if (!im.started || im.stopped) {
    return;
  }
  im.stopped = true;
  for (auto& ctx : im.contexts) {
    ctx->stop();
  }
  for (auto& t : im.threads) {
    t.join();
  }
  im.acceptor.reset();
  // Destroying the contexts destroys the suspended coroutines, which release
  // their connections and close the sockets.
  for (auto& ctx : im.contexts) {
    ctx.reset();
  }
  im.contexts.clear();
}

uint16_t Server::port() const { return impl_->port; }

const ServerOptions& Server::options() const { return impl_->shared.options; }

Stats Server::stats() const {
  Stats s;
  for (const auto& ts : impl_->stats) {
    ts->add_to(s);
  }
  return s;
}

}  // namespace spoe
