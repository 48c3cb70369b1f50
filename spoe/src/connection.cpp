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

Connection::Connection(asio::ip::tcp::socket socket, ServerShared& shared, Worker& worker)
    : socket_(std::move(socket)),
      // The watchdog wakes at least every write_timeout, so arming the write
      // deadline (every write) never moves the timer.
      deadline_(socket_.get_executor(), shared.options.write_timeout),
      event_(socket_.get_executor()),
      shared_(shared),
      worker_(worker),
      id_(shared.next_id.fetch_add(1, std::memory_order_relaxed)),
      max_frame_size_(shared.options.max_frame_size) {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  peer_ = ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
  // No buffer yet: they are made when the peer first sends (reader()), so a
  // connection that never says a word costs no buffer (docs/reliability.md,
  // "Floods").
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

Connection::~Connection() {
  shared_.connections.fetch_sub(1, std::memory_order_relaxed);
  worker_.stats.connections_current.fetch_sub(1, std::memory_order_relaxed);
}

void Connection::start() {
  deadline_.arm(shared_.options.hello_timeout);  // not moved by reads until the HELLO
  auto self = shared_from_this();
  net::spawn(self, &Connection::reader);
  net::spawn(self, &Connection::writer);
  net::spawn_watchdog(self, deadline_);
}

void Connection::decode_buffered() {
  while (reading() && !output_full()) {
    DecodeResult r = decode_frame(std::span(in_.data() + in_start_, in_end_ - in_start_), max_frame_size_);
    if (r.state == DecodeState::kNeedMore) {
      break;
    }
    if (r.state == DecodeState::kError) {
      fail(r.error, r.error == Status::kTooBig ? "frame length " + std::to_string(read_be32(in_.data() + in_start_)) +
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
  ThreadStats::raise(worker_.stats.output_queue_peak, queued());
}

awaitable<void> Connection::reader() {
  boost::system::error_code ec;
  co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, asio::redirect_error(use_awaitable, ec));
  if (ec || !reading()) {
    if (ec && reading()) {
      shared_.log(LogLevel::kDebug, who() + ": closed before a frame (" + ec.message() + ")");
      close();
    }
    co_return;
  }
  in_.resize(size_t{4} + max_frame_size_ + kReadSlack);
  out_.reserve(size_t{4} + max_frame_size_);
  writing_.reserve(size_t{4} + max_frame_size_);
  for (;;) {
    decode_buffered();
    if (writer_waiting_ && !out_.empty()) {
      signal();
    }
    if (!reading()) {
      co_return;
    }
    if (output_full()) {
      // Back-pressure: read nothing more until the writer has made room; the
      // peer's frames wait in the kernel's buffers, not in ours.
      ThreadStats::inc(worker_.stats.read_pauses);
      reader_waiting_ = true;
      while (output_full() && reading()) {
        event_.expires_at(asio::steady_timer::time_point::max());
        co_await event_.async_wait(asio::redirect_error(use_awaitable, ec));
      }
      reader_waiting_ = false;
      continue;
    }
    if (in_end_ == in_.size()) {
      // Only a partial frame can be left here; move it to the front.
      std::memmove(in_.data(), in_.data() + in_start_, in_end_ - in_start_);
      in_end_ -= in_start_;
      in_start_ = 0;
    }
    size_t n = co_await socket_.async_read_some(asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
                                                asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (reading()) {
        // EOF or RST from HAProxy (reload, check, idle close): quiet.
        shared_.log(LogLevel::kDebug,
                    who() + ": closed by peer (" + ec.message() + ")" + (in_end_ > in_start_ ? ", mid-frame" : ""));
        close();
      }
      co_return;
    }
    if (phase_ == Phase::kReady && !write_pending_) {
      deadline_.arm(shared_.options.idle_timeout);  // while a write waits, its deadline stands
    }
    ThreadStats::inc(worker_.stats.bytes_in, n);
    in_end_ += n;
  }
}

awaitable<void> Connection::writer() {
  boost::system::error_code ec;
  for (;;) {
    if (written_ == writing_.size()) {
      writing_.clear();
      written_ = 0;
      if (out_.empty()) {
        if (!reading()) {
          break;  // closing and everything sent, or closed
        }
        writer_waiting_ = true;
        event_.expires_at(asio::steady_timer::time_point::max());
        co_await event_.async_wait(asio::redirect_error(use_awaitable, ec));
        writer_waiting_ = false;
        continue;
      }
      std::swap(out_, writing_);
    }
    write_pending_ = true;
    deadline_.arm(shared_.options.write_timeout);
    size_t n = co_await socket_.async_write_some(asio::buffer(writing_.data() + written_, writing_.size() - written_),
                                                 asio::redirect_error(use_awaitable, ec));
    write_pending_ = false;
    if (ec) {
      if (phase_ != Phase::kClosed) {
        shared_.log(LogLevel::kDebug, who() + ": write failed (" + ec.message() + ")");
      }
      break;
    }
    written_ += n;
    ThreadStats::inc(worker_.stats.bytes_out, n);
    deadline_.arm(phase_ == Phase::kReady ? shared_.options.idle_timeout : shared_.options.write_timeout);
    if (reader_waiting_ && !output_full()) {
      signal();
    }
  }
  close();
}

void Connection::on_deadline() {
  if (phase_ == Phase::kClosed) {
    return;
  }
  if (write_pending_) {
    ThreadStats::inc(worker_.stats.slow_reader_disconnects);
    size_t suppressed = 0;
    if (worker_.slow_log.allow(suppressed)) {
      shared_.log(LogLevel::kWarn, who() + ": the peer took none of its ACKs for " +
                                       std::to_string(shared_.options.write_timeout.count()) + " ms (" +
                                       std::to_string(queued()) + " bytes queued, reading paused at " +
                                       std::to_string(shared_.max_output_bytes) + "), closing" +
                                       net::LogLimiter::more(suppressed));
    }
  } else {
    const bool hello = phase_ == Phase::kAwaitHello;
    shared_.log(LogLevel::kInfo,
                who() + ": " + (hello ? "no HELLO within " : "idle for ") +
                    std::to_string((hello ? shared_.options.hello_timeout : shared_.options.idle_timeout).count()) +
                    " ms, closing");
  }
  close();
}

void Connection::signal() { event_.cancel(); }

void Connection::close() {
  if (phase_ == Phase::kClosed) {
    return;
  }
  phase_ = Phase::kClosed;
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  deadline_.stop();
  event_.cancel();
}

void Connection::fail(Status status, std::string_view detail) {
  std::string message = std::string(to_string(status));
  if (!detail.empty()) {
    message += ": ";
    message += detail;
  }
  shared_.log(LogLevel::kWarn, who() + ": protocol error, sending DISCONNECT " +
                                   std::to_string(static_cast<uint32_t>(status)) + " (" + message + ")");
  build_agent_disconnect(out_, status, message);
  ThreadStats::inc(worker_.stats.disconnects_sent[status_slot(status)]);
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
      fail(Status::kInvalid, "expected HAPROXY-HELLO, got frame type " + std::to_string(frame.raw_type));
      return;
    }
    on_hello(frame);
    return;
  }
  switch (frame.type) {
    case FrameType::kNotify: on_notify(frame); return;
    case FrameType::kHaproxyDisconnect: on_haproxy_disconnect(frame); return;
    case FrameType::kHaproxyHello: fail(Status::kInvalid, "second HAPROXY-HELLO on one connection"); return;
    case FrameType::kUnset: fail(Status::kFragmentationNotSupported, "fragment continuation (UNSET frame)"); return;
    default: fail(Status::kInvalid, "unexpected frame type " + std::to_string(frame.raw_type)); return;
  }
}

void Connection::on_hello(const FrameView& frame) {
  HaproxyHello hello;
  std::string invalid;
  Status st = parse_haproxy_hello(frame.payload, hello, &invalid);
  Negotiated negotiated;
  if (st == Status::kNormal) {
    st = negotiate(hello, shared_.options.max_frame_size, negotiated);
  }
  if (st != Status::kNormal) {
    std::string detail;
    if (st == Status::kInvalid) {
      detail = "HAPROXY-HELLO: " + invalid;
    } else if (st == Status::kBadVersion) {
      detail = "HAProxy offers \"" + std::string(hello.supported_versions) + "\", we speak 2.0";
    } else if (st == Status::kBadFrameSize) {
      detail = "HAProxy's max-frame-size " + std::to_string(hello.max_frame_size) + " is below 256";
    }
    fail(st, detail);
    return;
  }
  build_agent_hello(out_, negotiated.max_frame_size, shared_.options.capabilities);
  max_frame_size_ = negotiated.max_frame_size;
  if (negotiated.healthcheck) {
    ThreadStats::inc(worker_.stats.healthchecks);
    phase_ = Phase::kClosing;  // answer, then close (SPOE.txt §3.2.5)
    return;
  }
  ThreadStats::inc(worker_.stats.hellos);
  phase_ = Phase::kReady;
  deadline_.arm(shared_.options.idle_timeout);
  shared_.log(LogLevel::kDebug, who() + ": HELLO ok, max-frame-size " + std::to_string(max_frame_size_) +
                                    ", capabilities \"" + std::string(hello.capabilities) + "\"");
}

void Connection::on_haproxy_disconnect(const FrameView& frame) {
  Disconnect d;
  std::string invalid;
  if (parse_disconnect(frame.payload, d, &invalid) != Status::kNormal) {
    fail(Status::kInvalid, "HAPROXY-DISCONNECT: " + invalid);
    return;
  }
  Status status =
      d.has_status && is_known_status(d.status_code) ? static_cast<Status>(d.status_code) : Status::kUnknown;
  ThreadStats::inc(worker_.stats.disconnects_received[status_slot(status)]);
  shared_.log(status == Status::kNormal || status == Status::kTimeout ? LogLevel::kDebug : LogLevel::kInfo,
              who() + ": HAProxy disconnects (" + std::to_string(d.status_code) + " " + std::string(d.message) + ")");
  build_agent_disconnect(out_, Status::kNormal, "");
  ThreadStats::inc(worker_.stats.disconnects_sent[status_slot(Status::kNormal)]);
  phase_ = Phase::kClosing;
}

void Connection::on_notify(const FrameView& frame) {
  ThreadStats::inc(worker_.stats.notify_frames);
  const auto t0 = Clock::now();
  // SPOE.txt: a NOTIFY whose messages do not decode is an invalid frame,
  // answered with DISCONNECT 4, never with an ACK for what decoded before.
  if (std::string invalid; validate_messages(frame.payload, &invalid) != Status::kNormal) {
    ThreadStats::inc(worker_.stats.invalid_notifies);
    fail(Status::kInvalid, "NOTIFY stream " + std::to_string(frame.stream_id) + " frame " +
                               std::to_string(frame.frame_id) + ": " + invalid);
    return;
  }
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
    ThreadStats::inc(worker_.stats.handler_errors);
    fail(Status::kResourceAllocation, "out of memory in the NOTIFY handler");
    return;
  } catch (const std::exception& e) {
    out_.resize(ack_start);
    ThreadStats::inc(worker_.stats.handler_errors);
    fail(Status::kUnknown, std::string("NOTIFY handler failed: ") + e.what());
    return;
  }
  if (writer.deferred()) {
    out_.resize(ack_start);  // the handle sends it later
    ThreadStats::inc(worker_.stats.acks_deferred);
    return;
  }
  if (out_.size() == actions_start) {
    append_unset_var(out_, Scope::kTxn, kNoopVarName);
  }
  if (builder.finish(max_frame_size_) == 0) {
    shared_.log(LogLevel::kError,
                who() + ": ACK over max-frame-size " + std::to_string(max_frame_size_) + ", sent without actions");
    FrameBuilder empty(out_, FrameType::kAck, frame.stream_id, frame.frame_id);
    empty.unset_var(Scope::kTxn, kNoopVarName);
    empty.finish();
  }
  ThreadStats::inc(worker_.stats.acks);
  worker_.stats.observe_latency(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count()));
}

void Connection::post_ack(uint64_t stream_id, uint64_t frame_id, Bytes actions) {
  auto self = shared_from_this();
  asio::post(socket_.get_executor(), [self, stream_id, frame_id, actions = std::move(actions)]() {
    self->send_ack(stream_id, frame_id, actions);
  });
}

void Connection::send_ack(uint64_t stream_id, uint64_t frame_id, std::span<const uint8_t> actions) {
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
  ThreadStats::inc(worker_.stats.acks);
  if (writer_waiting_) {
    signal();
  }
}

}  // namespace spoe
