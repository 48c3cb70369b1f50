// The etcd v3 JSON gateway's shapes (answers captured from Debian's etcd
// 3.4.23), the records agents share, base64.
#include "etcd/gateway.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "common/base64.hpp"
#include "etcd/records.hpp"

namespace haes::etcd {
namespace {

using nlohmann::json;

TEST(Base64, RoundTripsEveryLengthAndRefusesGarbage) {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
  }
  for (size_t n = 0; n < 40; ++n) {
    std::string in = all.substr(n, n);
    auto back = base64_decode(base64_encode(in));
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, in) << n;
  }
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_FALSE(base64_decode("Zm9"));       // bad length
  EXPECT_FALSE(base64_decode("Zm!v"));      // bad character
  EXPECT_FALSE(base64_decode("Z=9v"));      // padding in the middle
  EXPECT_FALSE(base64_decode("Zm8=Zm8="));  // padding before the end
}

TEST(Gateway, ParsesARangeAsEtcd343AnswersIt) {
  // curl -X POST .../v3/kv/range -d '{"key":"Zm9v"}'
  json body = json::parse(R"({"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709",
    "revision":"2","raft_term":"2"},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1",
    "value":"YmFy"}],"count":"1"})");
  auto r = parse_range(body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->header.revision, 2);
  EXPECT_EQ(r->header.member_id, 13668033151171901709u);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key, "foo");
  EXPECT_EQ(r->kvs[0].value, "bar");
  EXPECT_EQ(r->kvs[0].mod_revision, 2);
  EXPECT_EQ(r->count, 1);
  // An empty range: no kvs, no count (zero values are omitted).
  auto empty = parse_range(json::parse(R"({"header":{"revision":"7"}})"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->kvs.empty());
  EXPECT_EQ(empty->count, 0);
}

TEST(Gateway, AFailedTxnHasNoSucceededFieldAtAll) {
  json body = json::parse(R"({"header":{"revision":"2"},"responses":[{"response_range":{"header":{"revision":"2"},
    "kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"}}]})");
  auto t = parse_txn(body);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->succeeded);
  ASSERT_EQ(t->ranges.size(), 1u);
  EXPECT_EQ(t->ranges[0].kvs[0].mod_revision, 2);
  auto ok = parse_txn(json::parse(R"({"header":{"revision":"3"},"succeeded":true,"responses":[{"response_put":{}}]})"));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->succeeded);
  EXPECT_EQ(ok->header.revision, 3);
}

