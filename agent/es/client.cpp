#include "es/client.hpp"
#include "es/response.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <optional>
#include <variant>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace haes::es {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct TlsContext {
  asio::ssl::context ctx{asio::ssl::context::tls_client};
  bool verify = true;
};

Result<std::shared_ptr<TlsContext>> make_tls_context(const TlsConfig& tls) {
  auto c = std::make_shared<TlsContext>();
  boost::system::error_code ec;
  c->ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1,
                     ec);
  c->verify = !tls.insecure;
  if (c->verify) {
    if (!tls.ca_file.empty()) {
      c->ctx.load_verify_file(tls.ca_file, ec);
      if (ec) {
        return Error{ErrorCode::kTlsConfig, "tls.ca_file " + tls.ca_file + ": " + ec.message()};
      }
    } else {
      c->ctx.set_default_verify_paths(ec);
      if (ec) {
        return Error{ErrorCode::kTlsConfig, "cannot load the system CA certificates: " + ec.message()};
      }
    }
    c->ctx.set_verify_mode(asio::ssl::verify_peer);
  } else {
    c->ctx.set_verify_mode(asio::ssl::verify_none);
  }
  if (!tls.cert_file.empty()) {
    c->ctx.use_certificate_chain_file(tls.cert_file, ec);
    if (ec) {
      return Error{ErrorCode::kTlsConfig, "tls.cert_file " + tls.cert_file + ": " + ec.message()};
    }
    c->ctx.use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
    if (ec) {
      return Error{ErrorCode::kTlsConfig, "tls.key_file " + tls.key_file + ": " + ec.message()};
    }
  }
  return c;
}

struct NodeClient::Impl {
  Impl(asio::any_io_executor ex, NodeClientOptions o) : executor(std::move(ex)), options(std::move(o)) {
    if (options.server_name.empty()) {
      options.server_name = options.url.host;
    }
    host_header = options.url.host.find(':') != std::string::npos ? "[" + options.url.host + "]" : options.url.host;
    host_header += ":" + std::to_string(options.url.port);
  }

  using Plain = beast::tcp_stream;
  using Tls = beast::ssl_stream<beast::tcp_stream>;

  asio::any_io_executor executor;
  NodeClientOptions options;
  std::string host_header;
  std::optional<Plain> plain;
  std::optional<Tls> tls;
  beast::flat_buffer buffer;
  // shutdown(): set, every pending operation is cancelled; while a request
  // runs, what it waits on (resolver, connecting stream, connection).
  bool shut = false;
  bool in_flight = false;
  tcp::resolver* resolving = nullptr;
  beast::tcp_stream* connecting = nullptr;

  // Cancels what the request in flight waits on; the request's own error
  // path drops the connection afterwards (destroying a stream with an
  // operation pending on it would be undefined).
  void shutdown() {
    shut = true;
    if (resolving) {
      resolving->cancel();
    }
    if (connecting) {
      connecting->cancel();
    }
    if (connected()) {
      if (in_flight) {
        lowest().cancel();
      } else {
        drop();
      }
    }
  }

  bool connected() const { return plain.has_value() || tls.has_value(); }
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  void drop() {
    boost::system::error_code ec;
    if (tls) {
      beast::get_lowest_layer(*tls).socket().close(ec);
      tls.reset();
    }
    if (plain) {
      plain->socket().close(ec);
      plain.reset();
    }
    buffer.clear();
  }

  Error cancelled() const {
    return Error{ErrorCode::kCancelled,
                 host_header + ": request cancelled: the client was shut down (the agent is stopping)"};
  }

  static Error fail(ErrorCode code, const std::string& what, const boost::system::error_code& ec) {
    return Error{code, what + ": " + ec.message()};
  }

