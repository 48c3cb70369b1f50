#pragma once
// One SPOP connection (private to the server). Everything here runs on the
// connection's own io_context thread, except DeferredAck::complete(), which
// posts to it. The session idiom of spoe/session.hpp: the reader, writer
// and watchdog coroutines own the connection; the server's Worker keeps a
// weak_ptr only, to close it at stop().

#include <utility>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "spoe/server.hpp"
#include "spoe/session.hpp"

namespace spoe {

struct ServerShared {
  ServerOptions options;
  NotifyHandler handler;
  size_t max_output_bytes = 0;  // options.max_output_bytes after its floor
  std::atomic<size_t> connections{0};
  std::atomic<uint64_t> next_id{1};
  void log(LogLevel level, std::string_view text) const;
};

class Connection;

// One server thread: its io_context, counters and live connections.
struct Worker {
  ThreadStats stats;
  net::SessionSet<Connection> sessions;  // this thread's only
  net::LogLimiter slow_log;              // slow-reader lines of this thread
  bool stopping = false;                 // set on this thread by Server::stop()
  // Last, so destroyed first: if stop() ever had to force it, the handlers
  // it destroys release connections while the counters above still exist.
  boost::asio::io_context ctx{1};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, ServerShared& shared, Worker& worker);
  ~Connection();
  void start();
  // Closes the socket and ends every coroutine of the connection. Idempotent.
  void close();
  boost::asio::any_io_executor executor() { return socket_.get_executor(); }
  void on_deadline();  // from the watchdog

  // From DeferredAck (any thread).
  void post_ack(uint64_t stream_id, uint64_t frame_id, Bytes actions);

 private:
  enum class Phase { kAwaitHello, kReady, kClosing, kClosed };
  using Clock = std::chrono::steady_clock;

  boost::asio::awaitable<void> reader();
  boost::asio::awaitable<void> writer();

  // Decodes the frames in the read buffer while the output has room.
  void decode_buffered();
  // Handles one decoded frame; may queue frames and move to kClosing.
  void on_frame(const FrameView& frame);
  void on_hello(const FrameView& frame);
  void on_notify(const FrameView& frame);
  void on_haproxy_disconnect(const FrameView& frame);
  // Queues AGENT-DISCONNECT and closes once it is written.
  void fail(Status status, std::string_view detail);
  void send_ack(uint64_t stream_id, uint64_t frame_id, std::span<const uint8_t> actions);
  // Wakes whichever coroutine waits on the event (writer: data queued;
  // reader: room in the output again). They never wait at the same time.
  void signal();
  bool reading() const { return phase_ == Phase::kAwaitHello || phase_ == Phase::kReady; }
  size_t queued() const { return out_.size() + writing_.size() - written_; }
  bool output_full() const { return queued() >= shared_.max_output_bytes; }
  std::string who() const { return "spoe conn #" + std::to_string(id_) + " " + peer_; }

  boost::asio::ip::tcp::socket socket_;
  net::Deadline deadline_;           // the one deadline timer
  boost::asio::steady_timer event_;  // a signal between reader and writer, never a deadline
  ServerShared& shared_;
  Worker& worker_;
  std::string peer_;
  uint64_t id_;
  Phase phase_ = Phase::kAwaitHello;
  uint32_t max_frame_size_;
  Bytes in_;  // read buffer; frames are decoded in place
  size_t in_start_ = 0;
  size_t in_end_ = 0;
  Bytes out_;           // complete frames waiting for the writer
  Bytes writing_;       // frames the writer is sending
  size_t written_ = 0;  // bytes of writing_ already sent
  bool writer_waiting_ = false;
  bool reader_waiting_ = false;
  bool write_pending_ = false;
};

}  // namespace spoe
