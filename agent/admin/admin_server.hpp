#pragma once
// AdminServer: the Unix socket operators (and haesctl) talk to. Each
// connection sends request lines; each line gets one reply ending with an
// empty line (render_reply). The peer's uid/pid come from SO_PEERCRED and
// name the actor in the journal. Runs on the executor it is given (the
// agent's control thread), so handlers see the controller's state without
// locks. Deadlines: 30 s to send a line and 30 s to take the reply; lines
// up to 4 KiB.
#include <utility>  // before Asio 1.74 awaitable.hpp, which uses std::exchange without it
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "admin/command_table.hpp"
#include "common/result.hpp"

namespace haes::admin {

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& ctx, std::string path, unsigned mode, const CommandTable& table);
  ~AdminServer();
  // Binds and listens. A stale socket file (nobody listening) is replaced;
  // a live one is an error ("another agent is using it").
  Result<void> start();
  void stop();

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::local::stream_protocol::socket socket);

  boost::asio::io_context& ctx_;
  std::string path_;
  unsigned mode_;
  const CommandTable& table_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  bool bound_ = false;
};

}  // namespace haes::admin
