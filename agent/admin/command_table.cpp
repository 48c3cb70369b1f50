#include "admin/command_table.hpp"

#include <exception>
#include <sstream>

namespace haes::admin {

std::optional<std::vector<std::string>> split_words(std::string_view line, std::string* error) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) {
        cur += line[++i];
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (in_word) {
        out.push_back(std::move(cur));
        cur.clear();
        in_word = false;
      }
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quoted) {
    *error = "unbalanced double quote";
    return std::nullopt;
  }
  if (in_word) {
    out.push_back(std::move(cur));
  }
  return out;
}

void CommandTable::add(CommandSpec spec) { commands_.push_back(std::move(spec)); }

std::string CommandTable::label(const CommandSpec& spec) {
  std::string out;
  for (const auto& w : spec.words) {
    out += (out.empty() ? "" : "_") + w;
  }
  return out;
}

void CommandTable::seal() {
  std::vector<LabelSet> keys;
  for (const auto& c : commands_) {
    keys.push_back({{"command", label(c)}});
  }
  stats_->by_command = PerLabel<EnumCounter<CommandResult>>(keys);
}

void CommandTable::count(const Parsed* parsed, const Reply& reply) const {
  if (parsed == nullptr) {
    stats_->unparsed.inc();
    return;
  }
  CommandResult result = CommandResult::kOk;
  if (!reply.ok) {
    result = reply.code == ErrorCode::kUsage                                              ? CommandResult::kUsage
             : reply.code == ErrorCode::kInternal || reply.code == ErrorCode::kStoreError ? CommandResult::kFailed
                                                                                          : CommandResult::kRefused;
  } else if (parsed->args.has("--dry-run")) {
    result = CommandResult::kDryRun;
  }
  const size_t i = static_cast<size_t>(parsed->spec - commands_.data());
  if (i < stats_->by_command.size()) {
    stats_->by_command.at(i).inc(result);
  }
  if (observer_) {
    observer_();
  }
}

std::string CommandTable::help_text() const {
  size_t width = 0;
  for (const auto& c : commands_) {
    width = std::max(width, c.usage.size());
  }
  std::string s = "commands (every command also takes --json):";
  for (const auto& c : commands_) {
    s += "\n  " + c.usage + std::string(width - c.usage.size() + 2, ' ') + c.help;
  }
  return s;
}

std::variant<Reply, Parsed> CommandTable::parse(std::string_view line) const {
  std::string err;
  auto words = split_words(line, &err);
  if (!words) {
    return Reply::error(ErrorCode::kUsage, err);
  }
  auto r = parse_words(*words);
  if (auto* reply = std::get_if<Reply>(&r)) {
    for (const auto& w : *words) {
      reply->as_json = reply->as_json || w == "--json";
    }
  }
  return r;
}

Reply CommandTable::run(std::string_view line, const Peer& peer) const {
  auto parsed = parse(line);
  if (auto* reply = std::get_if<Reply>(&parsed)) {
    count(nullptr, *reply);
    return *reply;
  }
  auto& p = std::get<Parsed>(parsed);
  Reply r;
  try {
    if (!p.spec->handler) {
      r = Reply::error(ErrorCode::kInternal, "'" + p.spec->words[0] + "' runs only on the admin socket");
    } else {
      r = p.spec->handler(p.args, peer);
    }
  } catch (const std::exception& e) {
    r = Reply::error(ErrorCode::kInternal,
                     std::string("internal error while running '") + p.spec->words[0] + "': " + e.what());
  }
  r.as_json = p.args.json;
  count(&p, r);
  return r;
}

boost::asio::awaitable<Reply> CommandTable::run_async(std::string_view line, Peer peer) const {
  auto parsed = parse(line);
  if (auto* reply = std::get_if<Reply>(&parsed)) {
    count(nullptr, *reply);
    co_return *reply;
  }
  auto p = std::get<Parsed>(std::move(parsed));
  if (!p.spec->async_handler) {
    co_return run(line, peer);
  }
  Reply r;
  std::string failure;
  try {
    r = co_await p.spec->async_handler(p.args, peer);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    r = Reply::error(ErrorCode::kInternal, "internal error while running '" + p.spec->words[0] + "': " + failure);
  }
  r.as_json = p.args.json;
  count(&p, r);
  co_return r;
}

