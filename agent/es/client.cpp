#include "es/client.hpp"

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
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1,
                     ec);
  c->verify = !tls.insecure;
  if (c->verify) {
    if (!tls.ca_file.empty()) {
      c->ctx.load_verify_file(tls.ca_file, ec);
      if (ec) {
        return Error{"tls_config", "tls.ca_file " + tls.ca_file + ": " + ec.message()};
      }
    } else {
      c->ctx.set_default_verify_paths(ec);
      if (ec) {
        return Error{"tls_config", "cannot load the system CA certificates: " + ec.message()};
      }
    }
    c->ctx.set_verify_mode(asio::ssl::verify_peer);
  } else {
    c->ctx.set_verify_mode(asio::ssl::verify_none);
  }
  if (!tls.cert_file.empty()) {
    c->ctx.use_certificate_chain_file(tls.cert_file, ec);
    if (ec) {
      return Error{"tls_config", "tls.cert_file " + tls.cert_file + ": " + ec.message()};
    }
    c->ctx.use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
    if (ec) {
      return Error{"tls_config", "tls.key_file " + tls.key_file + ": " + ec.message()};
    }
  }
  return c;
}

std::string Response::error_summary() const {
  std::string s = "HTTP " + std::to_string(status);
  if (!es_type.empty()) {
    s += " " + es_type;
  }
  std::string r = es_reason.empty() && es_type.empty() ? body.substr(0, 200) : es_reason;
  if (auto nl = r.find_first_of("\r\n"); nl != std::string::npos) {
    r.resize(nl);
  }
  if (r.size() > 200) {
    r = r.substr(0, 200) + "…";
  }
  if (!r.empty()) {
    s += ": " + r;
  }
  return s;
}

struct NodeClient::Impl {
  Impl(asio::any_io_executor ex, NodeClientOptions o) : executor(std::move(ex)), options(std::move(o)) {
    if (options.server_name.empty()) {
      options.server_name = options.url.host;
    }
    host_header = options.url.host.find(':') != std::string::npos ? "[" + options.url.host + "]"
                                                                   : options.url.host;
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

  static Error fail(const std::string& code, const std::string& what, const boost::system::error_code& ec) {
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
    auto endpoints = co_await resolver.async_resolve(options.url.host, std::to_string(options.url.port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    resolve_deadline.cancel();
    if (ec == asio::error::operation_aborted) {
      co_return Error{"timeout", "resolving " + options.url.host + " took longer than the timeout"};
    }
    if (ec) {
      co_return fail("connect", "cannot resolve " + options.url.host, ec);
    }
    beast::tcp_stream stream(executor);
    stream.expires_at(deadline);
    co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return fail(ec == beast::error::timeout ? "timeout" : "connect", "connect to " + host_header, ec);
    }
    stream.socket().set_option(tcp::no_delay(true), ec);
    if (!options.url.https) {
      plain.emplace(std::move(stream));
      co_return Ok{};
    }
    if (!options.tls) {
      co_return Error{"tls", "https node without a TLS context"};
    }
    tls.emplace(std::move(stream), options.tls->ctx);
    if (!SSL_set_tlsext_host_name(tls->native_handle(), options.server_name.c_str())) {
      drop();
      co_return Error{"tls", "cannot set the TLS server name " + options.server_name};
    }
    if (options.tls->verify) {
      tls->set_verify_callback(asio::ssl::host_name_verification(options.server_name));
    }
    co_await tls->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      drop();
      co_return fail(ec == beast::error::timeout ? "timeout" : "tls", "TLS handshake with " + host_header, ec);
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
      co_return fail(ec == beast::error::timeout ? "timeout" : "bad_response", "send to " + host_header, ec);
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
        co_return fail("timeout", "no complete answer from " + host_header + " within the timeout", ec);
      }
      if (ec == http::error::body_limit) {
        co_return Error{"too_large", "answer from " + host_header + " exceeds " +
                                         std::to_string(options.max_body_bytes) + " bytes"};
      }
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == http::error::partial_message) {
        co_return Error{"bad_response", "connection closed by " + host_header +
                                            (parser.got_some() ? " mid-answer" : " before answering")};
      }
      co_return fail("bad_response", "reading the answer from " + host_header, ec);
    }
    auto res = parser.release();
    Response out;
    out.latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    if (auto it = res.find("X-Elastic-Product"); it != res.end()) {
      out.product = std::string(it->value());
    }
    out.json = nlohmann::json::parse(out.body, nullptr, false);
    if (out.json.is_discarded()) {
      out.json = nullptr;
    }
    if (out.status >= 400 && out.json.is_object()) {
      const auto& e = out.json.contains("error") ? out.json["error"] : nlohmann::json();
      if (e.is_object()) {
        // ES sends "reason": null for some errors: never trust a field's type.
        out.es_type = e.contains("type") && e["type"].is_string() ? e["type"].get<std::string>() : "";
        out.es_reason = e.contains("reason") && e["reason"].is_string() ? e["reason"].get<std::string>() : "";
      } else if (e.is_string()) {
        out.es_reason = e.get<std::string>();
      }
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

const NodeUrl& NodeClient::url() const { return impl_->options.url; }

asio::awaitable<Result<Response>> NodeClient::request(std::string_view method, std::string_view target,
                                                      std::string_view body, std::optional<Duration> timeout) {
  auto& o = impl_->options;
  http::request<http::string_body> req;
  req.method(http::string_to_verb(beast::string_view(method.data(), method.size())));
  if (req.method() == http::verb::unknown) {
    co_return Error{"bad_request", "unknown HTTP method " + std::string(method)};
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
  auto r = co_await impl_->attempt(req, deadline, &reused, &sent_nothing);
  if (!r && reused && sent_nothing && r.error().code == "bad_response" &&
      std::chrono::steady_clock::now() < deadline) {
    // The server closed the kept-alive connection before we used it.
    r = co_await impl_->attempt(req, deadline, &reused, &sent_nothing);
  }
  co_return r;
}

}  // namespace haes::es
