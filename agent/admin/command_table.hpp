#pragma once
// The admin socket's command table (STYLE.md §10): each command is declared
// once with its words, usage, one-line help, the flags it takes and whether
// it mutates state; `help`, usage errors and the unknown-command reply all
// come from the table. Pure: a line in, a Reply out.
//
// Request: one line, words separated by spaces, "double quotes" group words
// (\" and \\ escape inside them). Every command accepts --json.
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "metrics/stats.hpp"

namespace haes::admin {

struct Peer {
  int pid = -1;
  int uid = -1;
  std::string user;  // from uid; "uid 1000" when unknown
  // Sent here by another agent as to the leader (admin port, on_behalf_of):
  // run here if this agent leads, never sent on again (no forwarding loops).
  bool forwarded = false;
  std::string actor() const { return "operator " + user; }
};

struct Args {
  std::map<std::string, std::string, std::less<>> flags;  // "--to" → "dc2"; valueless flags → ""
  std::vector<std::string> positional;
  bool json = false;
  bool has(std::string_view flag) const { return flags.find(flag) != flags.end(); }
  std::string get(std::string_view flag) const {
    auto it = flags.find(flag);
    return it == flags.end() ? std::string() : it->second;
  }
};

struct Reply {
  bool ok = true;
  // When !ok: kUsage (bad command line: haesctl exits 2) or a refusal code
  // such as kUnhealthyTarget (haesctl exits 1).
  ErrorCode code = ErrorCode::kInternal;
  std::string text;                                // human lines, no empty line
  nlohmann::json json = nlohmann::json::object();  // the --json form
  bool as_json = false;                            // set by CommandTable::run: --json was asked for
  static Reply error(ErrorCode code, std::string text) {
    Reply r;
    r.ok = false;
    r.code = code;
    r.text = std::move(text);
    return r;
  }
};

// Several agents: sends a command line that must run on the leader there and
// returns its reply, or nullopt when this agent is the leader (run here).
using ToLeader = std::function<boost::asio::awaitable<std::optional<Reply>>(std::string line, Peer peer)>;

struct FlagSpec {
  std::string name;  // "--to"
  bool takes_value = false;
  std::string help;
};

struct CommandSpec {
  std::vector<std::string> words;  // {"show", "config"}
  std::string usage;               // "failover --to CLUSTER [--force] [--reason TEXT] [--dry-run]"
  std::string help;                // one line
  std::vector<FlagSpec> flags;
  size_t max_positional = 0;
  bool mutates = false;  // audited: logged and journaled by the handler
  std::function<Reply(const Args&, const Peer&)> handler;
  // For commands that wait on I/O (a sync, a switchover): runs as a
  // coroutine on the admin socket's executor; set instead of `handler`.
  std::function<boost::asio::awaitable<Reply>(Args, Peer)> async_handler;
};

}  // namespace haes::admin

namespace haes {
// How a command ended, for haes_commands_total: usage (bad command line),
// refused (the agent said no, with a reason), failed (it could not be done:
// store error, internal error), dry_run, ok.
#define HAES_COMMAND_RESULT_LIST(X) \
  X(kOk, "ok") X(kDryRun, "dry_run") X(kRefused, "refused") X(kUsage, "usage") X(kFailed, "failed")
HAES_ENUM(CommandResult, uint8_t, "result", HAES_COMMAND_RESULT_LIST)
}  // namespace haes

namespace haes::admin {

struct CommandStats {
  PerLabel<EnumCounter<CommandResult>> by_command;  // {command}: every command of the table
  Counter unparsed;                                 // lines that named no command or did not parse

  template <class V>
  void visit(V& v) const {
    v(by_command, "haes_commands_total", "Admin commands by command and result.");
    v(unparsed, "haes_commands_unparsed_total", "Admin request lines that named no known command or did not parse.");
  }
};

// A request line resolved against the table: the command and its arguments.
struct Parsed {
  const CommandSpec* spec = nullptr;
  Args args;
};

class CommandTable {
 public:
  void add(CommandSpec spec);
  // Parses and runs one request line. Never throws: a handler's exception
  // becomes an "internal" error reply.
  Reply run(std::string_view line, const Peer& peer) const;
  // Parses a line: a Parsed command, or the usage error Reply.
  std::variant<Reply, Parsed> parse(std::string_view line) const;
  // Runs a parsed command (the async ones included) and never throws.
  boost::asio::awaitable<Reply> run_async(std::string_view line, Peer peer) const;
  const std::vector<CommandSpec>& commands() const { return commands_; }
  std::string help_text() const;
  // Ends registration: creates one counter set per command. Call once,
  // after the last add().
  void seal();
  const CommandStats& stats() const { return *stats_; }
  // Called after every command that ran (e.g. to refresh what /metrics shows).
  void set_observer(std::function<void()> after_each) { observer_ = std::move(after_each); }
  // "sync_now" for {"sync", "now"}: the command's metric label.
  static std::string label(const CommandSpec& spec);

 private:
  std::variant<Reply, Parsed> parse_words(const std::vector<std::string>& words) const;
  void count(const Parsed* parsed, const Reply& reply) const;
  std::vector<CommandSpec> commands_;
  std::function<void()> observer_;
  std::unique_ptr<CommandStats> stats_ = std::make_unique<CommandStats>();  // counted from const run()
};

// Splits a request line into words. Error: unbalanced quote.
std::optional<std::vector<std::string>> split_words(std::string_view line, std::string* error);

// The bytes sent back: text (or JSON with --json) with every empty line
// removed, "error: " in front of a failure's first line ("error: bad command: "
// for usage errors), then an empty line.
std::string render_reply(const Reply& reply, bool json);

// The whole reply as one JSON object ({"ok", "code", "text", "json"}): what
// an agent's admin port answers another agent forwarding a command to the
// leader (docs/admin.md), read back with reply_from_wire.
nlohmann::json reply_to_wire(const Reply& reply);
// Errors name what is missing or malformed.
Result<Reply> reply_from_wire(const nlohmann::json& j);

}  // namespace haes::admin
