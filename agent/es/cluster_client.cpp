#include "es/cluster_client.hpp"

#include <stdexcept>

#include <spdlog/spdlog.h>

namespace haes::es {

std::vector<NodeClientOptions> node_options(const ClusterConfig& c, Duration timeout, size_t max_body_bytes,
                                            bool warn_insecure) {
  std::shared_ptr<TlsContext> tls;
  bool any_https = false;
  for (const auto& n : c.nodes) {
    any_https = any_https || n.url.https;
  }
  if (any_https) {
    auto t = make_tls_context(c.tls);
    if (!t) {
      throw std::runtime_error("cluster " + c.name + ": " + t.error().message);
    }
    tls = *t;
    if (c.tls.insecure && warn_insecure) {
      spdlog::warn(
          "cluster {}: tls.insecure is set: certificates are NOT verified; anyone on the path "
          "can impersonate this cluster. Set tls.ca_file instead.",
          c.name);
    }
  }
  auto auth = authorization_header(c.auth);
  if (!auth) {
    throw std::runtime_error("cluster " + c.name + ": " + auth.error().message);
  }
  std::vector<NodeClientOptions> out;
  for (const auto& n : c.nodes) {
    NodeClientOptions o;
    o.url = n.url;
    o.tls = tls;
    o.server_name = c.tls.server_name;
    o.authorization = *auth;
    o.timeout = timeout;
    o.max_body_bytes = max_body_bytes;
    out.push_back(std::move(o));
  }
  return out;
}

ClusterClient::ClusterClient(boost::asio::any_io_executor executor, const ClusterConfig& cluster, Duration timeout,
                             size_t max_body_bytes)
    : name_(cluster.name) {
  for (auto& o : node_options(cluster, timeout, max_body_bytes, false)) {
    nodes_.push_back(std::make_unique<NodeClient>(executor, std::move(o)));
  }
}

boost::asio::awaitable<Result<Response>> ClusterClient::request(std::string_view method, std::string_view target,
                                                                std::string_view body,
                                                                std::optional<Duration> timeout) {
  std::string errors;
  for (size_t i = 0; i < nodes_.size() && !shut_; ++i) {
    size_t k = (current_ + i) % nodes_.size();
    auto r = co_await nodes_[k]->request(method, target, body, timeout);
    if (r) {
      current_ = k;
      co_return r;
    }
    errors += (errors.empty() ? "" : "; ") + nodes_[k]->url().text + ": " + r.error().message;
    if (r.error().code == ErrorCode::kCancelled) {
      co_return Error{ErrorCode::kCancelled, "cluster " + name_ + ": " + errors};
    }
    if (r.error().code == ErrorCode::kTimeout) {
      // A timeout may mean the request is running (a restore): do not send
      // it again to another node.
      co_return Error{ErrorCode::kTimeout, "cluster " + name_ + ": " + errors};
    }
  }
  if (shut_) {
    co_return Error{ErrorCode::kCancelled, "cluster " + name_ + ": client shut down (the agent is stopping)"};
  }
  co_return Error{ErrorCode::kUnreachable, "cluster " + name_ + ": no node answered (" + errors + ")"};
}

void ClusterClient::shutdown() {
  shut_ = true;
  for (auto& n : nodes_) {
    n->shutdown();
  }
}

}  // namespace haes::es
