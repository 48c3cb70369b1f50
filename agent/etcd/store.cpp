#include "etcd/store.hpp"

#include <algorithm>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "es/client.hpp"
#include "store/codec.hpp"

namespace haes::etcd {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

std::string normalized(std::string prefix) {
  if (prefix.empty() || prefix.back() != '/') {
    prefix += '/';
  }
  return prefix;
}

}  // namespace

EtcdStore::EtcdStore(std::shared_ptr<Client> client, std::string prefix, size_t journal_size)
    : client_(std::move(client)), prefix_(normalized(std::move(prefix))), journal_size_(journal_size) {}

std::string EtcdStore::describe() const { return "etcd " + client_->current() + " prefix " + prefix_; }

asio::awaitable<Result<std::optional<KeyValue>>> EtcdStore::get(std::string suffix) {
  auto r = co_await client_->call("/v3/kv/range", range_request(key(suffix)), Channel::kWrite);
  if (!r) {
    co_return r.error();
  }
  auto range = parse_range(*r);
  if (!range) {
    co_return range.error();
  }
  if (range->kvs.empty()) {
    co_return std::optional<KeyValue>();
  }
  co_return std::optional<KeyValue>(std::move(range->kvs.front()));
}

asio::awaitable<Result<void>> EtcdStore::put(std::string suffix, std::string value, int64_t lease, Channel channel) {
  auto r = co_await client_->call("/v3/kv/put", put_request(key(suffix), value, lease), channel);
  if (!r) {
    co_return r.error();
  }
  auto h = parse_put(*r);
  if (!h) {
    co_return h.error();
  }
  co_return Ok{};
}

asio::awaitable<Result<std::optional<State>>> EtcdStore::load() {
  const std::string suffix = "state";
  auto kv = co_await get(suffix);
  if (!kv) {
    co_return kv.error();
  }
  if (!kv->has_value()) {
    co_return std::optional<State>();
  }
  auto s = store::decode_state_file((*kv)->value, describe() + " key " + (*kv)->key);
  if (!s) {
    co_return s.error();
  }
  s->revision = static_cast<uint64_t>((*kv)->mod_revision);
  co_return std::optional<State>(std::move(*s));
}

asio::awaitable<Result<std::optional<std::string>>> EtcdStore::load_document(std::string name) {
  std::string suffix = "docs/" + name;  // a named value: no temporary into a coroutine (GCC 12)
  auto kv = co_await get(std::move(suffix));
  if (!kv) {
    co_return kv.error();
  }
  if (!kv->has_value()) {
    co_return std::optional<std::string>();
  }
  co_return std::optional<std::string>(std::move((*kv)->value));
}

asio::awaitable<Result<void>> EtcdStore::store_document(std::string name, std::string data) {
  std::string suffix = "docs/" + name;
  co_return co_await put(std::move(suffix), std::move(data), 0, Channel::kWrite);
}

asio::awaitable<Result<uint64_t>> EtcdStore::compare_and_swap(uint64_t expected, State next) {
  Compare c;
  c.key = key("state");
  if (expected == 0) {
    c.target = Compare::Target::kCreate;  // only if nothing is stored yet
    c.number = 0;
  } else {
    c.target = Compare::Target::kMod;
    c.number = static_cast<int64_t>(expected);
  }
  // The record's own revision field is not used with etcd (the revision is
  // etcd's mod_revision); 1 keeps the local format's "written by haes" check.
  const std::string record = store::encode_state_file(1, next);
  json txn = txn_request({c}, {as_put_op(put_request(key("state"), record))},
                         {as_range_op(range_request(key("state"), RangeOptions{.keys_only = true}))});
  auto r = co_await client_->call("/v3/kv/txn", std::move(txn), Channel::kWrite);
  if (!r) {
    co_return r.error();
  }
  auto t = parse_txn(*r);
  if (!t) {
    co_return t.error();
  }
  if (!t->succeeded) {
    int64_t now = t->ranges.empty() || t->ranges.front().kvs.empty() ? 0 : t->ranges.front().kvs.front().mod_revision;
    co_return Error{ErrorCode::kConflict, "state changed under us: expected revision " + std::to_string(expected) +
                                              ", stored revision is " + std::to_string(now)};
  }
  co_return static_cast<uint64_t>(t->header.revision);
}

