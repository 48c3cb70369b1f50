#pragma once
// EtcdClient: etcd's v3 JSON gateway over HTTP or HTTPS (es::NodeClient as
// the transport: kept-alive connections, a deadline per request, TLS with a
// CA and client certificates). Runs on the control thread; not thread-safe.
//
// Endpoints rotate: a request that gets no answer, or an answer that says
// the member has no leader or timed out, is retried on the next endpoint
// within the same deadline, and the endpoint that answered stays current
// (Patroni's users learned to need this). With username/password auth, the
// token is fetched on first use and again when etcd says it is invalid.
// Requests on one channel are serialized (one connection per endpoint and
// channel); the channels let the state poll, the lease keepalive and the
// writes proceed independently.
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "common/time.hpp"
#include "config/config.hpp"
#include "es/client.hpp"

namespace haes::etcd {

enum class Channel { kPoll = 0, kLease = 1, kWrite = 2 };
inline constexpr size_t kChannels = 3;

struct ClientOptions {
  std::vector<NodeUrl> endpoints;
  TlsConfig tls;         // used for https endpoints
  std::string username;  // empty: no auth
  std::string password;
  Duration timeout = std::chrono::milliseconds(500);  // per request, all rotations included
};

struct EndpointStatus {
  std::string url;
  bool ok = false;         // the last request sent there got an answer
  std::string last_error;  // one line, when it did not ("" and !ok: not used yet)
  SysTime last_at{};
};

class Client {
 public:
  // Throws std::runtime_error (start-up) when the TLS settings cannot be used.
  Client(boost::asio::any_io_executor executor, ClientOptions options);
  ~Client();

  // POSTs `body` to `path` ("/v3/kv/range") and returns the JSON answer of
  // an HTTP 200. Errors: kStoreUnreachable (no endpoint answered within the
  // timeout), kForbidden (auth), kStoreError (etcd refused: its message),
  // kBadResponse.
  // Not a coroutine itself: it moves its arguments into one, so callers may
  // pass temporaries (GCC 12 destroys a temporary passed by value straight
  // into a coroutine twice).
  boost::asio::awaitable<Result<nlohmann::json>> call(std::string path, nlohmann::json body,
                                                      Channel channel = Channel::kWrite) {
    return call_impl(std::move(path), std::move(body), channel);
  }
  // Closes every connection: requests in flight end with an error.
  void close();

  std::vector<EndpointStatus> endpoints() const { return status_; }
  const std::string& current() const { return status_[current_].url; }

 private:
  struct Lane {
    std::vector<std::unique_ptr<es::NodeClient>> nodes;  // one per endpoint
    bool busy = false;
    std::deque<std::shared_ptr<boost::asio::steady_timer>> waiting;
  };
  boost::asio::awaitable<Result<nlohmann::json>> call_impl(std::string path, nlohmann::json body, Channel channel);
  boost::asio::awaitable<void> acquire(Lane& lane);
  void release(Lane& lane);
  boost::asio::awaitable<Result<nlohmann::json>> once(Lane& lane, size_t endpoint, const std::string& path,
                                                      const std::string& body, Duration left);
  boost::asio::awaitable<Result<void>> authenticate(Lane& lane, size_t endpoint, Duration left);
  void set_token(const std::string& token);

  boost::asio::any_io_executor executor_;
  ClientOptions options_;
  std::vector<Lane> lanes_;
  std::vector<EndpointStatus> status_;
  size_t current_ = 0;
  std::string token_;
  bool closed_ = false;
};

}  // namespace haes::etcd
