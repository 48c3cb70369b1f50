#pragma once
// The etcd v3 JSON gateway's shapes (etcd 3.4, Debian's etcd-server), as pure
// functions: request bodies in, parsed answers out; no I/O (agent/etcd/
// client.hpp sends them). Gateway facts: keys and values are base64; 64-bit
// numbers are JSON strings; fields with zero values are omitted (a failed
// txn has no "succeeded" at all); errors come as {"error", "code", "message"}.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace haes::etcd {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct Header {
  int64_t revision = 0;  // the store's revision when the request was served
  uint64_t member_id = 0;
  int64_t raft_term = 0;
};

struct RangeResponse {
  Header header;
  std::vector<KeyValue> kvs;
  int64_t count = 0;
  bool more = false;
};

enum class SortOrder { kNone, kAscend, kDescend };
enum class SortTarget { kKey, kCreate, kMod };

struct RangeOptions {
  bool prefix = false;  // every key starting with `key`
  int64_t limit = 0;    // 0: no limit
  bool keys_only = false;
  bool count_only = false;
  SortOrder order = SortOrder::kNone;
  SortTarget target = SortTarget::kKey;
};

// The end of the range holding every key that starts with `prefix`.
std::string prefix_end(std::string_view prefix);

nlohmann::json range_request(std::string_view key, const RangeOptions& o = {});
nlohmann::json put_request(std::string_view key, std::string_view value, int64_t lease = 0);
nlohmann::json delete_request(std::string_view key, std::string_view range_end = {});

// One comparison of a transaction.
struct Compare {
  enum class Target { kVersion, kCreate, kMod, kValue, kLease };
  enum class Op { kEqual, kGreater, kLess, kNotEqual };
  std::string key;
  Target target = Target::kMod;
  Op op = Op::kEqual;
  int64_t number = 0;  // for kVersion, kCreate, kMod, kLease
  std::string value;   // for kValue
};

// A transaction: `success` ops run when every compare holds, `failure` ops
// otherwise. Ops are {"request_range"|"request_put"|"request_delete_range": ...}.
nlohmann::json txn_request(const std::vector<Compare>& compares, std::vector<nlohmann::json> success,
                           std::vector<nlohmann::json> failure = {});
nlohmann::json as_range_op(nlohmann::json range);
nlohmann::json as_put_op(nlohmann::json put);
nlohmann::json as_delete_op(nlohmann::json del);

struct TxnResponse {
  Header header;
  bool succeeded = false;
  // One entry per op that ran; range answers parsed, others header-only.
  std::vector<RangeResponse> ranges;  // in op order, for the range ops only
};

struct LeaseGrant {
  int64_t id = 0;
  int64_t ttl_seconds = 0;
};

// Every parser refuses a body that is not the documented shape (kBadResponse)
// and turns a gateway error body into an Error (kStoreError with etcd's
// message; kForbidden for auth failures).
Result<RangeResponse> parse_range(const nlohmann::json& body);
Result<Header> parse_put(const nlohmann::json& body);
Result<TxnResponse> parse_txn(const nlohmann::json& body);
Result<LeaseGrant> parse_lease_grant(const nlohmann::json& body);
// A keepalive answer (unary over the gateway: {"result": {...}}): the TTL
// left, or 0 when the lease is gone (expired or revoked).
Result<int64_t> parse_keepalive(const nlohmann::json& body);
// The token of /v3/auth/authenticate.
Result<std::string> parse_authenticate(const nlohmann::json& body);

// The gateway's error body, if `body` is one: "etcdserver: ..." with its gRPC code.
std::optional<Error> gateway_error(const nlohmann::json& body);

}  // namespace haes::etcd
