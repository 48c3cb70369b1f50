#include "cluster/forward.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "config/schema.hpp"

namespace haes::cluster {

namespace {

admin::Reply refuse(ErrorCode code, std::string text) { return admin::Reply::error(code, std::move(text)); }

}  // namespace

Result<ForwardOptions> forward_options(const AdminPortConfig& port) {
  ForwardOptions o;
  if (!port.token_file.empty() || !port.token_env.empty()) {
    auto t = es::read_secret(port.token_file, port.token_env, "admin.port.token");
    if (!t) {
      return t.error();
    }
    o.token = *t;
  }
  TlsConfig tls;
  tls.ca_file = port.ca_file;
  auto ctx = es::make_tls_context(tls);
  if (!ctx) {
    return Error{ctx.error().code, "admin.port.ca_file: " + ctx.error().message};
  }
  o.tls = *ctx;
  return o;
}

boost::asio::awaitable<std::optional<admin::Reply>> LeaderForwarder::forward(std::string line, admin::Peer peer) {
  if (coordinator_.leader(std::chrono::steady_clock::now())) {
    co_return std::nullopt;
  }
  const std::string leader = coordinator_.leader_name();
  if (peer.forwarded) {
    // Another agent sent it here as to the leader: its view and ours differ
    // (an election under way), or an advertised admin URL reaches the wrong
    // agent. Sending it on could loop.
    co_return refuse(ErrorCode::kNotLeader,
                     "'" + line + "' was sent here by another agent as to the leader, but this agent is not the " +
                         "leader (" + (leader.empty() ? std::string("none known") : leader + " is") +
                         "); not sent on again. Nothing changed — if it persists, check that every agent's "
                         "admin.port.advertise_url reaches that agent (haesctl status)");
  }
  const std::string actor = peer.actor();
  const auto& view = coordinator_.view();
  if (leader.empty() || !view) {
    co_return refuse(ErrorCode::kNotLeader,
                     "'" + line +
                         "' runs on the leader and no leader is known now (etcd unreachable or an election "
                         "under way); nothing changed — try again in a few seconds, haesctl status shows the leader");
  }
  std::string url;
  if (view->members) {
    if (auto it = view->members->agents.find(leader); it != view->members->agents.end()) {
      url = it->second.admin_url;
    }
  }
  if (url.empty()) {
    co_return refuse(ErrorCode::kNotLeader, "'" + line + "' runs on the leader " + leader +
                                                ", which has no admin port (admin.port.listen) to forward it to; "
                                                "nothing changed — run it on " +
                                                leader + "'s admin socket");
  }
  if (options_.token.empty()) {
    co_return refuse(ErrorCode::kNotLeader, "'" + line + "' runs on the leader " + leader +
                                                "; this agent has no admin.port token to forward it with; nothing "
                                                "changed — run it on " +
                                                leader + " (haesctl --url " + url + ")");
  }
  es::NodeClientOptions o;
  if (std::string why; !config_detail::parse_node_url(url, o.url, why) || !o.url.https) {
    co_return refuse(ErrorCode::kNotLeader, "the leader " + leader + " advertises the admin URL '" + url +
                                                "', which is not usable: " + (why.empty() ? "not https" : why));
  }
  o.tls = options_.tls;
  o.authorization = "Bearer " + options_.token;
  o.timeout = options_.timeout;
  es::NodeClient client(executor_, o);
  const std::string body = nlohmann::json{{"command", line}, {"full_reply", true}, {"on_behalf_of", actor}}.dump();
  spdlog::info("admin: '{}' by {} sent to the leader {} ({})", line, actor, leader, url);
  auto answer = co_await client.request("POST", "/v1/command", body);
  if (!answer) {
    co_return refuse(ErrorCode::kNotLeader, "'" + line + "' runs on the leader " + leader +
                                                ", which could not be reached at " + url + ": " +
                                                answer.error().message +
                                                "; whether it ran there is unknown — "
                                                "check haesctl status before trying again");
  }
  if (answer->status == 401) {
    co_return refuse(ErrorCode::kNotLeader, "the leader " + leader +
                                                " refused this agent's admin.port token: the agents' tokens "
                                                "differ; nothing changed — give every agent the same token");
  }
  auto j = nlohmann::json::parse(answer->body, nullptr, false);
  auto reply = admin::reply_from_wire(j);
  if (!reply) {
    co_return refuse(ErrorCode::kNotLeader, "the leader " + leader + " answered HTTP " +
                                                std::to_string(answer->status) + " that is not a reply (" +
                                                reply.error().message + "); check haesctl status on " + leader);
  }
  reply->text =
      (reply->code == ErrorCode::kNotLeader ? "(sent to the leader " + leader + " at " + url + ", which answered:)\n"
                                            : "(run on the leader " + leader + ")\n") +
      reply->text;
  co_return std::move(*reply);
}

}  // namespace haes::cluster
