#pragma once
// One SPOP connection (private to the server). Everything here runs on the
// connection's own io_context thread, except DeferredAck::complete(), which
// posts to it.

#include <utility>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "spoe/server.hpp"

namespace spoe {

struct ServerShared {
  ServerOptions options;
  NotifyHandler handler;
  std::atomic<size_t> connections{0};
  std::atomic<uint64_t> next_id{1};
  void log(LogLevel level, std::string_view text) const;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, ServerShared& shared, ThreadStats& stats);
  ~Connection();
  void start();

  // From DeferredAck (any thread).
  void post_ack(uint64_t stream_id, uint64_t frame_id, Bytes actions);

 private:
  enum class Phase { kAwaitHello, kReady, kClosing, kClosed };
  using Clock = std::chrono::steady_clock;

  boost::asio::awaitable<void> reader();
  boost::asio::awaitable<void> writer();
  boost::asio::awaitable<void> watchdog();

  // Handles one decoded frame; may queue frames and move to kClosing.
  void on_frame(const FrameView& frame);
  void on_hello(const FrameView& frame);
  void on_notify(const FrameView& frame);
  void on_haproxy_disconnect(const FrameView& frame);
  // Queues AGENT-DISCONNECT and closes once it is written.
  void fail(Status status, std::string_view detail);
  void send_ack(uint64_t stream_id, uint64_t frame_id, std::span<const uint8_t> actions);
  void wake_writer();
  void close_now();
  std::chrono::milliseconds current_timeout() const;

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer wake_;
  boost::asio::steady_timer watchdog_timer_;
  ServerShared& shared_;
  ThreadStats& stats_;
  std::string peer_;
  uint64_t id_;
  Phase phase_ = Phase::kAwaitHello;
  uint32_t max_frame_size_;
  Bytes in_;        // read buffer; frames are decoded in place
  size_t in_start_ = 0;
  size_t in_end_ = 0;
  Bytes out_;       // complete frames waiting for the writer
  Bytes writing_;   // frames the writer is sending
  bool writer_idle_ = false;
  Clock::time_point last_activity_;
};

}  // namespace spoe
