// libFuzzer target: what etcd 3.4's v3 JSON gateway answers, and the
// records agents share through it.
//  - agent/etcd/gateway.hpp: parse_range, parse_put, parse_txn,
//    parse_lease_grant, parse_keepalive, parse_authenticate, gateway_error
//    on the body parsed as JSON (as the client does: null when not JSON);
//  - agent/etcd/records.hpp: decode_record, decode_members on the body's
//    text (an agent record or the membership list, read from a key);
//  - common/base64.hpp: base64_decode on the text.
// Input: an answer body (or a key's value).
//
// Invariants:
//  - nothing throws, and no undefined behaviour (UBSan aborts here);
//  - a refusal is typed: kBadResponse for a body of the wrong shape,
//    kStoreError or kForbidden for a gateway error body, always with a
//    message; a gateway error body is refused by every parser with that error;
//  - a decoded record or membership list encodes and decodes back to itself;
//  - base64 that decodes re-encodes to text that decodes to the same bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base64.hpp"
#include "etcd/gateway.hpp"
#include "etcd/records.hpp"
#include "fuzz_check.hpp"

namespace {

using haes::ErrorCode;

template <class T>
void check_refusal(const haes::Result<T>& r, const std::optional<haes::Error>& gateway) {
  if (gateway) {
    FUZZ_CHECK(!r.ok());
  }
  if (r.ok()) {
    return;
  }
  const haes::Error& e = r.error();
  FUZZ_CHECK(!e.message.empty());
  if (gateway) {
    FUZZ_CHECK(e.code == gateway->code && e.message == gateway->message, e.message);
    FUZZ_CHECK(e.code == ErrorCode::kStoreError || e.code == ErrorCode::kForbidden, e.message);
  } else {
    FUZZ_CHECK(e.code == ErrorCode::kBadResponse, e.message);
  }
}

bool same_record(const haes::etcd::AgentRecord& a, const haes::etcd::AgentRecord& b) {
  if (a.name != b.name || a.epoch != b.epoch || a.active != b.active || a.members_version != b.members_version ||
      a.peer_url != b.peer_url || a.admin_url != b.admin_url || a.at_ms != b.at_ms ||
      a.clusters.size() != b.clusters.size()) {
    return false;
  }
  for (size_t i = 0; i < a.clusters.size(); ++i) {
    const auto &x = a.clusters[i], &y = b.clusters[i];
    if (x.name != y.name || x.health != y.health || x.bad_rounds != y.bad_rounds || x.red != y.red ||
        x.unreachable != y.unreachable) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded()) {
    body = nullptr;
  }
  const std::optional<haes::Error> gateway = haes::etcd::gateway_error(body);
  if (gateway) {
    FUZZ_CHECK(!gateway->message.empty());
  }
  check_refusal(haes::etcd::parse_range(body), gateway);
  check_refusal(haes::etcd::parse_put(body), gateway);
  check_refusal(haes::etcd::parse_lease_grant(body), gateway);
  check_refusal(haes::etcd::parse_keepalive(body), gateway);
  check_refusal(haes::etcd::parse_authenticate(body), gateway);
  auto txn = haes::etcd::parse_txn(body);
  check_refusal(txn, gateway);
  if (txn.ok() && body.contains("responses")) {
    FUZZ_CHECK(txn->ranges.size() <= body["responses"].size());
  }

  auto record = haes::etcd::decode_record(text);
  if (record.ok()) {
    FUZZ_CHECK(!record->name.empty());
    const std::string again = haes::etcd::encode_record(*record);
    auto back = haes::etcd::decode_record(again);
    FUZZ_CHECK(back.ok() && same_record(*back, *record), again);
  } else {
    FUZZ_CHECK(record.error().code == ErrorCode::kBadResponse && !record.error().message.empty());
  }
  auto members = haes::etcd::decode_members(text);
  if (members.ok()) {
    const std::string again = haes::etcd::encode_members(*members);
    auto back = haes::etcd::decode_members(again);
    FUZZ_CHECK(back.ok() && back->version == members->version && back->agents.size() == members->agents.size(), again);
    for (const auto& [name, m] : members->agents) {
      auto it = back->agents.find(name);
      FUZZ_CHECK(it != back->agents.end() && it->second.peer_url == m.peer_url && it->second.admin_url == m.admin_url,
                 name);
    }
  } else {
    FUZZ_CHECK(members.error().code == ErrorCode::kBadResponse && !members.error().message.empty());
  }

  if (auto bytes = haes::base64_decode(text)) {
    auto back = haes::base64_decode(haes::base64_encode(*bytes));
    FUZZ_CHECK(back && *back == *bytes);
  }
  return 0;
}
