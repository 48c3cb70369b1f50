#include "connection.hpp"

#include <cstring>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace spoe {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

namespace {
// Read buffer beyond the largest frame, so several small frames fit per read.
constexpr size_t kReadSlack = 16 * 1024;
}  // namespace

void ServerShared::log(LogLevel level, std::string_view text) const {
  if (options.log) {
    options.log(level, text);
  }
}

Connection::Connection(asio::ip::tcp::socket socket, ServerShared& shared, ThreadStats& stats)
    : socket_(std::move(socket)),
      wake_(socket_.get_executor()),
      watchdog_timer_(socket_.get_executor()),
      shared_(shared),
      stats_(stats),
      id_(shared.next_id.fetch_add(1, std::memory_order_relaxed)),
      max_frame_size_(shared.options.max_frame_size) {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  peer_ = ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
  in_.resize(size_t{4} + shared.options.max_frame_size + kReadSlack);
  out_.reserve(size_t{4} + shared.options.max_frame_size);
  writing_.reserve(size_t{4} + shared.options.max_frame_size);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

Connection::~Connection() {
  shared_.connections.fetch_sub(1, std::memory_order_relaxed);
  stats_.connections_current.fetch_sub(1, std::memory_order_relaxed);
}

void Connection::start() {
  last_activity_ = Clock::now();
  auto self = shared_from_this();
  asio::co_spawn(socket_.get_executor(), [self] { return self->reader(); }, asio::detached);
  asio::co_spawn(socket_.get_executor(), [self] { return self->writer(); }, asio::detached);
  asio::co_spawn(socket_.get_executor(), [self] { return self->watchdog(); }, asio::detached);
}

std::chrono::milliseconds Connection::current_timeout() const {
  return phase_ == Phase::kAwaitHello ? shared_.options.hello_timeout
                                      : shared_.options.idle_timeout;
}

awaitable<void> Connection::reader() {
  boost::system::error_code ec;
  while (phase_ == Phase::kAwaitHello || phase_ == Phase::kReady) {
    if (in_end_ == in_.size()) {
      // Only a partial frame can be left here; move it to the front.
      std::memmove(in_.data(), in_.data() + in_start_, in_end_ - in_start_);
      in_end_ -= in_start_;
      in_start_ = 0;
    }
    size_t n = co_await socket_.async_read_some(
        asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
        asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (phase_ == Phase::kAwaitHello || phase_ == Phase::kReady) {
        // EOF or RST from HAProxy (reload, check, idle close): quiet.
        shared_.log(LogLevel::kDebug, "spoe conn #" + std::to_string(id_) + " " + peer_ +
                                          ": closed by peer (" + ec.message() + ")" +
                                          (in_end_ > in_start_ ? ", mid-frame" : ""));
        close_now();
      }
      co_return;
    }
    last_activity_ = Clock::now();
    ThreadStats::inc(stats_.bytes_in, n);
    in_end_ += n;
    while (phase_ == Phase::kAwaitHello || phase_ == Phase::kReady) {
      DecodeResult r = decode_frame(std::span(in_.data() + in_start_, in_end_ - in_start_),
                                    max_frame_size_);
      if (r.state == DecodeState::kNeedMore) {
        break;
      }
      if (r.state == DecodeState::kError) {
        fail(r.error, r.error == Status::kTooBig
                          ? "frame length " + std::to_string(read_be32(in_.data() + in_start_)) +
                                " over max-frame-size " + std::to_string(max_frame_size_)
                          : std::string("malformed frame header"));
        break;
      }
      in_start_ += r.consumed;
      on_frame(r.frame);
    }
    if (in_start_ == in_end_) {
      in_start_ = in_end_ = 0;
    }
    wake_writer();
  }
}

awaitable<void> Connection::writer() {
  boost::system::error_code ec;
  for (;;) {
    if (out_.empty()) {
      if (phase_ == Phase::kClosing || phase_ == Phase::kClosed) {
        break;
      }
      writer_idle_ = true;
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(asio::redirect_error(use_awaitable, ec));
      writer_idle_ = false;
      continue;
    }
    std::swap(out_, writing_);
    co_await asio::async_write(socket_, asio::buffer(writing_),
                               asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (phase_ != Phase::kClosed) {
        shared_.log(LogLevel::kDebug, "spoe conn #" + std::to_string(id_) + " " + peer_ +
                                          ": write failed (" + ec.message() + ")");
      }
      writing_.clear();
      break;
    }
    last_activity_ = Clock::now();
    ThreadStats::inc(stats_.bytes_out, writing_.size());
    writing_.clear();
  }
  close_now();
}

awaitable<void> Connection::watchdog() {
  boost::system::error_code ec;
  while (phase_ != Phase::kClosed) {
    auto deadline = last_activity_ + current_timeout();
    if (Clock::now() >= deadline) {
      shared_.log(LogLevel::kInfo, "spoe conn #" + std::to_string(id_) + " " + peer_ + ": " +
                                       (phase_ == Phase::kAwaitHello ? "no HELLO" : "idle") +
                                       " for " + std::to_string(current_timeout().count()) +
                                       " ms, closing");
      close_now();
      break;
    }
    watchdog_timer_.expires_at(deadline);
    co_await watchdog_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

void Connection::wake_writer() {
  if (writer_idle_ && !out_.empty()) {
    wake_.cancel();
  }
}

void Connection::close_now() {
  if (phase_ == Phase::kClosed) {
    return;
  }
  phase_ = Phase::kClosed;
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  wake_.cancel();
  watchdog_timer_.cancel();
}

void Connection::fail(Status status, std::string_view detail) {
  std::string message = std::string(to_string(status));
  if (!detail.empty()) {
    message += ": ";
    message += detail;
  }
  shared_.log(LogLevel::kWarn, "spoe conn #" + std::to_string(id_) + " " + peer_ +
                                   ": protocol error, sending DISCONNECT " +
                                   std::to_string(static_cast<uint32_t>(status)) + " (" +
                                   message + ")");
  build_agent_disconnect(out_, status, message);
  ThreadStats::inc(stats_.disconnects_sent[status_slot(status)]);
  phase_ = Phase::kClosing;
}

void Connection::on_frame(const FrameView& frame) {
  if (!frame.fin()) {
    // We never announce fragmentation, so a non-final frame cannot be ours to handle.
    fail(Status::kFragmentationNotSupported, "frame without FIN");
    return;
  }
  if (phase_ == Phase::kAwaitHello) {
    if (frame.type != FrameType::kHaproxyHello) {
      fail(Status::kInvalid, "expected HAPROXY-HELLO, got frame type " +
                                 std::to_string(frame.raw_type));
      return;
    }
    on_hello(frame);
    return;
  }
  switch (frame.type) {
    case FrameType::kNotify:
      on_notify(frame);
      return;
    case FrameType::kHaproxyDisconnect:
      on_haproxy_disconnect(frame);
      return;
    case FrameType::kHaproxyHello:
      fail(Status::kInvalid, "second HAPROXY-HELLO on one connection");
      return;
    case FrameType::kUnset:
      fail(Status::kFragmentationNotSupported, "fragment continuation (UNSET frame)");
      return;
    default:
      fail(Status::kInvalid, "unexpected frame type " + std::to_string(frame.raw_type));
      return;
  }
}

void Connection::on_hello(const FrameView& frame) {
  HaproxyHello hello;
  Status st = parse_haproxy_hello(frame.payload, hello);
  Negotiated negotiated;
  if (st == Status::kNormal) {
    st = negotiate(hello, shared_.options.max_frame_size, negotiated);
  }
  if (st != Status::kNormal) {
    std::string detail;
    if (st == Status::kBadVersion) {
      detail = "HAProxy offers \"" + std::string(hello.supported_versions) + "\", we speak 2.0";
    } else if (st == Status::kBadFrameSize) {
      detail = "HAProxy's max-frame-size " + std::to_string(hello.max_frame_size) +
               " is below 256";
    }
    fail(st, detail);
    return;
  }
  build_agent_hello(out_, negotiated.max_frame_size, shared_.options.capabilities);
  max_frame_size_ = negotiated.max_frame_size;
  if (negotiated.healthcheck) {
    ThreadStats::inc(stats_.healthchecks);
    phase_ = Phase::kClosing;  // answer, then close (SPOE.txt §3.2.5)
    return;
  }
  ThreadStats::inc(stats_.hellos);
  phase_ = Phase::kReady;
  shared_.log(LogLevel::kDebug, "spoe conn #" + std::to_string(id_) + " " + peer_ +
                                    ": HELLO ok, max-frame-size " +
                                    std::to_string(max_frame_size_) + ", capabilities \"" +
                                    std::string(hello.capabilities) + "\"");
}

void Connection::on_haproxy_disconnect(const FrameView& frame) {
  Disconnect d;
  parse_disconnect(frame.payload, d);
  Status status = d.has_status && is_known_status(d.status_code) ? static_cast<Status>(d.status_code)
                                                                 : Status::kUnknown;
  ThreadStats::inc(stats_.disconnects_received[status_slot(status)]);
  shared_.log(status == Status::kNormal || status == Status::kTimeout ? LogLevel::kDebug
                                                                        : LogLevel::kInfo,
              "spoe conn #" + std::to_string(id_) + " " + peer_ + ": HAProxy disconnects (" +
                  std::to_string(d.status_code) + " " + std::string(d.message) + ")");
  build_agent_disconnect(out_, Status::kNormal, "");
  ThreadStats::inc(stats_.disconnects_sent[status_slot(Status::kNormal)]);
  phase_ = Phase::kClosing;
}

void Connection::on_notify(const FrameView& frame) {
  ThreadStats::inc(stats_.notify_frames);
  const auto t0 = Clock::now();
  const size_t ack_start = out_.size();
  NotifyView view{frame.stream_id, frame.frame_id, frame.payload};
  AckWriter writer(out_, this, frame.stream_id, frame.frame_id);
  // The ACK header goes in first; the handler appends actions after it.
  FrameBuilder builder(out_, FrameType::kAck, frame.stream_id, frame.frame_id);
  const size_t actions_start = out_.size();
  try {
    if (shared_.handler) {
      shared_.handler(view, writer);
    }
  } catch (const std::bad_alloc&) {
    out_.resize(ack_start);
    ThreadStats::inc(stats_.handler_errors);
    fail(Status::kResourceAllocation, "out of memory in the NOTIFY handler");
    return;
  } catch (const std::exception& e) {
    out_.resize(ack_start);
    ThreadStats::inc(stats_.handler_errors);
    fail(Status::kUnknown, std::string("NOTIFY handler failed: ") + e.what());
    return;
  }
  if (writer.deferred()) {
    out_.resize(ack_start);  // the handle sends it later
    ThreadStats::inc(stats_.acks_deferred);
    return;
  }
  if (out_.size() == actions_start) {
    append_unset_var(out_, Scope::kTxn, kNoopVarName);
  }
  if (builder.finish(max_frame_size_) == 0) {
    shared_.log(LogLevel::kError, "spoe conn #" + std::to_string(id_) +
                                      ": ACK over max-frame-size " +
                                      std::to_string(max_frame_size_) + ", sent without actions");
    FrameBuilder empty(out_, FrameType::kAck, frame.stream_id, frame.frame_id);
    empty.unset_var(Scope::kTxn, kNoopVarName);
    empty.finish();
  }
  ThreadStats::inc(stats_.acks);
  stats_.observe_latency(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count()));
}

void Connection::post_ack(uint64_t stream_id, uint64_t frame_id, Bytes actions) {
  auto self = shared_from_this();
  asio::post(socket_.get_executor(),
             [self, stream_id, frame_id, actions = std::move(actions)]() {
               self->send_ack(stream_id, frame_id, actions);
             });
}

void Connection::send_ack(uint64_t stream_id, uint64_t frame_id,
                          std::span<const uint8_t> actions) {
  if (phase_ != Phase::kReady) {
    return;  // closed or closing: HAProxy has given up on this connection
  }
  FrameBuilder b(out_, FrameType::kAck, stream_id, frame_id);
  if (actions.empty()) {
    b.unset_var(Scope::kTxn, kNoopVarName);
  } else {
    b.raw(actions);
  }
  if (b.finish(max_frame_size_) == 0) {
    FrameBuilder empty(out_, FrameType::kAck, stream_id, frame_id);
    empty.unset_var(Scope::kTxn, kNoopVarName);
    empty.finish();
  }
  ThreadStats::inc(stats_.acks);
  wake_writer();
}

}  // namespace spoe
