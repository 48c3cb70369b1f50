// The admin command table: parsing, usage errors from the table, reply framing.
#include "admin/command_table.hpp"

#include <gtest/gtest.h>

namespace haes::admin {
namespace {

CommandTable table(Args* seen) {
  CommandTable t;
  t.add(CommandSpec{{"failover"},
                    "failover --to CLUSTER [--force]",
                    "move",
                    {{"--to", true, ""}, {"--force", false, ""}},
                    0,
                    true,
                    [seen](const Args& a, const Peer&) {
                      *seen = a;
                      Reply r;
                      r.text = "done";
                      return r;
                    }});
  t.add(CommandSpec{{"show", "config"}, "show config", "cfg", {}, 0, false, [](const Args&, const Peer&) {
                      Reply r;
                      r.text = "config";
                      return r;
                    }});
  t.add(CommandSpec{{"events"}, "events [N]", "ev", {}, 1, false, [seen](const Args& a, const Peer&) {
                      *seen = a;
                      return Reply{};
                    }});
  t.add(CommandSpec{{"boom"}, "boom", "throws", {}, 0, false, [](const Args&, const Peer&) -> Reply {
                      throw std::runtime_error("kaput");
                    }});
  return t;
}

TEST(CommandTable, ParsesFlagsValuesAndQuotedWords) {
  Args seen;
  auto t = table(&seen);
  Reply r = t.run(R"(failover --to "dc 2" --force --json)", Peer{});
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(seen.get("--to"), "dc 2");
  EXPECT_TRUE(seen.has("--force"));
  EXPECT_TRUE(r.as_json);
  t.run("failover --to=dc1", Peer{});
  EXPECT_EQ(seen.get("--to"), "dc1");
}

TEST(CommandTable, MultiWordCommandsMatch) {
  Args seen;
  EXPECT_EQ(table(&seen).run("show config", Peer{}).text, "config");
}

TEST(CommandTable, UsageErrorsNameWhatWasWrong) {
  Args seen;
  auto t = table(&seen);
  Reply unknown = t.run("fialover", Peer{});
  EXPECT_EQ(unknown.code, ErrorCode::kUsage);
  EXPECT_NE(unknown.text.find("unknown command 'fialover'"), std::string::npos);
  Reply flag = t.run("failover --too dc1", Peer{});
  EXPECT_NE(flag.text.find("unknown option '--too'"), std::string::npos);
  EXPECT_NE(flag.text.find("usage: failover --to CLUSTER"), std::string::npos);
  EXPECT_NE(t.run("failover --to", Peer{}).text.find("needs a value"), std::string::npos);
  EXPECT_NE(t.run("failover --force=yes", Peer{}).text.find("takes no value"), std::string::npos);
  EXPECT_NE(t.run("events 1 2", Peer{}).text.find("unexpected argument '2'"), std::string::npos);
  EXPECT_NE(t.run("failover --to \"dc1", Peer{}).text.find("unbalanced"), std::string::npos);
  EXPECT_EQ(t.run("   ", Peer{}).code, ErrorCode::kUsage);
}

TEST(CommandTable, AHandlerExceptionBecomesAnErrorReply) {
  Args seen;
  Reply r = table(&seen).run("boom", Peer{});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::kInternal);
  EXPECT_NE(r.text.find("kaput"), std::string::npos);
}

TEST(RenderReply, EndsWithOneEmptyLineAndNeverContainsOne) {
  Reply r;
  r.text = "a\n\nb\n";
  EXPECT_EQ(render_reply(r, false), "a\nb\n\n");
  EXPECT_EQ(render_reply(Reply::error(ErrorCode::kUnhealthyTarget, "no"), false), "error: no\n\n");
  EXPECT_EQ(render_reply(Reply::error(ErrorCode::kUsage, "bad"), false), "error: bad command: bad\n\n");
  std::string j = render_reply(Reply::error(ErrorCode::kUsage, "bad"), true);
  EXPECT_EQ(j, "{\"code\":\"usage\",\"error\":\"bad\",\"ok\":false}\n\n");
}

TEST(CommandTable, HelpListsEveryCommandFromTheTable) {
  Args seen;
  std::string h = table(&seen).help_text();
  EXPECT_NE(h.find("failover --to CLUSTER [--force]"), std::string::npos);
  EXPECT_NE(h.find("show config"), std::string::npos);
  EXPECT_NE(h.find("events [N]"), std::string::npos);
}

TEST(ReplyWire, RoundTripsOkAndRefusals) {
  Reply ok;
  ok.text = "switched over to dc2\nepoch 4";
  ok.json = {{"active", "dc2"}};
  auto back = reply_from_wire(reply_to_wire(ok));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->ok);
  EXPECT_EQ(back->text, ok.text);
  EXPECT_EQ(back->json["active"], "dc2");

  Reply no = Reply::error(ErrorCode::kUnhealthyTarget, "dc2 is red");
  back = reply_from_wire(reply_to_wire(no));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->ok);
  EXPECT_EQ(back->code, ErrorCode::kUnhealthyTarget);
  EXPECT_EQ(back->text, "dc2 is red");
}

TEST(ReplyWire, MalformedRepliesNameWhatIsWrong) {
  auto r = reply_from_wire(nlohmann::json::parse(R"({"text": "x"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("\"ok\": bool"), std::string::npos) << r.error().message;
  r = reply_from_wire(nlohmann::json::parse(R"({"ok": false, "text": "x", "code": "no_such_code"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("'no_such_code'"), std::string::npos) << r.error().message;
  EXPECT_FALSE(reply_from_wire(nlohmann::json("a string")).ok());
}

// Found by tests/fuzz/admin_fuzz.cpp: a text line of two CRs kept one, and a
// reader of CR-LF lines (socat crlf, HAProxy's CLI clients) took "\r\n" for
// the empty line that ends the reply.
TEST(RenderReply, ALineOfCarriageReturnsIsEmptyToo) {
  Reply r;
  r.text = "--reason = mat\n\r\r\nncw\r\r\r\n";
  const std::string out = render_reply(r, false);
  EXPECT_EQ(out, "--reason = mat\nncw\n\n");
  EXPECT_EQ(out.find("\n\r"), std::string::npos);
}

}  // namespace
}  // namespace haes::admin