std::variant<Reply, Parsed> CommandTable::parse_words(const std::vector<std::string>& wordv) const {
  const auto* words = &wordv;
  if (words->empty()) {
    return Reply::error(ErrorCode::kUsage, "empty command; try 'help'");
  }
  const CommandSpec* best = nullptr;
  for (const auto& c : commands_) {
    if (c.words.size() <= words->size() && (!best || c.words.size() > best->words.size())) {
      bool match = true;
      for (size_t i = 0; i < c.words.size(); ++i) {
        match = match && c.words[i] == (*words)[i];
      }
      if (match) {
        best = &c;
      }
    }
  }
  if (!best) {
    return Reply::error(ErrorCode::kUsage, "unknown command '" + (*words)[0] + "'; try 'help'");
  }
  Args args;
  for (size_t i = best->words.size(); i < words->size(); ++i) {
    const std::string& w = (*words)[i];
    if (w == "--json") {
      args.json = true;
      continue;
    }
    if (w.size() > 2 && w.rfind("--", 0) == 0) {
      std::string name = w;
      std::optional<std::string> inline_value;
      if (auto eq = w.find('='); eq != std::string::npos) {
        name = w.substr(0, eq);
        inline_value = w.substr(eq + 1);
      }
      const FlagSpec* f = nullptr;
      for (const auto& fs : best->flags) {
        if (fs.name == name) {
          f = &fs;
        }
      }
      if (!f) {
        return Reply::error(ErrorCode::kUsage,
                            "unknown option '" + name + "' for '" + best->words[0] + "'; usage: " + best->usage);
      }
      if (f->takes_value) {
        if (inline_value) {
          args.flags[name] = *inline_value;
        } else if (i + 1 < words->size()) {
          args.flags[name] = (*words)[++i];
        } else {
          return Reply::error(ErrorCode::kUsage, "option " + name + " needs a value; usage: " + best->usage);
        }
      } else {
        if (inline_value) {
          return Reply::error(ErrorCode::kUsage, "option " + name + " takes no value; usage: " + best->usage);
        }
        args.flags[name] = "";
      }
      continue;
    }
    args.positional.push_back(w);
  }
  if (args.positional.size() > best->max_positional) {
    return Reply::error(ErrorCode::kUsage,
                        "unexpected argument '" + args.positional[best->max_positional] + "'; usage: " + best->usage);
  }
  return Parsed{best, std::move(args)};
}

nlohmann::json reply_to_wire(const Reply& reply) {
  return {{"ok", reply.ok},
          {"code", reply.ok ? "" : std::string(to_string(reply.code))},
          {"text", reply.text},
          {"json", reply.json}};
}

Result<Reply> reply_from_wire(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("ok") || !j["ok"].is_boolean() || !j.contains("text") || !j["text"].is_string()) {
    return Error{ErrorCode::kBadResponse, "the reply is not {\"ok\": bool, \"text\": string, ...}"};
  }
  Reply r;
  r.ok = j["ok"].get<bool>();
  r.text = j["text"].get<std::string>();
  if (j.contains("json") && j["json"].is_object()) {
    r.json = j["json"];
  }
  if (!r.ok) {
    const std::string code = j.contains("code") && j["code"].is_string() ? j["code"].get<std::string>() : "";
    auto c = enum_from_name<ErrorCode>(code);
    if (!c) {
      return Error{ErrorCode::kBadResponse, "the reply's code '" + code + "' is not one this agent knows"};
    }
    r.code = *c;
  }
  return r;
}

std::string render_reply(const Reply& reply, bool json) {
  std::string body;
  if (json) {
    nlohmann::json j = reply.json.is_object() ? reply.json : nlohmann::json::object();
    if (!reply.ok) {
      j = {{"ok", false}, {"code", to_string(reply.code)}, {"error", reply.text}};
    } else if (!j.contains("ok")) {
      j["ok"] = true;
    }
    body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    body = reply.ok ? reply.text : (reply.code == ErrorCode::kUsage ? "error: bad command: " : "error: ") + reply.text;
  }
  std::string out;
  out.reserve(body.size() + 2);
  std::istringstream in(body);
  std::string l;
  while (std::getline(in, l)) {
    // Every CR at the end, not one: "\r\r" left a line "\r", which a reader of
    // CR-LF lines takes for the empty line that ends the reply (found by
    // tests/fuzz/admin_fuzz.cpp).
    while (!l.empty() && l.back() == '\r') {
      l.pop_back();
    }
    if (l.empty()) {
      continue;  // an empty line ends the reply: never inside one
    }
    out += l;
    out += '\n';
  }
  if (out.empty()) {
    out = reply.ok ? "ok\n" : "error\n";
  }
  out += '\n';
  return out;
}

}  // namespace haes::admin
