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
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

namespace haes::admin {

struct Peer {
  int pid = -1;
  int uid = -1;
  std::string user;  // from uid; "uid 1000" when unknown
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
  // When !ok: "usage" (bad command line: haesctl exits 2) or a refusal code
  // such as "unhealthy_target" (haesctl exits 1).
  std::string code;
  std::string text;                           // human lines, no empty line
  nlohmann::json json = nlohmann::json::object();  // the --json form
  bool as_json = false;                       // set by CommandTable::run: --json was asked for
  static Reply error(std::string code, std::string text) {
    Reply r;
    r.ok = false;
    r.code = std::move(code);
    r.text = std::move(text);
    return r;
  }
};

struct FlagSpec {
  std::string name;       // "--to"
  bool takes_value = false;
  std::string help;
};

struct CommandSpec {
  std::vector<std::string> words;   // {"show", "config"}
  std::string usage;                // "failover --to CLUSTER [--force] [--reason TEXT] [--dry-run]"
  std::string help;                 // one line
  std::vector<FlagSpec> flags;
  size_t max_positional = 0;
  bool mutates = false;             // audited: logged and journaled by the handler
  std::function<Reply(const Args&, const Peer&)> handler;
  // For commands that wait on I/O (a sync, a switchover): runs as a
  // coroutine on the admin socket's executor; set instead of `handler`.
  std::function<boost::asio::awaitable<Reply>(Args, Peer)> async_handler;
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
  std::vector<CommandSpec>& commands_mutable() { return commands_; }
  std::string help_text() const;

 private:
  std::variant<Reply, Parsed> parse_words(const std::vector<std::string>& words) const;
  std::vector<CommandSpec> commands_;
};

// Splits a request line into words. Error: unbalanced quote.
std::optional<std::vector<std::string>> split_words(std::string_view line, std::string* error);

// The bytes sent back: text (or JSON with --json) with every empty line
// removed, "error: " in front of a failure's first line ("error: bad command: "
// for usage errors), then an empty line.
std::string render_reply(const Reply& reply, bool json);

}  // namespace haes::admin
