// The admin command table: parsing, usage errors from the table, reply framing.
#include "admin/command_table.hpp"

#include <gtest/gtest.h>

namespace haes::admin {
namespace {

CommandTable table(Args* seen) {
  CommandTable t;
  t.add(CommandSpec{{"failover"}, "failover --to CLUSTER [--force]", "move", {{"--to", true, ""}, {"--force", false, ""}},
                    0, true, [seen](const Args& a, const Peer&) {
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
  t.add(CommandSpec{{"boom"}, "boom", "throws", {}, 0, false,
                    [](const Args&, const Peer&) -> Reply { throw std::runtime_error("kaput"); }});
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
  EXPECT_EQ(unknown.code, "usage");
  EXPECT_NE(unknown.text.find("unknown command 'fialover'"), std::string::npos);
  Reply flag = t.run("failover --too dc1", Peer{});
  EXPECT_NE(flag.text.find("unknown option '--too'"), std::string::npos);
  EXPECT_NE(flag.text.find("usage: failover --to CLUSTER"), std::string::npos);
  EXPECT_NE(t.run("failover --to", Peer{}).text.find("needs a value"), std::string::npos);
  EXPECT_NE(t.run("failover --force=yes", Peer{}).text.find("takes no value"), std::string::npos);
  EXPECT_NE(t.run("events 1 2", Peer{}).text.find("unexpected argument '2'"), std::string::npos);
  EXPECT_NE(t.run("failover --to \"dc1", Peer{}).text.find("unbalanced"), std::string::npos);
  EXPECT_EQ(t.run("   ", Peer{}).code, "usage");
}

TEST(CommandTable, AHandlerExceptionBecomesAnErrorReply) {
  Args seen;
  Reply r = table(&seen).run("boom", Peer{});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, "internal");
  EXPECT_NE(r.text.find("kaput"), std::string::npos);
}

TEST(RenderReply, EndsWithOneEmptyLineAndNeverContainsOne) {
  Reply r;
  r.text = "a\n\nb\n";
  EXPECT_EQ(render_reply(r, false), "a\nb\n\n");
  EXPECT_EQ(render_reply(Reply::error("unhealthy_target", "no"), false), "error: no\n\n");
  EXPECT_EQ(render_reply(Reply::error("usage", "bad"), false), "error: bad command: bad\n\n");
  std::string j = render_reply(Reply::error("usage", "bad"), true);
  EXPECT_EQ(j, "{\"code\":\"usage\",\"error\":\"bad\",\"ok\":false}\n\n");
}

TEST(CommandTable, HelpListsEveryCommandFromTheTable) {
  Args seen;
  std::string h = table(&seen).help_text();
  EXPECT_NE(h.find("failover --to CLUSTER [--force]"), std::string::npos);
  EXPECT_NE(h.find("show config"), std::string::npos);
  EXPECT_NE(h.find("events [N]"), std::string::npos);
}

}  // namespace
}  // namespace haes::admin
