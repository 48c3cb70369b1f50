#pragma once
// AdminServer: the Unix socket operators (and haesctl) talk to. Each
// connection sends request lines; each line gets one reply ending with an
// empty line (render_reply). The peer's uid/pid come from SO_PEERCRED and
// name the actor in the journal. Runs on the executor it is given (the
// agent's control thread), so handlers see the controller's state without
// locks. Sessions follow spoe/session.hpp (shared, owned by their
// coroutines, one Deadline each): io_timeout (30 s) to send a whole line and
// to take the reply, none while a command runs (it may wait on a sync);
// lines up to max_line (4 KiB), a longer one is answered with a usage error
// and the connection closed; at most max_connections at once, the next
// ones closed at once, counted (on_refused) and logged (rate-limited).
// stop() closes the acceptor and every session.
// Peer credentials: whoever connects is checked against admin.mode by uid
// and groups (peer_allowed), whatever the socket file's mode has become;
// a peer not allowed gets one "forbidden" line, and is counted and logged.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>  // before Asio 1.74 awaitable.hpp, which uses std::exchange without it
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "admin/command_table.hpp"
#include "common/result.hpp"
#include "spoe/session.hpp"

namespace haes::admin {

struct AdminServerOptions {
  size_t max_connections = 64;
  std::chrono::milliseconds io_timeout{30'000};
  size_t max_line = 4096;
  std::function<void()> on_refused;  // a connection over max_connections was closed
};

// A connecting process's credentials: SO_PEERCRED's uid and gid, and the
// supplementary groups of that uid's user.
struct PeerIds {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

// Whether a peer may use a socket that admin.mode `mode` gives to `owner`
// (the agent's user) and `group` (the socket's group): root and the owner
// always; a member of the group (primary or supplementary) when the mode
// gives the group write access (connecting needs write); anyone when it
// gives others write access. The kernel checks the file's mode at
// connect(); this checks the configured one, so a socket chmod'ed by hand,
// or reached through a descriptor passed on, still lets in only these.
bool peer_allowed(const PeerIds& peer, uid_t owner, gid_t group, unsigned mode);

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& ctx, std::string path, unsigned mode, const CommandTable& table,
              AdminServerOptions options = {});
  ~AdminServer();
  // Binds and listens. A stale socket file (nobody listening) is replaced;
  // a live one is an error ("another agent is using it").
  Result<void> start();
  // Closes the acceptor (removing the socket file) and every session; the
  // sessions end at the next run of the io_context. Call on its thread, or
  // with that thread stopped.
  void stop();
  size_t sessions() { return sessions_.live(); }  // for tests

  class Session;
  struct Shared;

 private:
  boost::asio::awaitable<void> accept_loop();

  boost::asio::io_context& ctx_;
  std::string path_;
  unsigned mode_;
  std::shared_ptr<Shared> shared_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  spoe::net::SessionSet<Session> sessions_;
  spoe::net::LogLimiter refused_log_;
  spoe::net::LogLimiter forbidden_log_;
  uid_t owner_ = 0;
  gid_t group_ = 0;
  bool bound_ = false;
};

}  // namespace haes::admin
