#include "admin_port/admin_port.hpp"

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "spoe/session.hpp"

namespace haes {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;

struct AdminPort::Impl : std::enable_shared_from_this<AdminPort::Impl> {
  Impl(asio::io_context& c, AdminPortOptions o, const admin::CommandTable& t)
      : ctx(c), options(std::move(o)), table(t), tls(ssl::context::tls_server), acceptor(c) {}

  asio::io_context& ctx;
  AdminPortOptions options;
  const admin::CommandTable& table;
  ssl::context tls;
  tcp::acceptor acceptor;
  size_t connections = 0;
  bool stopped = false;
  AdminPortStats stats;
};

namespace {

// Constant time: the token never leaks through timing.
bool same_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string peer_cn(SSL* ssl) {
  X509* cert = SSL_get_peer_certificate(ssl);
  if (cert == nullptr) {
    return "";
  }
  std::string cn;
  if (SSL_get_verify_result(ssl) == X509_V_OK) {
    char buf[256] = {};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf - 1) > 0) {
      cn = buf;
    } else {
      cn = "(no CN)";
    }
  }
  X509_free(cert);
  return cn;
}

http::status status_of(const admin::Reply& r) {
  if (r.ok) {
    return http::status::ok;
  }
  switch (r.code) {
    case ErrorCode::kUsage: return http::status::bad_request;
    case ErrorCode::kInternal:
    case ErrorCode::kStoreError: return http::status::internal_server_error;
    default: return http::status::conflict;
  }
}

// One connection: TLS handshake, then requests until the client closes.
// Owns its stream; holds the server's state by shared ownership.
asio::awaitable<void> session(std::shared_ptr<AdminPort::Impl> self, tcp::socket socket) {
  ++self->connections;
  std::string remote = "?";
  {
    boost::system::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (!ec) {
      remote = ep.address().to_string();
    }
  }
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), self->tls);
  boost::system::error_code ec;
  beast::get_lowest_layer(stream).expires_after(self->options.io_timeout);
  co_await stream.async_handshake(ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    self->stats.requests.inc(AdminPortResult::kTlsFailed);
    spdlog::warn("admin port: TLS handshake with {} failed: {}", remote, ec.message());
    --self->connections;
    co_return;
  }
  const std::string cn = self->options.client_ca_file.empty() ? "" : peer_cn(stream.native_handle());
  beast::flat_buffer buffer;
  while (!self->stopped) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(self->options.max_body_bytes);
    parser.header_limit(8 * 1024);
    beast::get_lowest_layer(stream).expires_after(self->options.io_timeout);
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      break;  // closed, timed out, or not HTTP: the connection ends
    }
    auto req = parser.release();
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "haes-agent");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    // Authentication: a verified client certificate, or the bearer token.
    std::string who;
    bool by_token = false;
    if (!cn.empty()) {
      who = "cn=" + cn + "@" + remote;
    } else if (!self->options.token.empty()) {
      std::string auth(req[http::field::authorization]);
      if (auth.rfind("Bearer ", 0) == 0 && same_secret(auth.substr(7), self->options.token)) {
        who = "token@" + remote;
        by_token = true;
      }
    }
    if (who.empty()) {
      self->stats.requests.inc(AdminPortResult::kUnauthenticated);
      spdlog::warn("admin port: refused a request from {}: {}", remote,
                   self->options.client_ca_file.empty()
                       ? "no valid bearer token"
                       : (self->options.token.empty() ? "no client certificate of the admin CA"
                                                      : "neither a client certificate of the admin CA nor a valid "
                                                        "bearer token"));
      res.result(http::status::unauthorized);
      res.set(http::field::www_authenticate, "Bearer");
      res.body() = "error: not authenticated (a client certificate of the admin CA or the bearer token is needed)\n\n";
    } else if (req.method() != http::verb::post || req.target() != "/v1/command") {
      self->stats.requests.inc(AdminPortResult::kBadRequest);
      res.result(http::status::not_found);
      res.body() = "error: bad command: POST /v1/command with {\"command\": \"...\"} is the only request here\n\n";
    } else {
      auto body = nlohmann::json::parse(req.body(), nullptr, false);
      std::string line;
      bool as_json = false;
      bool full_reply = false;
      std::string on_behalf;
      if (body.is_object() && body.contains("command") && body["command"].is_string()) {
        line = body["command"].get<std::string>();
        auto flag = [&body](const char* name) {
          return body.contains(name) && body[name].is_boolean() && body[name].get<bool>();
        };
        as_json = flag("json");
        full_reply = flag("full_reply");
        if (by_token && body.contains("on_behalf_of") && body["on_behalf_of"].is_string()) {
          on_behalf = body["on_behalf_of"].get<std::string>();
        }
      }
      if (line.empty() || line.find('\n') != std::string::npos) {
        self->stats.requests.inc(AdminPortResult::kBadRequest);
        res.result(http::status::bad_request);
        res.body() = "error: bad command: the body must be {\"command\": \"<one command line>\"}\n\n";
      } else {
        admin::Peer peer;
        peer.user = on_behalf.empty()
                        ? who
                        : on_behalf.substr(on_behalf.rfind("operator ", 0) == 0 ? 9 : 0) + " (via " + who + ")";
        peer.forwarded = !on_behalf.empty();
        if (as_json && line.find("--json") == std::string::npos) {
          line += " --json";
        }
        // The command may wait on a sync: no deadline while it runs.
        beast::get_lowest_layer(stream).expires_never();
        admin::Reply reply = co_await self->table.run_async(line, peer);
        res.result(status_of(reply));
        res.body() = full_reply
                         ? admin::reply_to_wire(reply).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                         : admin::render_reply(reply, reply.as_json);
        if (reply.as_json || full_reply) {
          res.set(http::field::content_type, "application/json");
        }
        self->stats.requests.inc(AdminPortResult::kServed);
      }
    }
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(self->options.io_timeout);
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive()) {
      break;
    }
  }
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  --self->connections;
}

