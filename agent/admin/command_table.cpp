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
    return Reply::error("usage", err);
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
    return *reply;
  }
  auto& p = std::get<Parsed>(parsed);
  Reply r;
  try {
    if (!p.spec->handler) {
      r = Reply::error("internal", "'" + p.spec->words[0] + "' runs only on the admin socket");
    } else {
      r = p.spec->handler(p.args, peer);
    }
  } catch (const std::exception& e) {
    r = Reply::error("internal", std::string("internal error while running '") + p.spec->words[0] + "': " + e.what());
  }
  r.as_json = p.args.json;
  return r;
}

boost::asio::awaitable<Reply> CommandTable::run_async(std::string_view line, Peer peer) const {
  auto parsed = parse(line);
  if (auto* reply = std::get_if<Reply>(&parsed)) {
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
    r = Reply::error("internal", "internal error while running '" + p.spec->words[0] + "': " + failure);
  }
  r.as_json = p.args.json;
  co_return r;
}

std::variant<Reply, Parsed> CommandTable::parse_words(const std::vector<std::string>& wordv) const {
  const auto* words = &wordv;
  if (words->empty()) {
    return Reply::error("usage", "empty command; try 'help'");
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
    return Reply::error("usage", "unknown command '" + (*words)[0] + "'; try 'help'");
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
        return Reply::error("usage", "unknown option '" + name + "' for '" + best->words[0] +
                                         "'; usage: " + best->usage);
      }
      if (f->takes_value) {
        if (inline_value) {
          args.flags[name] = *inline_value;
        } else if (i + 1 < words->size()) {
          args.flags[name] = (*words)[++i];
        } else {
          return Reply::error("usage", "option " + name + " needs a value; usage: " + best->usage);
        }
      } else {
        if (inline_value) {
          return Reply::error("usage", "option " + name + " takes no value; usage: " + best->usage);
        }
        args.flags[name] = "";
      }
      continue;
    }
    args.positional.push_back(w);
  }
  if (args.positional.size() > best->max_positional) {
    return Reply::error("usage", "unexpected argument '" + args.positional[best->max_positional] +
                                     "'; usage: " + best->usage);
  }
  return Parsed{best, std::move(args)};
}

std::string render_reply(const Reply& reply, bool json) {
  std::string body;
  if (json) {
    nlohmann::json j = reply.json.is_object() ? reply.json : nlohmann::json::object();
    if (!reply.ok) {
      j = {{"ok", false}, {"code", reply.code}, {"error", reply.text}};
    } else if (!j.contains("ok")) {
      j["ok"] = true;
    }
    body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    body = reply.ok ? reply.text : (reply.code == "usage" ? "error: bad command: " : "error: ") + reply.text;
  }
  std::string out;
  out.reserve(body.size() + 2);
  std::istringstream in(body);
  std::string l;
  while (std::getline(in, l)) {
    if (!l.empty() && l.back() == '\r') {
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
