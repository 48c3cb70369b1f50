#pragma once
// es::ClusterClient: one cluster's nodes behind one call. A request goes to
// the node that answered last; on a transport error (no HTTP answer) the
// next node is tried, until one answers or every node failed. Any HTTP
// answer, error statuses included, is returned as is. Control thread only.
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "config/config.hpp"
#include "es/client.hpp"

namespace haes::es {

class ClusterClient {
 public:
  // Throws std::runtime_error (start-up) when TLS or auth settings cannot be
  // used; the message names the cluster and the setting.
  ClusterClient(boost::asio::any_io_executor executor, const ClusterConfig& cluster, Duration timeout,
                size_t max_body_bytes);
  boost::asio::awaitable<Result<Response>> request(std::string_view method, std::string_view target,
                                                   std::string_view body = {},
                                                   std::optional<Duration> timeout = std::nullopt);
  // Every node's NodeClient::shutdown(): the request in flight ends at once
  // with kCancelled (not sent to another node), later ones fail at once.
  void shutdown();
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::vector<std::unique_ptr<NodeClient>> nodes_;
  size_t current_ = 0;
  bool shut_ = false;
};

// The NodeClientOptions of every node of a cluster (TLS context and
// Authorization header built once). Throws std::runtime_error as above;
// logs the insecure warning when `warn_insecure`.
std::vector<NodeClientOptions> node_options(const ClusterConfig& cluster, Duration timeout, size_t max_body_bytes,
                                            bool warn_insecure);

}  // namespace haes::es
