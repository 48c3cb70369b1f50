// The HealthMonitor's rules: ES answers → node observations → a cluster's
// verdict (docs/health.md).
#include "monitor/judge.hpp"

#include "es/response.hpp"

#include <gtest/gtest.h>

namespace haes {
namespace {

Result<es::Response> answer(int status, const std::string& body) {
  es::Response r;
  r.status = status;
  r.body = body;
  r.json = nlohmann::json::parse(body, nullptr, false);
  if (r.json.is_discarded()) {
    r.json = nullptr;
  }
  if (status >= 400 && r.json.is_object() && r.json["error"].is_object()) {
    const auto& e = r.json["error"];
    r.es_type = e["type"].is_string() ? e["type"].get<std::string>() : "";
    r.es_reason = e["reason"].is_string() ? e["reason"].get<std::string>() : "";
  }
  return r;
}

NodeObservation node(const std::string& name, Health h, ProbeFailure f = ProbeFailure::kNone) {
  NodeObservation o;
  o.name = name;
  o.health = h;
  o.failure = f;
  return o;
}

TEST(JudgeNode, StatusFieldGivesTheHealth) {
  EXPECT_EQ(judge_node(answer(200, R"({"cluster_name":"dc1","status":"green"})")).health, Health::kGreen);
  EXPECT_EQ(judge_node(answer(200, R"({"status":"yellow","unassigned_shards":2})")).health, Health::kYellow);
  auto red = judge_node(answer(200, R"({"status":"red","unassigned_shards":1})"));
  EXPECT_EQ(red.health, Health::kRed);
  EXPECT_EQ(red.failure, ProbeFailure::kNone);  // red is an answer, not a failure to answer
}

TEST(JudgeNode, NoMasterIsUnreachableNotRed) {
  auto o = judge_node(answer(
      503, R"({"error":{"root_cause":[],"type":"master_not_discovered_exception","reason":null},"status":503})"));
  EXPECT_EQ(o.health, Health::kUnreachable);
  EXPECT_EQ(o.failure, ProbeFailure::kNoMaster);
}

TEST(JudgeNode, AuthAndOtherHttpErrorsAreTypedApart) {
  auto auth = judge_node(answer(
      401, R"({"error":{"type":"security_exception","reason":"missing authentication credentials"},"status":401})"));
  EXPECT_EQ(auth.failure, ProbeFailure::kAuth);
  EXPECT_NE(auth.reason.find("security_exception"), std::string::npos);
  auto blocked =
      judge_node(answer(503, R"({"error":{"type":"cluster_block_exception","reason":"blocked"},"status":503})"));
  EXPECT_EQ(blocked.failure, ProbeFailure::kHttpError);
  EXPECT_NE(blocked.reason.find("HTTP 503 cluster_block_exception"), std::string::npos);
}

TEST(JudgeNode, BodiesWithoutAStatusAreBadBodies) {
  EXPECT_EQ(judge_node(answer(200, "<html>proxy error</html>")).failure, ProbeFailure::kBadBody);
  EXPECT_EQ(judge_node(answer(200, R"({"status":"purple"})")).failure, ProbeFailure::kBadBody);
  EXPECT_EQ(judge_node(answer(200, R"({"status":1})")).failure, ProbeFailure::kBadBody);
  // Fields of the wrong type are ignored, never thrown on.
  EXPECT_EQ(judge_node(answer(200, R"({"status":"yellow","unassigned_shards":"many"})")).health, Health::kYellow);
}

TEST(JudgeNode, TransportErrorsKeepTheirKind) {
  EXPECT_EQ(judge_node(Result<es::Response>(Error{ErrorCode::kConnect, "refused"})).failure, ProbeFailure::kConnect);
  EXPECT_EQ(judge_node(Result<es::Response>(Error{ErrorCode::kTimeout, "slow"})).failure, ProbeFailure::kTimeout);
  EXPECT_EQ(judge_node(Result<es::Response>(Error{ErrorCode::kTls, "bad cert"})).failure, ProbeFailure::kTls);
  EXPECT_EQ(judge_node(Result<es::Response>(Error{ErrorCode::kBadResponse, "cut"})).failure, ProbeFailure::kBadBody);
}

TEST(JudgeCluster, AllAgreeingNodesGiveTheirHealth) {
  auto c = judge_cluster("dc1", {node("a", Health::kGreen), node("b", Health::kGreen)});
  EXPECT_EQ(c.health, Health::kGreen);
  EXPECT_NE(c.reason.find("2/2"), std::string::npos);
}

TEST(JudgeCluster, APartitionedNodeDoesNotMakeTheClusterBad) {
  auto c = judge_cluster("dc1", {node("a", Health::kGreen), node("b", Health::kUnreachable, ProbeFailure::kNoMaster),
                                 node("c", Health::kUnreachable, ProbeFailure::kConnect)});
  EXPECT_EQ(c.health, Health::kGreen);
  EXPECT_NE(c.reason.find("1/3"), std::string::npos);
  EXPECT_NE(c.reason.find("b: no_master"), std::string::npos);
  EXPECT_NE(c.reason.find("c: connect"), std::string::npos);
}

TEST(JudgeCluster, DisagreementResolvesToTheBestAnswer) {
  EXPECT_EQ(judge_cluster("dc1", {node("a", Health::kRed), node("b", Health::kYellow)}).health, Health::kYellow);
  EXPECT_EQ(judge_cluster("dc1", {node("a", Health::kRed), node("b", Health::kRed)}).health, Health::kRed);
}

TEST(JudgeCluster, RedIsKeptApartFromUnreachable) {
  auto red = judge_cluster("dc1", {node("a", Health::kRed), node("b", Health::kUnreachable, ProbeFailure::kTimeout)});
  EXPECT_EQ(red.health, Health::kRed);
  auto gone = judge_cluster("dc1", {node("a", Health::kUnreachable, ProbeFailure::kTimeout),
                                    node("b", Health::kUnreachable, ProbeFailure::kConnect)});
  EXPECT_EQ(gone.health, Health::kUnreachable);
  EXPECT_NE(gone.reason.find("no node gave a health answer"), std::string::npos);
}

// Found by tests/fuzz/es_answer_fuzz.cpp: an answer that is not UTF-8 (a
// proxy's Latin-1 error page, garbage) went byte for byte into the node's
// reason, and from there into the verdict, the state record (a proto3
// string) and JSON output, which all need valid UTF-8.
TEST(JudgeNode, ReasonsAreValidUtf8WhateverTheAnswer) {
  const std::string latin1 =
      "<html>Passerelle d\xe9"
      "faillante\r\nsecond line</html>";
  auto o = judge_node(answer(502, latin1));
  EXPECT_EQ(o.failure, ProbeFailure::kHttpError);
  EXPECT_EQ(o.reason,
            "HTTP 502: <html>Passerelle d\xef\xbf\xbd"
            "faillante");
  EXPECT_NO_THROW((void)nlohmann::json(o.reason).dump());
  auto body = judge_node(answer(200, "\xff\xfe{status"));
  EXPECT_EQ(body.failure, ProbeFailure::kBadBody);
  EXPECT_NO_THROW((void)nlohmann::json(body.reason).dump());
  // A UTF-8 character is never cut in two, and a cut is marked.
  const std::string accents(300, 'x');
  auto cut = judge_node(answer(500, "\xc3" + accents));
  EXPECT_EQ(cut.reason.rfind("HTTP 500: \xef\xbf\xbd", 0), 0u) << cut.reason;
  EXPECT_EQ(cut.reason.substr(cut.reason.size() - 3), "…");
  std::string e_acute;
  for (int i = 0; i < 150; ++i) {
    e_acute += "\xc3\xa9";
  }
  auto halves = judge_node(answer(500, "x" + e_acute));  // byte 200 is the first half of an é
  EXPECT_NO_THROW((void)nlohmann::json(halves.reason).dump());
  EXPECT_EQ(halves.reason, "HTTP 500: x" + e_acute.substr(0, 198) + "…");
}

TEST(ShownText, ReplacesWhatIsNotUtf8AndKeepsOneLine) {
  EXPECT_EQ(es::shown_text("a\nb\rc", 10), "a b c");
  EXPECT_EQ(es::shown_text("\xed\xa0\x80", 10), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate
  EXPECT_EQ(es::shown_text("\xc0\xaf", 10), "\xef\xbf\xbd\xef\xbf\xbd");                  // overlong '/'
  EXPECT_EQ(es::shown_text("\xf0\x9f\x98\x80!", 10), "\xf0\x9f\x98\x80!");
  EXPECT_EQ(es::shown_text("\xf0\x9f\x98\x80!", 3), "…");
  EXPECT_EQ(es::shown_text("abcdef", 3), "abc…");
  EXPECT_EQ(es::shown_text("", 3), "");
}

}  // namespace
}  // namespace haes