asio::awaitable<Result<std::vector<Event>>> EtcdStore::append_events(std::vector<Event> events) {
  for (auto& e : events) {
    char suffix[96];
    std::snprintf(suffix, sizeof suffix, "journal/%020lld-", static_cast<long long>(to_unix_ms(e.at)));
    std::string k = key(suffix) + agent_ + "-" + std::to_string(++journal_counter_);
    auto r = co_await client_->call("/v3/kv/put", put_request(k, store::encode_event_record(e)), Channel::kWrite);
    if (!r) {
      co_return r.error();
    }
    auto h = parse_put(*r);
    if (!h) {
      co_return h.error();
    }
    e.seq = static_cast<uint64_t>(h->revision);
  }
  appended_ += events.size();
  if (appended_ >= std::max<size_t>(journal_size_ / 4, 1)) {
    appended_ = 0;
    if (auto t = co_await trim_journal(); !t) {
      spdlog::warn("etcd journal: trimming old events failed: {}", t.error().message);
    }
  }
  co_return events;
}

asio::awaitable<Result<void>> EtcdStore::trim_journal() {
  const std::string prefix = key("journal/");
  RangeOptions count;
  count.prefix = true;
  count.count_only = true;
  auto r = co_await client_->call("/v3/kv/range", range_request(prefix, count), Channel::kWrite);
  if (!r) {
    co_return r.error();
  }
  auto c = parse_range(*r);
  if (!c) {
    co_return c.error();
  }
  if (c->count <= static_cast<int64_t>(journal_size_)) {
    co_return Ok{};
  }
  // The oldest keys beyond the bound (keys sort by time, then agent).
  RangeOptions oldest;
  oldest.prefix = true;
  oldest.keys_only = true;
  oldest.limit = c->count - static_cast<int64_t>(journal_size_);
  oldest.order = SortOrder::kAscend;
  oldest.target = SortTarget::kKey;
  auto o = co_await client_->call("/v3/kv/range", range_request(prefix, oldest), Channel::kWrite);
  if (!o) {
    co_return o.error();
  }
  auto old = parse_range(*o);
  if (!old) {
    co_return old.error();
  }
  if (old->kvs.empty()) {
    co_return Ok{};
  }
  std::string end = old->kvs.back().key + std::string(1, '\0');
  auto d = co_await client_->call("/v3/kv/deleterange", delete_request(prefix, end), Channel::kWrite);
  if (!d) {
    co_return d.error();
  }
  co_return Ok{};
}

asio::awaitable<Result<std::vector<Event>>> EtcdStore::events(size_t last_n) {
  RangeOptions o;
  o.prefix = true;
  o.limit = static_cast<int64_t>(last_n);
  o.order = SortOrder::kDescend;
  o.target = SortTarget::kCreate;
  auto r = co_await client_->call("/v3/kv/range", range_request(key("journal/"), o), Channel::kWrite);
  if (!r) {
    co_return r.error();
  }
  auto range = parse_range(*r);
  if (!range) {
    co_return range.error();
  }
  std::vector<Event> out;
  for (auto it = range->kvs.rbegin(); it != range->kvs.rend(); ++it) {
    auto scan = store::scan_journal(it->value, describe() + " key " + it->key);
    if (!scan || scan->events.size() != 1) {
      Event e;
      e.seq = static_cast<uint64_t>(it->create_revision);
      e.kind = EventKind::kOther;
      e.message = "[unreadable journal entry " + it->key + "]";
      out.push_back(std::move(e));
      continue;
    }
    Event e = scan->events.front();
    e.seq = static_cast<uint64_t>(it->create_revision);
    out.push_back(std::move(e));
  }
  co_return out;
}

