#pragma once
// Several agents: the commands only the leader runs (a sync, a planned
// failback or switchover with its final sync, a restore test) typed on any
// agent are sent to the leader's admin port (docs/admin.md "Several agents")
// and its reply is returned as if the command had run here, first line
// "(run on the leader <name>)". The caller runs the command itself when
// forward() returns nullopt: this agent is the leader.
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "admin/command_table.hpp"
#include "cluster/coordinator.hpp"
#include "config/config.hpp"
#include "es/client.hpp"

namespace haes::cluster {

struct ForwardOptions {
  std::shared_ptr<es::TlsContext> tls;          // verifies the leader's admin port (admin.port.ca_file)
  std::string token;                            // admin.port token: what agents present to each other
  Duration timeout = std::chrono::minutes(15);  // a planned move waits for its final sync
};

// From admin.port: the token (token_file / token_env) and the CA that
// verifies the other agents' ports. Errors name the key.
Result<ForwardOptions> forward_options(const AdminPortConfig& port);

class LeaderForwarder {
 public:
  LeaderForwarder(boost::asio::any_io_executor executor, const Coordinator& coordinator, ForwardOptions options)
      : executor_(std::move(executor)), coordinator_(coordinator), options_(std::move(options)) {}

  // nullopt: this agent leads, run the command here. Otherwise the leader's
  // reply, or a refusal that says why it could not be sent and where to run it.
  // A command `peer.forwarded` here by another agent is never sent on again.
  boost::asio::awaitable<std::optional<admin::Reply>> forward(std::string line, admin::Peer peer);

 private:
  boost::asio::any_io_executor executor_;
  const Coordinator& coordinator_;
  ForwardOptions options_;
};

}  // namespace haes::cluster
