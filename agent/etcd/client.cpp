#include "etcd/client.hpp"

#include <stdexcept>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "etcd/gateway.hpp"

namespace haes::etcd {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

// Answers after which another endpoint may do better: the member lost its
// leader or quorum, or is shutting down.
bool try_elsewhere(const Error& e) {
  const std::string& m = e.message;
  return m.find("no leader") != std::string::npos || m.find("request timed out") != std::string::npos ||
         m.find("leader changed") != std::string::npos || m.find("server stopped") != std::string::npos ||
         m.find("not capable") != std::string::npos || m.find("(code 14)") != std::string::npos;
}

bool token_expired(const Error& e) {
  return e.message.find("invalid auth token") != std::string::npos ||
         e.message.find("user name is empty") != std::string::npos;
}

}  // namespace

Client::Client(asio::any_io_executor executor, ClientOptions options)
    : executor_(std::move(executor)), options_(std::move(options)), lanes_(kChannels) {
  if (options_.endpoints.empty()) {
    throw std::runtime_error("state.etcd.endpoints: at least one endpoint is needed");
  }
  std::shared_ptr<es::TlsContext> tls;
  for (const auto& e : options_.endpoints) {
    if (e.https && !tls) {
      auto t = es::make_tls_context(options_.tls);
      if (!t) {
        throw std::runtime_error("state.etcd.tls: " + t.error().message);
      }
      tls = *t;
    }
  }
  for (auto& lane : lanes_) {
    for (const auto& e : options_.endpoints) {
      es::NodeClientOptions o;
      o.url = e;
      o.tls = tls;
      o.server_name = options_.tls.server_name;
      o.timeout = options_.timeout;
      o.max_body_bytes = 16 * 1024 * 1024;
      lane.nodes.push_back(std::make_unique<es::NodeClient>(executor_, std::move(o)));
    }
  }
  for (const auto& e : options_.endpoints) {
    status_.push_back(EndpointStatus{e.text, false, "", {}});
  }
}

Client::~Client() { close(); }

void Client::close() {
  closed_ = true;
  for (auto& lane : lanes_) {
    for (auto& n : lane.nodes) {
      n->close();
    }
    for (auto& w : lane.waiting) {
      w->cancel();
    }
  }
}

asio::awaitable<void> Client::acquire(Lane& lane) {
  while (lane.busy && !closed_) {
    auto t = std::make_shared<asio::steady_timer>(executor_, asio::steady_timer::time_point::max());
    lane.waiting.push_back(t);
    boost::system::error_code ec;
    co_await t->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  lane.busy = true;
}

void Client::release(Lane& lane) {
  lane.busy = false;
  if (!lane.waiting.empty()) {
    lane.waiting.front()->cancel();
    lane.waiting.pop_front();
  }
}

void Client::set_token(const std::string& token) {
  token_ = token;
  for (auto& lane : lanes_) {
    for (auto& n : lane.nodes) {
      n->set_authorization(token);
    }
  }
}

asio::awaitable<Result<json>> Client::once(Lane& lane, size_t endpoint, const std::string& path,
                                           const std::string& body, Duration left) {
  auto r = co_await lane.nodes[endpoint]->request("POST", path, body, left);
  EndpointStatus& st = status_[endpoint];
  st.last_at = now_sys();
  if (!r) {
    st.ok = false;
    st.last_error = r.error().message;
    co_return Error{ErrorCode::kStoreUnreachable, r.error().message};
  }
  st.ok = true;
  st.last_error.clear();
  if (r->status != 200) {
    if (auto e = gateway_error(r->json)) {
      co_return *e;
    }
    co_return Error{ErrorCode::kStoreError,
                    "etcd answered HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 200)};
  }
  if (!r->json.is_object()) {
    co_return Error{ErrorCode::kBadResponse, "etcd answered something that is not JSON: " + r->body.substr(0, 200)};
  }
  if (auto e = gateway_error(r->json)) {
    co_return *e;
  }
  co_return std::move(r->json);
}

asio::awaitable<Result<void>> Client::authenticate(Lane& lane, size_t endpoint, Duration left) {
  json req = {{"name", options_.username}, {"password", options_.password}};
  auto r = co_await once(lane, endpoint, "/v3/auth/authenticate", req.dump(), left);
  if (!r) {
    co_return r.error();
  }
  auto token = parse_authenticate(*r);
  if (!token) {
    co_return Error{ErrorCode::kForbidden,
                    "etcd authentication as " + options_.username + " failed: " + token.error().message};
  }
  set_token(*token);
  co_return Ok{};
}

asio::awaitable<Result<json>> Client::call_impl(std::string path, json body, Channel channel) {
  Lane& lane = lanes_[static_cast<size_t>(channel)];
  co_await acquire(lane);
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  const std::string text = body.dump();
  std::string errors;
  Result<json> out = Error{ErrorCode::kStoreUnreachable, "no etcd endpoint tried"};
  const size_t n = options_.endpoints.size();
  bool reauthenticated = false;
  for (size_t tries = 0; tries < n + 1 && !closed_; ++tries) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
    if (left <= Duration(0)) {
      break;
    }
    const size_t endpoint = current_;
    if (!options_.username.empty() && token_.empty()) {
      if (auto a = co_await authenticate(lane, endpoint, left); !a) {
        out = a.error();
        if (a.error().code != ErrorCode::kStoreUnreachable) {
          break;  // refused credentials: another member would refuse them too
        }
        errors += (errors.empty() ? "" : "; ") + status_[endpoint].url + ": " + a.error().message;
        current_ = (current_ + 1) % n;
        continue;
      }
    }
    out = co_await once(lane, endpoint, path, text, left);
    if (out) {
      break;
    }
    if (out.error().code == ErrorCode::kForbidden && token_expired(out.error()) && !reauthenticated) {
      reauthenticated = true;
      token_.clear();
      --tries;
      continue;
    }
    if (out.error().code == ErrorCode::kStoreUnreachable || try_elsewhere(out.error())) {
      errors += (errors.empty() ? "" : "; ") + status_[endpoint].url + ": " + out.error().message;
      current_ = (current_ + 1) % n;
      continue;
    }
    break;  // a definite answer (refusal, bad request): the same everywhere
  }
  release(lane);
  if (!out && out.error().code == ErrorCode::kStoreUnreachable) {
    co_return Error{ErrorCode::kStoreUnreachable, "no etcd endpoint answered within " +
                                                      format_duration(options_.timeout) +
                                                      (errors.empty() ? "" : " (" + errors + ")")};
  }
  co_return out;
}

}  // namespace haes::etcd