asio::awaitable<Result<PairView>> EtcdStore::read_view() {
  RangeOptions agents;
  agents.prefix = true;
  json txn =
      txn_request({}, {as_range_op(range_request(key("state"))), as_range_op(range_request(key("leader"))),
                       as_range_op(range_request(key("members"))), as_range_op(range_request(key("agents/"), agents))});
  auto r = co_await client_->call("/v3/kv/txn", std::move(txn), Channel::kPoll);
  if (!r) {
    co_return r.error();
  }
  auto t = parse_txn(*r);
  if (!t) {
    co_return t.error();
  }
  if (t->ranges.size() != 4) {
    co_return Error{ErrorCode::kBadResponse, "etcd answered a 4-range read with " + std::to_string(t->ranges.size())};
  }
  PairView v;
  v.revision = t->header.revision;
  if (!t->ranges[0].kvs.empty()) {
    const KeyValue& kv = t->ranges[0].kvs.front();
    auto s = store::decode_state_file(kv.value, describe() + " key " + kv.key);
    if (!s) {
      co_return s.error();
    }
    s->revision = static_cast<uint64_t>(kv.mod_revision);
    v.state = std::move(*s);
  }
  if (!t->ranges[1].kvs.empty()) {
    v.leader = t->ranges[1].kvs.front().value;
    v.leader_lease = t->ranges[1].kvs.front().lease;
  }
  if (!t->ranges[2].kvs.empty()) {
    auto m = decode_members(t->ranges[2].kvs.front().value);
    if (!m) {
      co_return Error{ErrorCode::kCorrupt, describe() + " key " + key("members") + ": " + m.error().message};
    }
    v.members = std::move(*m);
    v.members_revision = t->ranges[2].kvs.front().mod_revision;
  }
  for (const auto& kv : t->ranges[3].kvs) {
    auto rec = decode_record(kv.value);
    if (!rec) {
      v.bad_records.push_back(kv.key + ": " + rec.error().message);
      continue;
    }
    v.agents.push_back(std::move(*rec));
  }
  co_return v;
}

asio::awaitable<Result<LeaseGrant>> EtcdStore::grant(int64_t ttl_seconds) {
  json body = {{"TTL", std::to_string(ttl_seconds)}};
  auto r = co_await client_->call("/v3/lease/grant", std::move(body), Channel::kLease);
  if (!r) {
    co_return r.error();
  }
  co_return parse_lease_grant(*r);
}

asio::awaitable<Result<int64_t>> EtcdStore::keepalive(int64_t lease) {
  json body = {{"ID", std::to_string(lease)}};
  auto r = co_await client_->call("/v3/lease/keepalive", std::move(body), Channel::kLease);
  if (!r) {
    co_return r.error();
  }
  co_return parse_keepalive(*r);
}

asio::awaitable<Result<void>> EtcdStore::revoke(int64_t lease) {
  json body = {{"ID", std::to_string(lease)}};
  auto r = co_await client_->call("/v3/lease/revoke", std::move(body), Channel::kLease);
  if (!r) {
    co_return r.error();
  }
  co_return Ok{};
}

asio::awaitable<Result<std::string>> EtcdStore::campaign(std::string name, int64_t lease) {
  Compare absent{key("leader"), Compare::Target::kCreate, Compare::Op::kEqual, 0, {}};
  json txn = txn_request({absent}, {as_put_op(put_request(key("leader"), name, lease))},
                         {as_range_op(range_request(key("leader")))});
  auto r = co_await client_->call("/v3/kv/txn", std::move(txn), Channel::kLease);
  if (!r) {
    co_return r.error();
  }
  auto t = parse_txn(*r);
  if (!t) {
    co_return t.error();
  }
  if (t->succeeded) {
    co_return name;
  }
  if (t->ranges.empty() || t->ranges.front().kvs.empty()) {
    co_return std::string();  // released meanwhile: campaign again next time
  }
  co_return t->ranges.front().kvs.front().value;
}

asio::awaitable<Result<void>> EtcdStore::resign(std::string name) {
  Compare ours{key("leader"), Compare::Target::kValue, Compare::Op::kEqual, 0, name};
  json txn = txn_request({ours}, {as_delete_op(delete_request(key("leader")))});
  auto r = co_await client_->call("/v3/kv/txn", std::move(txn), Channel::kLease);
  if (!r) {
    co_return r.error();
  }
  co_return Ok{};
}

asio::awaitable<Result<void>> EtcdStore::publish(AgentRecord record, int64_t lease) {
  std::string suffix = "agents/" + record.name;
  std::string value = encode_record(record);
  co_return co_await put(std::move(suffix), std::move(value), lease, Channel::kLease);
}

