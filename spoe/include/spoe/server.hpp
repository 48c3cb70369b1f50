#pragma once
/// @file
/// The SPOP server: accepts HAProxy's SPOP connections, negotiates HELLO,
/// answers health-check HELLOs, and calls a handler for every NOTIFY.
///
/// Threads: `threads` io_contexts, one thread each. One acceptor hands new
/// connections round-robin to the contexts; a connection lives on one thread
/// for its whole life, so its state needs no locking. Per connection a reader
/// coroutine decodes every complete frame of each read, a writer coroutine
/// sends queued frames (whole frames only, never interleaved, several ACKs
/// per send when they queue up), and a watchdog enforces the deadlines (the
/// session idiom of spoe/session.hpp: the coroutines own the connection).
///
/// Bounded: at most max_connections connections; per connection a read
/// buffer of max-frame-size + 16 KiB and an output queue of max_output_bytes.
/// When the output queue is full the reader stops reading (back-pressure:
/// HAProxy's NOTIFYs wait in the kernel, not in our memory); a peer that
/// takes none of its ACKs for write_timeout is disconnected.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "spoe/builder.hpp"
#include "spoe/frame.hpp"
#include "spoe/payload.hpp"
#include "spoe/stats.hpp"

namespace spoe {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
std::string_view to_string(LogLevel l);
/// Receives the server's log lines; called from server threads.
using LogFn = std::function<void(LogLevel, std::string_view)>;

struct ServerOptions {
  std::string host = "127.0.0.1";                   ///< IP literal to listen on ("::" or "0.0.0.0" for all)
  uint16_t port = 0;                                ///< 0: the kernel picks; see Server::port()
  unsigned threads = 0;                             ///< 0: std::thread::hardware_concurrency()
  uint32_t max_frame_size = kDefaultMaxFrameSize;   ///< ours; the HELLO takes the min with HAProxy's
  std::chrono::milliseconds hello_timeout{5'000};   ///< connect → HAPROXY-HELLO
  std::chrono::milliseconds idle_timeout{600'000};  ///< no byte read or written
  /// A write that makes no progress for this long (the peer reads none of its
  /// ACKs) closes the connection.
  std::chrono::milliseconds write_timeout{10'000};
  size_t max_connections = 10'000;
  /// Bytes of frames a connection may have queued for sending before its
  /// reader stops reading. Raised to 2 × (max_frame_size + 4) if below, so
  /// that one largest ACK always fits.
  size_t max_output_bytes = 256 * 1024;
  std::string capabilities = "pipelining";  ///< announced in AGENT-HELLO
  LogFn log;
  /// Called (on the accepting thread) for each connection closed at once
  /// because max_connections was reached; Stats counts it too.
  std::function<void()> on_refused;
};

/// A NOTIFY frame; views into the connection's read buffer, valid only
/// during the handler call.
struct NotifyView {
  uint64_t stream_id = 0;
  uint64_t frame_id = 0;
  std::span<const uint8_t> payload;
  MessageReader messages() const { return MessageReader(payload); }
};

class Connection;

/// Completes an ACK later, from any thread. Move-only. If it is destroyed
/// without complete(), it completes with what it has (HAProxy never waits
/// for `timeout processing` because of a forgotten handle).
class DeferredAck {
 public:
  DeferredAck() = default;
  DeferredAck(DeferredAck&&) noexcept;
  DeferredAck& operator=(DeferredAck&&) noexcept;
  DeferredAck(const DeferredAck&) = delete;
  DeferredAck& operator=(const DeferredAck&) = delete;
  ~DeferredAck();

  DeferredAck& set_var(Scope scope, std::string_view name, const Value& v);
  DeferredAck& unset_var(Scope scope, std::string_view name);
  DeferredAck& raw_actions(std::span<const uint8_t> actions);
  /// Sends the ACK (posted to the connection's thread). Idempotent.
  void complete();
  bool valid() const { return conn_ != nullptr; }
  uint64_t stream_id() const { return stream_id_; }
  uint64_t frame_id() const { return frame_id_; }

 private:
  friend class AckWriter;
  std::shared_ptr<Connection> conn_;
  uint64_t stream_id_ = 0;
  uint64_t frame_id_ = 0;
  Bytes actions_;
};

/// Where a handler writes the ACK's actions. Synchronous path: write the
/// actions and return; the server sends the ACK. Deferred path: call defer()
/// and complete the handle later.
class AckWriter {
 public:
  AckWriter& set_var(Scope scope, std::string_view name, const Value& v);
  AckWriter& unset_var(Scope scope, std::string_view name);
  /// Appends pre-encoded actions (see append_set_var) — the zero-work path.
  AckWriter& raw_actions(std::span<const uint8_t> actions);
  DeferredAck defer();
  bool deferred() const { return deferred_; }
  uint64_t stream_id() const { return stream_id_; }
  uint64_t frame_id() const { return frame_id_; }

 private:
  friend class Connection;
  AckWriter(Bytes& out, Connection* conn, uint64_t sid, uint64_t fid)
      : out_(out), conn_(conn), stream_id_(sid), frame_id_(fid) {}
  Bytes& out_;
  Connection* conn_;  // for defer(); a raw pointer keeps the sync path free of refcounting
  uint64_t stream_id_;
  uint64_t frame_id_;
  bool deferred_ = false;
};

/// Called on the connection's thread for every NOTIFY. Must not block.
using NotifyHandler = std::function<void(const NotifyView&, AckWriter&)>;

/// The variable every ACK carries when the handler wrote no action
/// (HAProxy 3.1.0 stalled on empty ACKs): unset-var txn "spoe_noop".
inline constexpr std::string_view kNoopVarName = "spoe_noop";

class Server {
 public:
  Server(ServerOptions options, NotifyHandler handler);
  ~Server();  ///< stop() and join
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and starts the threads. Throws std::system_error if it cannot bind.
  void start();
  /// Stops accepting, closes every connection, lets each thread's io_context
  /// run dry (every connection's coroutines end) and joins the threads.
  /// Idempotent. A DeferredAck must not outlive the server.
  void stop();
  /// The bound port (after start()).
  uint16_t port() const;
  Stats stats() const;
  const ServerOptions& options() const;
  /// The output bound in force (max_output_bytes after the floor above).
  size_t max_output_bytes() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace spoe