TEST(Gateway, ErrorsAreTypedAndNamed) {
  auto e = parse_range(json::parse(R"({"error":"etcdserver: invalid auth token","message":"x","code":16})"));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kForbidden);
  EXPECT_EQ(e.error().message, "etcd: etcdserver: invalid auth token (code 16)");
  auto bad = parse_range(json::parse(R"({"header":{"revision":"x2"}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kBadResponse);
  auto kv = parse_range(json::parse(R"({"kvs":[{"key":"!!"}]})"));
  ASSERT_FALSE(kv.ok()) << "a key that is not base64 is not the documented shape";
}

TEST(Gateway, KeepaliveOfAGoneLeaseHasNoTtl) {
  // etcd 3.4's answer for an unknown lease: a result without TTL.
  auto gone = parse_keepalive(json::parse(R"({"result":{"header":{"revision":"2"},"ID":"123"}})"));
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(*gone, 0);
  auto alive =
      parse_keepalive(json::parse(R"({"result":{"header":{"revision":"1"},"ID":"4111120380499765253","TTL":"5"}})"));
  ASSERT_TRUE(alive.ok());
  EXPECT_EQ(*alive, 5);
  auto grant = parse_lease_grant(json::parse(R"({"header":{"revision":"1"},"ID":"4111120380499765253","TTL":"5"})"));
  ASSERT_TRUE(grant.ok());
  EXPECT_EQ(grant->id, 4111120380499765253);
}

TEST(Gateway, RequestsEncodeKeysNumbersAndPrefixes) {
  EXPECT_EQ(prefix_end("/haes/"), "/haes0");
  EXPECT_EQ(prefix_end(std::string("a\xff", 2)), "b");
  RangeOptions o;
  o.prefix = true;
  o.limit = 5;
  o.order = SortOrder::kDescend;
  o.target = SortTarget::kCreate;
  json r = range_request("/haes/journal/", o);
  EXPECT_EQ(r["key"], base64_encode("/haes/journal/"));
  EXPECT_EQ(r["range_end"], base64_encode("/haes/journal0"));
  EXPECT_EQ(r["limit"], "5");
  EXPECT_EQ(r["sort_order"], "DESCEND");
  EXPECT_EQ(r["sort_target"], "CREATE");
  json t = txn_request({Compare{"/haes/state", Compare::Target::kMod, Compare::Op::kEqual, 42, {}}},
                       {as_put_op(put_request("/haes/state", "x", 7))});
  EXPECT_EQ(t["compare"][0]["mod_revision"], "42");
  EXPECT_EQ(t["compare"][0]["target"], "MOD");
  EXPECT_EQ(t["success"][0]["request_put"]["lease"], "7");
  EXPECT_FALSE(t.contains("failure"));
}

TEST(Records, AgentRecordsAndMembersRoundTripAndRefuseBadShapes) {
  AgentRecord r;
  r.name = "a1";
  r.epoch = 7;
  r.active = "dc2";
  r.members_version = 3;
  r.peer_url = "http://127.0.0.1:9500";
  r.at_ms = 1'795'000'000'000;
  r.clusters = {{"dc1", Health::kRed, 4, true, false}, {"dc2", Health::kGreen, 0, false, false}};
  auto back = decode_record(encode_record(r));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->epoch, 7u);
  EXPECT_EQ(back->clusters[0].health, Health::kRed);
  EXPECT_EQ(back->clusters[0].bad_rounds, 4);
  EXPECT_TRUE(back->clusters[0].red);
  EXPECT_FALSE(decode_record("{").ok());
  EXPECT_FALSE(decode_record(R"({"name":"a1","epoch":"seven"})").ok());
  auto bad_health = decode_record(R"({"name":"a1","clusters":[{"name":"dc1","health":"purple"}]})");
  ASSERT_FALSE(bad_health.ok());
  EXPECT_NE(bad_health.error().message.find("unknown health 'purple'"), std::string::npos);
  Members m;
  m.version = 2;
  m.agents["a1"] = Member{"http://127.0.0.1:9500", ""};
  auto mb = decode_members(encode_members(m));
  ASSERT_TRUE(mb.ok());
  EXPECT_EQ(mb->version, 2u);
  EXPECT_EQ(mb->agents.at("a1").peer_url, "http://127.0.0.1:9500");
  EXPECT_FALSE(decode_members(R"({"version":1})").ok());
}

// Found by tests/fuzz/etcd_answer_fuzz.cpp: a number field holding a float
// or a number out of the field's range was converted with a plain cast
// (undefined behaviour for -1.52 into the unsigned members_version).
TEST(Records, NumbersThatAreNotIntegersOfTheFieldsRangeAreRefused) {
  for (const char* text : {R"({"name":"a1","members_version":-1.52})", R"({"name":"a1","members_version":-1})",
                           R"({"name":"a1","epoch":1e30})", R"({"name":"a1","epoch":2.5})",
                           R"({"name":"a1","at_ms":18446744073709551615})",
                           R"({"name":"a1","clusters":[{"name":"dc1","health":"green","bad_rounds":4294967296}]})",
                           R"({"name":"a1","clusters":[{"name":"dc1","health":"green","bad_rounds":-2147483649}]})"}) {
    auto r = decode_record(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kBadResponse);
    EXPECT_NE(r.error().message.find("a1"), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(decode_members(R"({"version":-3,"agents":{}})").ok());
  EXPECT_FALSE(decode_members(R"({"version":0.5,"agents":{}})").ok());
  auto big = decode_record(R"({"name":"a1","epoch":18446744073709551615,"at_ms":-5,"clusters":[)"
                           R"({"name":"dc1","health":"red","bad_rounds":-1}]})");
  ASSERT_TRUE(big.ok()) << big.error().message;
  EXPECT_EQ(big->epoch, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(big->at_ms, -5);
  EXPECT_EQ(big->clusters[0].bad_rounds, -1);
}

}  // namespace
}  // namespace haes::etcd