asio::awaitable<void> accept_loop(std::shared_ptr<AdminPort::Impl> self) {
  boost::system::error_code ec;
  spoe::net::LogLimiter accept_log;
  while (!self->stopped) {
    tcp::socket s = co_await self->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (self->stopped) {
        co_return;
      }
      size_t suppressed = 0;
      if (accept_log.allow(suppressed)) {
        spdlog::warn("admin port: accept failed: {}{}", ec.message(), spoe::net::LogLimiter::more(suppressed));
      }
      co_await spoe::net::accept_backoff(ec);
      continue;
    }
    if (self->connections >= self->options.max_connections) {
      self->stats.connections_refused.inc();
      s.close(ec);
      continue;
    }
    asio::co_spawn(self->ctx, session(self, std::move(s)), asio::detached);
  }
}

}  // namespace

AdminPort::AdminPort(asio::io_context& ctx, AdminPortOptions options, const admin::CommandTable& table)
    : impl_(std::make_shared<Impl>(ctx, std::move(options), table)) {
  auto& o = impl_->options;
  boost::system::error_code ec;
  impl_->tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                         ec);
  impl_->tls.use_certificate_chain_file(o.cert_file, ec);
  if (ec) {
    throw std::runtime_error("admin.port.cert_file " + o.cert_file + ": " + ec.message());
  }
  impl_->tls.use_private_key_file(o.key_file, ssl::context::pem, ec);
  if (ec) {
    throw std::runtime_error("admin.port.key_file " + o.key_file + ": " + ec.message());
  }
  if (!o.client_ca_file.empty()) {
    impl_->tls.load_verify_file(o.client_ca_file, ec);
    if (ec) {
      throw std::runtime_error("admin.port.client_ca_file " + o.client_ca_file + ": " + ec.message());
    }
    // A certificate is asked for and verified; without one the token may
    // still let the request in (agents forwarding carry the token).
    impl_->tls.set_verify_mode(ssl::verify_peer);
    impl_->tls.set_verify_callback([](bool, ssl::verify_context&) { return true; });  // judged per request
  }
}

AdminPort::~AdminPort() { stop(); }

Result<void> AdminPort::start() {
  boost::system::error_code ec;
  auto addr =
      asio::ip::make_address(impl_->options.listen.host == "localhost" ? "127.0.0.1" : impl_->options.listen.host, ec);
  if (ec) {
    return Error{ErrorCode::kListen, "admin.port.listen " + impl_->options.listen.to_string() + ": " + ec.message()};
  }
  tcp::endpoint ep(addr, impl_->options.listen.port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) {
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    impl_->acceptor.bind(ep, ec);
  }
  if (!ec) {
    impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Error{ErrorCode::kListen,
                 "cannot listen on admin.port.listen " + impl_->options.listen.to_string() + ": " + ec.message()};
  }
  asio::co_spawn(impl_->ctx, accept_loop(impl_), asio::detached);
  return Ok{};
}

void AdminPort::stop() {
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

uint16_t AdminPort::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

const AdminPortStats& AdminPort::stats() const { return impl_->stats; }

}  // namespace haes
