#include "etcd/gateway.hpp"

#include "common/base64.hpp"

namespace haes::etcd {
namespace {

using nlohmann::json;

Error bad(const std::string& what) { return Error{ErrorCode::kBadResponse, "etcd answered " + what}; }

// A 64-bit number as the gateway writes it (a string), or absent (0).
std::optional<int64_t> number(const json& o, const char* key) {
  if (!o.is_object() || !o.contains(key)) {
    return 0;
  }
  const json& v = o[key];
  if (v.is_number_integer()) {
    return v.get<int64_t>();
  }
  if (!v.is_string()) {
    return std::nullopt;
  }
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > 20) {
    return std::nullopt;
  }
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) {
    return std::nullopt;
  }
  int64_t out = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return std::nullopt;
    }
    if (out > (INT64_MAX - (s[i] - '0')) / 10) {
      // member ids are uint64: keep the low bits, they are only shown
      return std::nullopt;
    }
    out = out * 10 + (s[i] - '0');
  }
  return s[0] == '-' ? -out : out;
}

std::optional<uint64_t> unsigned_number(const json& o, const char* key) {
  if (!o.is_object() || !o.contains(key)) {
    return 0;
  }
  const json& v = o[key];
  if (v.is_number_unsigned()) {
    return v.get<uint64_t>();
  }
  if (!v.is_string()) {
    return std::nullopt;
  }
  try {
    size_t used = 0;
    uint64_t n = std::stoull(v.get<std::string>(), &used);
    if (used != v.get_ref<const std::string&>().size()) {
      return std::nullopt;
    }
    return n;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::string> bytes(const json& o, const char* key) {
  if (!o.is_object() || !o.contains(key)) {
    return std::string();
  }
  if (!o[key].is_string()) {
    return std::nullopt;
  }
  return base64_decode(o[key].get_ref<const std::string&>());
}

Result<Header> header_of(const json& body) {
  if (!body.is_object()) {
    return bad("something that is not a JSON object");
  }
  const json& h = body.contains("header") ? body["header"] : json::object();
  if (!h.is_object()) {
    return bad("a header that is not an object");
  }
  auto rev = number(h, "revision");
  auto member = unsigned_number(h, "member_id");
  auto term = number(h, "raft_term");
  if (!rev || !member || !term) {
    return bad("a header with a malformed number");
  }
  return Header{*rev, *member, *term};
}

Result<RangeResponse> range_of(const json& body) {
  auto h = header_of(body);
  if (!h) {
    return h.error();
  }
  RangeResponse r;
  r.header = *h;
  auto count = number(body, "count");
  if (!count) {
    return bad("a range with a malformed count");
  }
  r.count = *count;
  if (body.contains("more")) {
    if (!body["more"].is_boolean()) {
      return bad("a range whose 'more' is not a boolean");
    }
    r.more = body["more"].get<bool>();
  }
  if (body.contains("kvs")) {
    if (!body["kvs"].is_array()) {
      return bad("a range whose 'kvs' is not a list");
    }
    for (const auto& kv : body["kvs"]) {
      KeyValue out;
      auto key = bytes(kv, "key");
      auto value = bytes(kv, "value");
      auto create = number(kv, "create_revision");
      auto mod = number(kv, "mod_revision");
      auto version = number(kv, "version");
      auto lease = number(kv, "lease");
      if (!kv.is_object() || !key || !value || !create || !mod || !version || !lease) {
        return bad("a key-value that is not the documented shape");
      }
      out.key = std::move(*key);
      out.value = std::move(*value);
      out.create_revision = *create;
      out.mod_revision = *mod;
      out.version = *version;
      out.lease = *lease;
      r.kvs.push_back(std::move(out));
    }
  }
  return r;
}

const char* target_name(Compare::Target t) {
  switch (t) {
    case Compare::Target::kVersion: return "VERSION";
    case Compare::Target::kCreate: return "CREATE";
    case Compare::Target::kMod: return "MOD";
    case Compare::Target::kValue: return "VALUE";
    case Compare::Target::kLease: return "LEASE";
  }
  return "MOD";
}

const char* op_name(Compare::Op o) {
  switch (o) {
    case Compare::Op::kEqual: return "EQUAL";
    case Compare::Op::kGreater: return "GREATER";
    case Compare::Op::kLess: return "LESS";
    case Compare::Op::kNotEqual: return "NOT_EQUAL";
  }
  return "EQUAL";
}

}  // namespace

std::optional<Error> gateway_error(const json& body) {
  if (!body.is_object() || !body.contains("error")) {
    return std::nullopt;
  }
  std::string message = body["error"].is_string() ? body["error"].get<std::string>() : body["error"].dump();
  int64_t code = body.contains("code") && body["code"].is_number_integer() ? body["code"].get<int64_t>() : -1;
  // gRPC codes: 16 unauthenticated (bad token), 7 permission denied, 3 with
  // "authentication failed" (bad user or password).
  const bool auth = code == 16 || code == 7 || message.find("authentication failed") != std::string::npos;
  return Error{auth ? ErrorCode::kForbidden : ErrorCode::kStoreError,
               "etcd: " + message + (code >= 0 ? " (code " + std::to_string(code) + ")" : "")};
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(end.back());
    if (c < 0xff) {
      ++c;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

json range_request(std::string_view key, const RangeOptions& o) {
  json r = {{"key", base64_encode(key)}};
  if (o.prefix) {
    r["range_end"] = base64_encode(prefix_end(key));
  }
  if (o.limit > 0) {
    r["limit"] = std::to_string(o.limit);
  }
  if (o.keys_only) {
    r["keys_only"] = true;
  }
  if (o.count_only) {
    r["count_only"] = true;
  }
  if (o.order != SortOrder::kNone) {
    r["sort_order"] = o.order == SortOrder::kAscend ? "ASCEND" : "DESCEND";
    r["sort_target"] = o.target == SortTarget::kKey ? "KEY" : o.target == SortTarget::kCreate ? "CREATE" : "MOD";
  }
  return r;
}

json put_request(std::string_view key, std::string_view value, int64_t lease) {
  json r = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) {
    r["lease"] = std::to_string(lease);
  }
  return r;
}

json delete_request(std::string_view key, std::string_view range_end) {
  json r = {{"key", base64_encode(key)}};
  if (!range_end.empty()) {
    r["range_end"] = base64_encode(range_end);
  }
  return r;
}

json as_range_op(json range) { return {{"request_range", std::move(range)}}; }
json as_put_op(json put) { return {{"request_put", std::move(put)}}; }
json as_delete_op(json del) { return {{"request_delete_range", std::move(del)}}; }

json txn_request(const std::vector<Compare>& compares, std::vector<json> success, std::vector<json> failure) {
  json c = json::array();
  for (const auto& x : compares) {
    json one = {{"key", base64_encode(x.key)}, {"target", target_name(x.target)}, {"result", op_name(x.op)}};
    switch (x.target) {
      case Compare::Target::kVersion: one["version"] = std::to_string(x.number); break;
      case Compare::Target::kCreate: one["create_revision"] = std::to_string(x.number); break;
      case Compare::Target::kMod: one["mod_revision"] = std::to_string(x.number); break;
      case Compare::Target::kLease: one["lease"] = std::to_string(x.number); break;
      case Compare::Target::kValue: one["value"] = base64_encode(x.value); break;
    }
    c.push_back(std::move(one));
  }
  json r = {{"compare", std::move(c)}, {"success", json(std::move(success))}};
  if (!failure.empty()) {
    r["failure"] = json(std::move(failure));
  }
  return r;
}

Result<RangeResponse> parse_range(const json& body) {
  if (auto e = gateway_error(body)) {
    return *e;
  }
  return range_of(body);
}

Result<Header> parse_put(const json& body) {
  if (auto e = gateway_error(body)) {
    return *e;
  }
  return header_of(body);
}

Result<TxnResponse> parse_txn(const json& body) {
  if (auto e = gateway_error(body)) {
    return *e;
  }
  auto h = header_of(body);
  if (!h) {
    return h.error();
  }
  TxnResponse t;
  t.header = *h;
  if (body.contains("succeeded")) {
    if (!body["succeeded"].is_boolean()) {
      return bad("a txn whose 'succeeded' is not a boolean");
    }
    t.succeeded = body["succeeded"].get<bool>();
  }
  if (body.contains("responses")) {
    if (!body["responses"].is_array()) {
      return bad("a txn whose 'responses' is not a list");
    }
    for (const auto& r : body["responses"]) {
      if (r.is_object() && r.contains("response_range")) {
        auto rr = range_of(r["response_range"]);
        if (!rr) {
          return rr.error();
        }
        t.ranges.push_back(std::move(*rr));
      }
    }
  }
  return t;
}

Result<LeaseGrant> parse_lease_grant(const json& body) {
  if (auto e = gateway_error(body)) {
    return *e;
  }
  auto id = number(body, "ID");
  auto ttl = number(body, "TTL");
  if (!id || !ttl || *id == 0) {
    return bad("a lease grant without a lease ID");
  }
  return LeaseGrant{*id, *ttl};
}

Result<int64_t> parse_keepalive(const json& body) {
  if (auto e = gateway_error(body)) {
    return *e;
  }
  const json& r = body.is_object() && body.contains("result") ? body["result"] : body;
  if (!r.is_object()) {
    return bad("a keepalive that is not an object");
  }
  auto ttl = number(r, "TTL");
  if (!ttl) {
    return bad("a keepalive with a malformed TTL");
  }
  return *ttl;  // absent (0): the lease is gone
}

Result<std::string> parse_authenticate(const json& body) {
  if (auto e = gateway_error(body)) {
    return *e;
  }
  if (!body.is_object() || !body.contains("token") || !body["token"].is_string() ||
      body["token"].get_ref<const std::string&>().empty()) {
    return bad("an authentication without a token");
  }
  return body["token"].get<std::string>();
}

}  // namespace haes::etcd