  asio::awaitable<Result<void>> connect(std::chrono::steady_clock::time_point deadline) {
    boost::system::error_code ec;
    tcp::resolver resolver(executor);
    // Name resolution has the request's deadline too: past it, cancel.
    asio::steady_timer resolve_deadline(executor, deadline);
    resolve_deadline.async_wait([&resolver](const boost::system::error_code& e) {
      if (!e) {
        resolver.cancel();
      }
    });
    resolving = &resolver;
    auto endpoints = co_await resolver.async_resolve(options.url.host, std::to_string(options.url.port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    resolving = nullptr;
    resolve_deadline.cancel();
    if (shut) {
      co_return cancelled();
    }
    if (ec == asio::error::operation_aborted) {
      co_return Error{ErrorCode::kTimeout, "resolving " + options.url.host + " took longer than the timeout"};
    }
    if (ec) {
      co_return fail(ErrorCode::kConnect, "cannot resolve " + options.url.host, ec);
    }
    beast::tcp_stream stream(executor);
    stream.expires_at(deadline);
    connecting = &stream;
    co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    connecting = nullptr;
    if (shut) {
      co_return cancelled();
    }
    if (ec) {
      co_return fail(ec == beast::error::timeout ? ErrorCode::kTimeout : ErrorCode::kConnect,
                     "connect to " + host_header, ec);
    }
    stream.socket().set_option(tcp::no_delay(true), ec);
    if (!options.url.https) {
      plain.emplace(std::move(stream));
      co_return Ok{};
    }
    if (!options.tls) {
      co_return Error{ErrorCode::kTls, "https node without a TLS context"};
    }
    tls.emplace(std::move(stream), options.tls->ctx);
    if (!SSL_set_tlsext_host_name(tls->native_handle(), options.server_name.c_str())) {
      drop();
      co_return Error{ErrorCode::kTls, "cannot set the TLS server name " + options.server_name};
    }
    if (options.tls->verify) {
      // OpenSSL's own name check (what asio's host_name_verification calls),
      // so that a mismatch is named in the verify result: "hostname mismatch"
      // or "IP address mismatch" rather than a bare "certificate verify failed".
      X509_VERIFY_PARAM* param = SSL_get0_param(tls->native_handle());
      if (X509_VERIFY_PARAM_set1_ip_asc(param, options.server_name.c_str()) != 1 &&
          X509_VERIFY_PARAM_set1_host(param, options.server_name.c_str(), options.server_name.size()) != 1) {
        drop();
        co_return Error{ErrorCode::kTls, "cannot set the TLS name to verify " + options.server_name};
      }
    }
    co_await tls->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      // Why the certificate was refused: unknown CA, name, expiry (OpenSSL's words).
      const long verify = SSL_get_verify_result(tls->native_handle());
      std::string why = "TLS handshake with " + host_header;
      drop();
      Error e = fail(ec == beast::error::timeout ? ErrorCode::kTimeout : ErrorCode::kTls, why, ec);
      if (verify != X509_V_OK && ec != beast::error::timeout) {
        e.message += std::string(" (") + X509_verify_cert_error_string(verify) +
                     (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH
                          ? ": the certificate does not name " + options.server_name + "; see tls.server_name"
                          : std::string()) +
                     ")";
      }
      co_return e;
    }
    co_return Ok{};
  }

  // One attempt on the current (or a new) connection. `reused` tells the
  // caller whether a failure may be a stale keep-alive connection.
  asio::awaitable<Result<Response>> attempt(const http::request<http::string_body>& req,
                                            std::chrono::steady_clock::time_point deadline, bool* reused,
                                            bool* sent_nothing) {
    boost::system::error_code ec;
    *reused = connected();
    *sent_nothing = true;
    if (!connected()) {
      auto c = co_await connect(deadline);
      if (!c) {
        co_return c.error();
      }
    }
    lowest().expires_at(deadline);
    auto start = std::chrono::steady_clock::now();
    if (tls) {
      co_await http::async_write(*tls, req, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await http::async_write(*plain, req, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      drop();
      co_return fail(ec == beast::error::timeout ? ErrorCode::kTimeout : ErrorCode::kBadResponse,
                     "send to " + host_header, ec);
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_body_bytes);
    parser.header_limit(64 * 1024);
    if (req.method() == http::verb::head) {
      parser.skip(true);
    }
    if (tls) {
      co_await http::async_read(*tls, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await http::async_read(*plain, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      *sent_nothing = !parser.got_some();
      drop();
      if (ec == beast::error::timeout) {
        co_return fail(ErrorCode::kTimeout, "no complete answer from " + host_header + " within the timeout", ec);
      }
      if (ec == http::error::body_limit) {
        co_return Error{ErrorCode::kTooLarge,
                        "answer from " + host_header + " exceeds " + std::to_string(options.max_body_bytes) + " bytes"};
      }
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == http::error::partial_message) {
        co_return Error{ErrorCode::kBadResponse, "connection closed by " + host_header +
                                                     (parser.got_some() ? " mid-answer" : " before answering")};
      }
      co_return fail(ErrorCode::kBadResponse, "reading the answer from " + host_header, ec);
    }
    auto res = parser.release();
    Response out = make_response(static_cast<int>(res.result_int()), std::move(res.body()));
    out.latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    if (auto it = res.find("X-Elastic-Product"); it != res.end()) {
      out.product = std::string(it->value());
    }
    if (!res.keep_alive()) {
      drop();
    }
    co_return out;
  }
};

NodeClient::NodeClient(asio::any_io_executor executor, NodeClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(options))) {}

NodeClient::~NodeClient() = default;

void NodeClient::close() { impl_->drop(); }

void NodeClient::set_authorization(std::string value) { impl_->options.authorization = std::move(value); }
void NodeClient::shutdown() { impl_->shutdown(); }

const NodeUrl& NodeClient::url() const { return impl_->options.url; }

asio::awaitable<Result<Response>> NodeClient::request(std::string_view method, std::string_view target,
                                                      std::string_view body, std::optional<Duration> timeout) {
  auto& o = impl_->options;
  if (impl_->shut) {
    co_return impl_->cancelled();
  }
  http::request<http::string_body> req;
  req.method(http::string_to_verb(beast::string_view(method.data(), method.size())));
  if (req.method() == http::verb::unknown) {
    co_return Error{ErrorCode::kBadRequest, "unknown HTTP method " + std::string(method)};
  }
  req.target(o.url.path_prefix + std::string(target));
  req.version(11);
  req.set(http::field::host, impl_->host_header);
  req.set(http::field::user_agent, "haes-agent");
  req.set(http::field::accept, "application/json");
  if (!o.authorization.empty()) {
    req.set(http::field::authorization, o.authorization);
  }
  if (!body.empty()) {
    req.set(http::field::content_type,
            target.find("_bulk") != std::string_view::npos ? "application/x-ndjson" : "application/json");
    req.body() = std::string(body);
  }
  req.prepare_payload();
  auto deadline = std::chrono::steady_clock::now() + timeout.value_or(o.timeout);
  bool reused = false;
  bool sent_nothing = false;
  impl_->in_flight = true;
  auto r = co_await impl_->attempt(req, deadline, &reused, &sent_nothing);
  if (!r && reused && sent_nothing && r.error().code == ErrorCode::kBadResponse && !impl_->shut &&
      std::chrono::steady_clock::now() < deadline) {
    // The server closed the kept-alive connection before we used it.
    r = co_await impl_->attempt(req, deadline, &reused, &sent_nothing);
  }
  impl_->in_flight = false;
  if (!r && impl_->shut) {
    impl_->drop();
    co_return impl_->cancelled();
  }
  co_return r;
}

}  // namespace haes::es