asio::awaitable<Result<Members>> EtcdStore::join(std::string name, Member me) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    const std::string suffix = "members";
    auto kv = co_await get(suffix);
    if (!kv) {
      co_return kv.error();
    }
    Members m;
    int64_t rev = 0;
    if (kv->has_value()) {
      auto decoded = decode_members((*kv)->value);
      if (!decoded) {
        co_return Error{ErrorCode::kCorrupt, describe() + " key " + key("members") + ": " + decoded.error().message};
      }
      m = std::move(*decoded);
      rev = (*kv)->mod_revision;
    }
    auto it = m.agents.find(name);
    if (it != m.agents.end() && it->second.peer_url == me.peer_url && it->second.admin_url == me.admin_url) {
      co_return m;  // already there as it is
    }
    m.agents[name] = me;
    m.version += 1;
    Compare unchanged{
        key("members"), rev == 0 ? Compare::Target::kCreate : Compare::Target::kMod, Compare::Op::kEqual, rev, {}};
    json txn = txn_request({unchanged}, {as_put_op(put_request(key("members"), encode_members(m)))});
    auto w = co_await client_->call("/v3/kv/txn", std::move(txn), Channel::kWrite);
    if (!w) {
      co_return w.error();
    }
    auto t = parse_txn(*w);
    if (!t) {
      co_return t.error();
    }
    if (t->succeeded) {
      co_return m;
    }
  }
  co_return Error{ErrorCode::kConflict, "the membership list kept changing while joining; retrying later"};
}

asio::awaitable<Result<Members>> EtcdStore::forget(std::string name) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    const std::string suffix = "members";
    auto kv = co_await get(suffix);
    if (!kv) {
      co_return kv.error();
    }
    if (!kv->has_value()) {
      co_return Error{ErrorCode::kUsage, "no membership list yet"};
    }
    auto m = decode_members((*kv)->value);
    if (!m) {
      co_return Error{ErrorCode::kCorrupt, m.error().message};
    }
    if (m->agents.erase(name) == 0) {
      co_return Error{ErrorCode::kUsage, "no agent named " + name + " in the membership list"};
    }
    m->version += 1;
    Compare unchanged{key("members"), Compare::Target::kMod, Compare::Op::kEqual, (*kv)->mod_revision, {}};
    json txn = txn_request({unchanged}, {as_put_op(put_request(key("members"), encode_members(*m)))});
    auto w = co_await client_->call("/v3/kv/txn", std::move(txn), Channel::kWrite);
    if (!w) {
      co_return w.error();
    }
    auto t = parse_txn(*w);
    if (!t) {
      co_return t.error();
    }
    if (t->succeeded) {
      co_return *m;
    }
  }
  co_return Error{ErrorCode::kConflict, "the membership list kept changing; try again"};
}

Result<std::unique_ptr<EtcdStore>> open_etcd_store(const EtcdConfig& config, boost::asio::any_io_executor executor,
                                                   size_t journal_size) {
  ClientOptions o;
  o.endpoints = config.endpoints;
  o.tls = config.tls;
  o.username = config.username;
  o.timeout = config.timeout;
  if (!config.username.empty()) {
    auto pw = es::read_secret(config.password_file, config.password_env, "state.etcd.password");
    if (!pw) {
      return pw.error();
    }
    o.password = *pw;
  }
  auto client = std::make_shared<Client>(std::move(executor), std::move(o));
  return std::make_unique<EtcdStore>(client, config.prefix, journal_size);
}

Result<std::unique_ptr<StateStore>> open_configured_store(const StateConfig& config,
                                                          boost::asio::any_io_executor executor) {
  if (config.store == StoreKind::kEtcd) {
    auto etcd = open_etcd_store(config.etcd, std::move(executor), static_cast<size_t>(config.journal_size));
    if (!etcd) {
      return etcd.error();
    }
    return std::unique_ptr<StateStore>(std::move(*etcd));
  }
  auto opened = open_store(config);
  if (!opened) {
    return opened.error();
  }
  for (const auto& w : opened->warnings) {
    spdlog::warn("state store: {}", w);
  }
  return std::move(opened->store);
}

}  // namespace haes::etcd
