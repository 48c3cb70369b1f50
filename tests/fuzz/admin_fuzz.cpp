// libFuzzer target: the admin socket's request line (agent/admin/
// command_table: split_words, CommandTable::parse and run, render_reply),
// against a table with the agent's commands, words and flags
// (agent/commands/commands.cpp; handlers here echo their arguments).
// Input: one request line, as the admin socket hands it to the table.
//
// Invariants:
//  - split_words fails only on an unbalanced quote; quoting its words again
//    (as haesctl does) splits back to the same words;
//  - parse gives a usage error (typed code kUsage, a message) or a command
//    of the table with only its own flags and at most its positional count;
//  - run never throws, also when a handler throws;
//  - render_reply, text or JSON, ends with the one empty line and never
//    contains another; the JSON form is one JSON object with "ok";
//  - a --for value that parses as a duration prints back to the same one.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "admin/command_table.hpp"
#include "common/time.hpp"
#include "fuzz_check.hpp"

namespace {

using haes::ErrorCode;
using haes::admin::Args;
using haes::admin::CommandSpec;
using haes::admin::CommandTable;
using haes::admin::FlagSpec;
using haes::admin::Parsed;
using haes::admin::Peer;
using haes::admin::Reply;

// The handlers answer with the fuzzed arguments, so that the renderer sees
// arbitrary bytes (newlines, CRs, invalid UTF-8) in text and JSON.
Reply echo(const Args& a, const Peer&) {
  Reply r;
  nlohmann::json flags = nlohmann::json::object();
  for (const auto& [name, value] : a.flags) {
    r.text += name + " = " + value + "\n";
    flags[name] = value;
  }
  for (const auto& p : a.positional) {
    r.text += "positional " + p + "\n";
  }
  if (a.has("--for")) {
    auto d = haes::parse_duration(a.get("--for"));
    if (d) {
      FUZZ_CHECK(haes::parse_duration(haes::format_duration(*d)) == d, a.get("--for"));
    }
  }
  if (a.get("--reason") == "throw") {
    throw std::runtime_error("handler threw\non two lines");
  }
  if (a.get("--reason") == "refuse") {
    return Reply::error(ErrorCode::kUnhealthyTarget, r.text);
  }
  r.json = {{"flags", flags}, {"positional", a.positional}, {"text", r.text}};
  return r;
}

CommandTable make_table() {
  const FlagSpec dry_run{"--dry-run", false, "say what would happen, change nothing"};
  const FlagSpec reason{"--reason", true, "why (journaled)"};
  const FlagSpec to{"--to", true, "target cluster"};
  CommandTable t;
  auto add = [&](std::vector<std::string> words, std::string usage, std::vector<FlagSpec> flags, size_t positional,
                 bool mutates) {
    t.add(CommandSpec{std::move(words), std::move(usage), "help", std::move(flags), positional, mutates, echo});
  };
  add({"status"}, "status", {}, 0, false);
  add({"events"}, "events [N]", {}, 1, false);
  add({"failback"}, "failback [--reason TEXT] [--dry-run]", {reason, dry_run}, 0, true);
  add({"switchover"}, "switchover --to CLUSTER [--reason TEXT] [--dry-run]", {to, reason, dry_run}, 0, true);
  add({"failover"}, "failover --to CLUSTER [--force] [--reason TEXT] [--dry-run]",
      {to, {"--force", false, "skip the health check"}, reason, dry_run}, 0, true);
  add({"pause"}, "pause [--reason TEXT] [--for DURATION] [--dry-run]", {reason, {"--for", true, "duration"}, dry_run},
      0, true);
  add({"resume"}, "resume [--dry-run]", {dry_run}, 0, true);
  add({"ack"}, "ack [--dry-run]", {dry_run}, 0, true);
  add({"sync", "now"}, "sync now", {}, 0, true);
  add({"sync", "hold"}, "sync hold [--reason TEXT] [--dry-run]", {reason, dry_run}, 0, true);
  add({"sync", "release"}, "sync release [--dry-run]", {dry_run}, 0, true);
  add({"verify-restore"}, "verify-restore", {}, 0, true);
  add({"show", "config"}, "show config", {}, 0, false);
  // Registered without a handler, as an async-only command is for run().
  t.add(CommandSpec{{"help"}, "help", "this list", {}, 0, false, nullptr});
  t.seal();
  return t;
}

std::string quote(const std::string& w) {
  std::string q = "\"";
  for (char c : w) {
    if (c == '"' || c == '\\') {
      q += '\\';
    }
    q += c;
  }
  return q + "\"";
}

void check_rendered(const Reply& reply, bool json) {
  const std::string out = haes::admin::render_reply(reply, json);
  FUZZ_CHECK(out.size() >= 3 && out.compare(out.size() - 2, 2, "\n\n") == 0, out);
  const std::string_view body(out.data(), out.size() - 1);
  // Every line non-empty: no "\n\n" before the end, and no line that a
  // CR-LF reader (socat, HAProxy's CLI clients) would read as empty.
  FUZZ_CHECK(body.find("\n\n") == std::string_view::npos, out);
  FUZZ_CHECK(body.front() != '\n', out);
  FUZZ_CHECK(body.find("\n\r\n") == std::string_view::npos && body.rfind("\r\n", 0) != 0, out);
  if (json) {
    FUZZ_CHECK(body.find('\n') == body.size() - 1, out);
    auto j = nlohmann::json::parse(body, nullptr, false);
    FUZZ_CHECK(j.is_object() && j.contains("ok") && j["ok"].is_boolean() && j["ok"].get<bool>() == reply.ok, out);
    if (!reply.ok) {
      FUZZ_CHECK(j.contains("code") && j["code"] == std::string(haes::to_string(reply.code)), out);
    }
  } else if (!reply.ok) {
    FUZZ_CHECK(out.rfind("error: ", 0) == 0 || out == "error\n\n", out);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const CommandTable table = make_table();
  const std::string_view line(reinterpret_cast<const char*>(data), size);

  std::string err;
  auto words = haes::admin::split_words(line, &err);
  if (!words) {
    FUZZ_CHECK(!err.empty());
    FUZZ_CHECK(std::count(line.begin(), line.end(), '"') > 0, line);
  } else {
    std::string again;
    for (const auto& w : *words) {
      again += (again.empty() ? "" : " ") + quote(w);
    }
    std::string err2;
    auto words2 = haes::admin::split_words(again, &err2);
    FUZZ_CHECK(words2 && *words2 == *words, again);
  }

  auto parsed = table.parse(line);
  if (const auto* reply = std::get_if<Reply>(&parsed)) {
    FUZZ_CHECK(!reply->ok && reply->code == ErrorCode::kUsage && !reply->text.empty());
  } else {
    const Parsed& p = std::get<Parsed>(parsed);
    FUZZ_CHECK(p.spec >= table.commands().data() && p.spec < table.commands().data() + table.commands().size());
    FUZZ_CHECK(p.args.positional.size() <= p.spec->max_positional);
    for (const auto& [name, value] : p.args.flags) {
      bool known = false;
      for (const auto& f : p.spec->flags) {
        known = known || (f.name == name && (f.takes_value || value.empty()));
      }
      FUZZ_CHECK(known, name);
    }
  }

  const Peer peer{1, 0, "root"};
  Reply r = table.run(line, peer);  // a handler's exception must not escape
  if (r.ok) {
    FUZZ_CHECK(std::holds_alternative<Parsed>(parsed));
  } else {
    FUZZ_CHECK(to_string(r.code) != std::string_view(), line);
  }
  check_rendered(r, false);
  check_rendered(r, true);
  check_rendered(r, r.as_json);
  return 0;
}
