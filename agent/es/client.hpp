#pragma once
// es::NodeClient: one Elasticsearch node over HTTP or HTTPS, one kept-alive
// connection, a deadline on every request, a bounded answer. Runs on the
// executor it is given (the agent's control thread); not thread-safe.
//
// Errors (Result<Response>'s Error::code), one per way a request can fail to
// produce an answer, so that callers can count them apart:
//   connect      refused, unreachable, name not resolved
//   timeout      no complete answer before the deadline
//   tls          handshake or certificate verification failed
//   too_large    the answer exceeds max_body_bytes
//   bad_response the connection closed mid-answer, or the bytes are not HTTP
//   cancelled    shutdown() was called
// An HTTP answer with any status is a Response, not an Error: ES error
// bodies are parsed into es_type / es_reason (see error_of()).
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>  // before Asio 1.74 awaitable.hpp, which uses std::exchange without it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "common/time.hpp"
#include "config/config.hpp"

namespace haes::es {

// An opaque TLS context (an OpenSSL context with the cluster's CA, client
// certificate and verification mode), shared by the nodes of a cluster.
struct TlsContext;

// Builds the context for a cluster. Errors name the file that could not be
// used. `insecure` switches verification off (the caller logs the warning).
Result<std::shared_ptr<TlsContext>> make_tls_context(const TlsConfig& tls);

// The Authorization header value for a cluster ("Basic …", "ApiKey …"), or ""
// without auth. Secrets come from a file (trailing newline stripped) or an
// environment variable, never from the config text itself. An ApiKey secret
// is either ES's "encoded" value or "id:api_key" (encoded here).
// Errors name the file or variable, never the secret.
Result<std::string> authorization_header(const AuthConfig& auth);

// A secret from a file (trailing newline stripped) or an environment
// variable. `what` names the setting in messages; the secret never appears.
Result<std::string> read_secret(const std::string& file, const std::string& env, std::string_view what);

struct Response {
  int status = 0;
  std::string body;
  nlohmann::json json;  // parsed body; null when not JSON
  std::string product;  // X-Elastic-Product header, if any
  std::chrono::microseconds latency{0};
  // For status >= 400 with an ES error body: error.type / error.reason.
  std::string es_type;
  std::string es_reason;
  bool ok() const { return status >= 200 && status < 300; }
  // "HTTP 503 master_not_discovered_exception: <reason>" (reason cut to one line).
  std::string error_summary() const;
};

struct NodeClientOptions {
  NodeUrl url;
  std::shared_ptr<TlsContext> tls;  // required for https URLs
  std::string server_name;          // SNI and name to verify; default: url.host
  std::string authorization;        // header value, or ""
  Duration timeout = std::chrono::seconds(2);
  size_t max_body_bytes = 8 * 1024 * 1024;
};

class NodeClient {
 public:
  NodeClient(boost::asio::any_io_executor executor, NodeClientOptions options);
  ~NodeClient();
  NodeClient(const NodeClient&) = delete;
  NodeClient& operator=(const NodeClient&) = delete;

  // Sends one request (target: path and query, e.g. "/_cluster/health") and
  // reads the answer. `body` is sent as application/json when not empty
  // (application/x-ndjson when the target contains "_bulk"). A reused
  // connection that turns out closed by the server is retried once on a new
  // connection. Never throws for network or protocol errors.
  boost::asio::awaitable<Result<Response>> request(std::string_view method, std::string_view target,
                                                   std::string_view body = {},
                                                   std::optional<Duration> timeout = std::nullopt);
  // Drops the connection (the next request opens a new one).
  void close();
  // Replaces the Authorization header value (etcd's auth token is renewed).
  void set_authorization(std::string value);
  // Ends the request in flight, if any, at once (it returns kCancelled, and
  // is never retried), and makes every later request return kCancelled
  // without sending anything. For shutdown: a request may otherwise wait
  // for its whole timeout (a restore's is sync.timeout).
  void shutdown();
  const NodeUrl& url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace haes::es
