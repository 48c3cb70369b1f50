#pragma once
// EtcdStore: the state store shared by several agents (state.store: etcd),
// and the coordination primitives they need. Everything lives under one
// prefix (one pair per prefix; several pairs may share an etcd):
//
//   <prefix>state            the state record (the local store's checksummed
//                            format); its revision is etcd's mod_revision
//   <prefix>journal/<ms>-<agent>-<n>   one event each; seq = create_revision
//   <prefix>leader           the leader's name, under the leader's lease
//   <prefix>agents/<name>    each agent's record, under its own lease
//   <prefix>members          every agent that joined (not leased)
//   <prefix>docs/<name>      documents beside the state (the drill reports)
//
// Every change of the state is a transaction comparing the record's
// mod_revision (the StateStore contract). Runs on the control thread.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "etcd/client.hpp"
#include "etcd/gateway.hpp"
#include "etcd/records.hpp"
#include "store/state_store.hpp"

namespace haes::etcd {

// One consistent read of everything the agents coordinate on, at one
// revision (a transaction of ranges): what every poll reads.
struct PairView {
  int64_t revision = 0;
  std::optional<State> state;
  std::string leader;  // "" when none
  int64_t leader_lease = 0;
  std::optional<Members> members;
  int64_t members_revision = 0;          // 0: no list yet
  std::vector<AgentRecord> agents;       // the live ones (their lease holds)
  std::vector<std::string> bad_records;  // records that did not decode (named, for status)
};

class EtcdStore : public StateStore {
 public:
  EtcdStore(std::shared_ptr<Client> client, std::string prefix, size_t journal_size);

  // StateStore.
  boost::asio::awaitable<Result<std::optional<State>>> load() override;
  boost::asio::awaitable<Result<uint64_t>> compare_and_swap(uint64_t expected, State next) override;
  boost::asio::awaitable<Result<std::vector<Event>>> append_events(std::vector<Event> events) override;
  boost::asio::awaitable<Result<std::vector<Event>>> events(size_t last_n) override;
  boost::asio::awaitable<Result<std::optional<std::string>>> load_document(std::string name) override;
  boost::asio::awaitable<Result<void>> store_document(std::string name, std::string data) override;
  std::string document_location(const std::string& name) const override { return "etcd key " + key("docs/" + name); }
  std::string describe() const override;

  // Coordination. `agent` names this agent in journal keys.
  void set_agent(std::string agent) { agent_ = std::move(agent); }
  boost::asio::awaitable<Result<PairView>> read_view();
  boost::asio::awaitable<Result<LeaseGrant>> grant(int64_t ttl_seconds);
  // The TTL left; 0: the lease is gone.
  boost::asio::awaitable<Result<int64_t>> keepalive(int64_t lease);
  boost::asio::awaitable<Result<void>> revoke(int64_t lease);
  // Takes the leader key if nobody holds it. Returns the holder's name
  // (ours when we got it or already had it).
  boost::asio::awaitable<Result<std::string>> campaign(std::string name, int64_t lease);
  // Gives the leader key up if we hold it.
  boost::asio::awaitable<Result<void>> resign(std::string name);
  boost::asio::awaitable<Result<void>> publish(AgentRecord record, int64_t lease);
  // Adds or updates this agent in the membership list (compare-and-swap
  // on the list, retried on a conflict). Returns the list as written.
  boost::asio::awaitable<Result<Members>> join(std::string name, Member me);
  // Removes an agent from the list (operator command).
  boost::asio::awaitable<Result<Members>> forget(std::string name);

  const std::string& prefix() const { return prefix_; }
  Client& client() { return *client_; }
  const Client& client() const { return *client_; }

 private:
  std::string key(std::string_view suffix) const { return prefix_ + std::string(suffix); }
  // One key under the prefix (nullopt: absent), and a plain put of one.
  boost::asio::awaitable<Result<std::optional<KeyValue>>> get(std::string suffix);
  boost::asio::awaitable<Result<void>> put(std::string suffix, std::string value, int64_t lease, Channel channel);
  boost::asio::awaitable<Result<void>> trim_journal();

  std::shared_ptr<Client> client_;
  std::string prefix_;
  size_t journal_size_;
  std::string agent_ = "agent";
  uint64_t appended_ = 0;
  uint64_t journal_counter_ = 0;
};

// The store state.store: etcd configures (state.etcd.*): its client, the
// password read from password_file / password_env. Errors name the key.
Result<std::unique_ptr<EtcdStore>> open_etcd_store(const EtcdConfig& config, boost::asio::any_io_executor executor,
                                                   size_t journal_size);

// The store state.store names: etcd's (its requests run on `executor`), or
// the local file store (the recoveries its opening reports are logged).
Result<std::unique_ptr<StateStore>> open_configured_store(const StateConfig& config,
                                                          boost::asio::any_io_executor executor);

}  // namespace haes::etcd
