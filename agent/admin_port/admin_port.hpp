#pragma once
// The admin port (docs/admin.md "The admin port"): the admin socket's
// commands over HTTPS, for operators on other hosts (haesctl --url) and for
// agents forwarding a command to their leader. TLS only; a request is let in
// with a client certificate of `client_ca_file`, or with the bearer token;
// anything else is refused (401) and logged, without the token.
//
//   POST /v1/command   {"command": "switchover --to dc2", "json": false,
//                       "on_behalf_of": "operator alice@lb2"}   (the last one:
//                       honoured only with the token: agents forwarding)
//   -> the reply exactly as the socket renders it (text or JSON), with the
//      HTTP status saying how it ended: 200 done, 400 bad command line,
//      409 refused, 500 failed, 401 not authenticated.
//
// Runs on the executor it is given (the control thread, like the socket:
// commands see the controller and the pipeline without locks). Deadlines:
// the TLS handshake and the request 10 s each; a command's reply may take
// as long as the command (a planned switchover waits on a sync).
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "admin/command_table.hpp"
#include "common/result.hpp"
#include "config/config.hpp"
#include "metrics/stats.hpp"

namespace haes {

// clang-format off
#define HAES_ADMIN_PORT_RESULT_LIST(X)   \
  X(kServed, "served")                   \
  X(kUnauthenticated, "unauthenticated") \
  X(kBadRequest, "bad_request")          \
  X(kTlsFailed, "tls_failed")
// clang-format on
HAES_ENUM(AdminPortResult, uint8_t, "result", HAES_ADMIN_PORT_RESULT_LIST)

struct AdminPortStats {
  EnumCounter<AdminPortResult> requests;
  Counter connections_refused;
  template <class V>
  void visit(V& v) const {
    v(requests, "haes_admin_port_requests_total", "Admin port requests by outcome.");
    v(connections_refused, "haes_admin_port_connections_refused_total",
      "Admin port connections closed at once: the connection limit was reached.");
  }
};

struct AdminPortOptions {
  Endpoint listen;
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // "" : no client certificates
  std::string token;           // "" : no token
  size_t max_connections = 64;
  std::chrono::milliseconds io_timeout{10'000};
  size_t max_body_bytes = 16 * 1024;
};

class AdminPort {
 public:
  // Throws std::runtime_error (start-up) when the certificate, key or CA
  // cannot be loaded; the message names the file.
  AdminPort(boost::asio::io_context& ctx, AdminPortOptions options, const admin::CommandTable& table);
  ~AdminPort();
  // Binds and listens. Error kListen names the address.
  Result<void> start();
  void stop();
  uint16_t port() const;
  const AdminPortStats& stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace haes
