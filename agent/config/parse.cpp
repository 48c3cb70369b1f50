// Walks a YAML document against the schema table, then checks the rules
// that span several keys. Every problem is collected; none stops the walk.

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "config/schema.hpp"

namespace haes {
namespace config_detail {
namespace {

// Text from the file (keys, values, yaml-cpp's messages quoting them) shown
// in an error: control characters escaped, so that every error stays one
// line that starts with its place (found by tests/fuzz/config_fuzz.cpp: a
// backslash before a line break made yaml-cpp's message end in a newline).
std::string one_line(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[(static_cast<unsigned char>(c) >> 4) & 0xf];
      out += hex[static_cast<unsigned char>(c) & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

class Errors {
 public:
  explicit Errors(std::string file) : file_(std::move(file)) {}

  void add(const YAML::Node& at, const std::string& path, const std::string& message) {
    std::string where = file_;
    if (at.IsDefined() && at.Mark().line >= 0) {
      where += ":" + std::to_string(at.Mark().line + 1) + ":" + std::to_string(at.Mark().column + 1);
    }
    lines_.push_back(where + ": " + (path.empty() ? "" : one_line(path) + ": ") + one_line(message));
  }
  void add(const std::string& path, const std::string& message) { add(YAML::Node(), path, message); }

  bool empty() const { return lines_.empty(); }
  std::string text() const {
    std::string out;
    for (const auto& l : lines_) {
      out += (out.empty() ? "" : "\n") + l;
    }
    return out;
  }

 private:
  std::string file_;
  std::vector<std::string> lines_;
};

// 0.0.0.0, ::, and their spellings: an address to listen on, never one
// another host can call (connecting to it reaches the caller itself).
bool unspecified_address(const std::string& host) {
  unsigned char buf[16] = {};
  const int family = host.find(':') == std::string::npos ? AF_INET : AF_INET6;
  if (::inet_pton(family, host.c_str(), buf) != 1) {
    return false;
  }
  const size_t n = family == AF_INET ? 4 : 16;
  return std::all_of(buf, buf + n, [](unsigned char b) { return b == 0; });
}

// With several agents, each reaches the others at an advertised URL
// (default: the listen address). Refuses one that would reach the caller.
void check_advertised(Errors& errors, const std::string& listen_key, const std::optional<Endpoint>& listen,
                      const std::string& url_key, const std::string& url, const std::string& scheme,
                      const std::string& why) {
  if (!url.empty()) {
    NodeUrl u;
    std::string bad;
    if (parse_node_url(url, u, bad) && unspecified_address(u.host)) {
      errors.add(url_key, url + " names no host the other agents can call: give this agent's own address");
    }
    return;
  }
  if (listen && unspecified_address(listen->host)) {
    errors.add(url_key, "needed with state.store: etcd: " + listen_key + " " + listen->to_string() +
                            " is an address to listen on, not one the other agents can call (" + why +
                            "); set it to this agent's address as they reach it, e.g. " + scheme +
                            "://10.0.0.5:" + std::to_string(listen->port));
  }
}

std::string show(const YAML::Node& n) {
  if (n.IsScalar()) {
    return "\"" + n.Scalar() + "\"";
  }
  if (n.IsSequence()) {
    return "a list";
  }
  if (n.IsMap()) {
    return "a map";
  }
  return "an empty value";
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<const KeyDef*> children(std::string_view schema_prefix) {
  std::vector<const KeyDef*> out;
  for (const auto& k : schema()) {
    if (parent_of(k.path) == schema_prefix) {
      out.push_back(&k);
    }
  }
  return out;
}

std::string join(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
}

class Walker {
 public:
  Walker(Config& cfg, Errors& errors) : errors_(errors) { ctx_.cfg = &cfg; }

  // Applies the defaults of every scalar under schema_prefix, descending into
  // plain sections but not into lists or optional sections.
  void apply_defaults(std::string_view schema_prefix) {
    for (const KeyDef* k : children(schema_prefix)) {
      if (k->type == Type::kSection) {
        apply_defaults(k->path);
      } else if (k->set && !k->def.empty()) {
        std::string expected;
        if (!k->set(ctx_, YAML::Load(std::string(k->def)), expected)) {
          errors_.add(std::string(k->path), "internal error: bad default " + std::string(k->def));
        }
      }
    }
  }

  void walk_map(const YAML::Node& map, std::string_view schema_prefix, const std::string& path) {
    if (!map.IsMap()) {
      errors_.add(map, path, show(map) + " is not a map (expected keys: " + allowed(schema_prefix) + ")");
      return;
    }
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      seen.insert(key);
      const std::string spath = join(schema_prefix, key);
      const std::string cpath = join(path, key);
      const KeyDef* def = find_key(spath);
      if (def == nullptr) {
        unknown_key(kv.first, schema_prefix, path, key);
        continue;
      }
      walk_value(*def, kv.second, cpath);
    }
    for (const KeyDef* k : children(schema_prefix)) {
      if (k->required && seen.count(std::string(leaf_of(k->path))) == 0) {
        errors_.add(map, join(path, leaf_of(k->path)), "missing (required: " + std::string(k->help) + ")");
      }
    }
  }

 private:
  void walk_value(const KeyDef& def, const YAML::Node& value, const std::string& cpath) {
    switch (def.type) {
      case Type::kSection: walk_map(value, def.path, cpath); return;
      case Type::kOptionalSection:
        def.activate(ctx_);
        apply_defaults(def.path);
        if (!value.IsNull()) {
          walk_map(value, def.path, cpath);
        }
        return;
      case Type::kList: walk_list(def, value, cpath); return;
      default: break;
    }
    std::string expected;
    if (value.IsNull() || !def.set(ctx_, value, expected)) {
      errors_.add(value, cpath, show(value) + " is not valid (expected " + expected + ")");
    }
  }

  void walk_list(const KeyDef& def, const YAML::Node& value, const std::string& cpath) {
    if (!value.IsSequence() || value.size() == 0) {
      errors_.add(value, cpath, show(value) + " is not valid (expected a non-empty list)");
      return;
    }
    const std::string item_prefix = std::string(def.path) + "[]";
    size_t i = 0;
    for (const auto& item : value) {
      const std::string ipath = cpath + "[" + std::to_string(i++) + "]";
      def.add_item(ctx_);
      apply_defaults(item_prefix);
      if (item.IsScalar() && def.path == "clusters[].nodes") {
        // A bare URL is shorthand for {url: URL}.
        walk_value(*find_key("clusters[].nodes[].url"), item, ipath);
      } else {
        walk_map(item, item_prefix, ipath);
      }
      if (ctx_.node != nullptr && def.path == "clusters[].nodes" && ctx_.node->name.empty() &&
          !ctx_.node->url.host.empty()) {
        std::string derived = ctx_.node->url.host + ":" + std::to_string(ctx_.node->url.port);
        if (!std::regex_match(derived, std::regex(kNodeNamePattern))) {
          errors_.add(item, ipath + ".name",
                      "the default name \"" + derived +
                          "\" (host:port of the url) is not a valid node name (expected " + kNodeNameExpected +
                          "): set name: explicitly");
        }
        ctx_.node->name = std::move(derived);
      }
    }
  }

  std::string allowed(std::string_view schema_prefix) {
    std::string out;
    for (const KeyDef* k : children(schema_prefix)) {
      out += (out.empty() ? "" : ", ") + std::string(leaf_of(k->path));
    }
    return out;
  }

  void unknown_key(const YAML::Node& at, std::string_view schema_prefix, const std::string& path,
                   const std::string& key) {
    std::string message = "unknown key \"" + key + "\"";
    std::string best;
    size_t best_distance = 3;
    for (const KeyDef* k : children(schema_prefix)) {
      size_t d = edit_distance(key, leaf_of(k->path));
      if (d < best_distance) {
        best_distance = d;
        best = std::string(leaf_of(k->path));
      }
    }
    if (!best.empty()) {
      message += " (did you mean \"" + best + "\"?)";
    }
    message += "; allowed here: " + allowed(schema_prefix);
    errors_.add(at, join(path, key), message);
  }

  Ctx ctx_;
  Errors& errors_;
};

void check_file(Errors& errors, const std::string& path, const std::string& file) {
  if (!file.empty() && access(file.c_str(), R_OK) != 0) {
    errors.add(path, "\"" + file + "\" cannot be read");
  }
}

// A file holding a secret (a password, an API key, a token, a private key)
// readable or writable by everyone is refused, as ssh refuses such a key:
// anyone on the host could read it or put their own. Group access stays
// allowed (a Secret mounted 0440 for group haes, a root:haes 0640 file).
void check_secret_file(Errors& errors, const std::string& path, const std::string& file) {
  if (file.empty()) {
    return;
  }
  if (access(file.c_str(), R_OK) != 0) {
    errors.add(path, "\"" + file + "\" cannot be read");
    return;
  }
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0) {
    std::string problem = secret_mode_problem(static_cast<unsigned>(st.st_mode));
    if (!problem.empty()) {
      errors.add(path, "\"" + file + "\" " + problem);
    }
  }
}

void cross_checks(const Config& c, Errors& errors) {
  if (c.clusters.size() == 1) {
    errors.add("clusters", "only one cluster (expected at least two: an active and a passive)");
  }
  if (c.sync && c.sync->mode == SyncMode::kCcr && c.clusters.size() > 2) {
    errors.add("sync.mode", "ccr needs exactly two clusters (" + std::to_string(c.clusters.size()) +
                                " configured): the follower indices of one follow the other");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < c.clusters.size(); ++i) {
    const ClusterConfig& cl = c.clusters[i];
    const std::string p = "clusters[" + std::to_string(i) + "]";
    if (!cl.name.empty() && !names.insert(cl.name).second) {
      errors.add(p + ".name", "\"" + cl.name + "\" is used by another cluster (names must be unique)");
    }
    std::set<std::string> nodes;
    for (size_t j = 0; j < cl.nodes.size(); ++j) {
      if (!cl.nodes[j].name.empty() && !nodes.insert(cl.nodes[j].name).second) {
        errors.add(p + ".nodes[" + std::to_string(j) + "].name",
                   "\"" + cl.nodes[j].name + "\" is used by another node of " + cl.name +
                       " (names must be unique in a cluster; set name: explicitly)");
      }
    }
    if (cl.tls.cert_file.empty() != cl.tls.key_file.empty()) {
      errors.add(p + ".tls", "cert_file and key_file go together (one is missing)");
    }
    check_file(errors, p + ".tls.ca_file", cl.tls.ca_file);
    check_file(errors, p + ".tls.cert_file", cl.tls.cert_file);
    check_secret_file(errors, p + ".tls.key_file", cl.tls.key_file);
    const AuthConfig& a = cl.auth;
    const bool password = !a.password_file.empty() || !a.password_env.empty();
    if (!a.password_file.empty() && !a.password_env.empty()) {
      errors.add(p + ".auth", "password_file and password_env are exclusive (keep one)");
    }
    if (!a.api_key_file.empty() && !a.api_key_env.empty()) {
      errors.add(p + ".auth", "api_key_file and api_key_env are exclusive (keep one)");
    }
    if (a.basic() && !password) {
      errors.add(p + ".auth", "username without a password (set password_file or password_env)");
    }
    if (password && !a.basic()) {
      errors.add(p + ".auth", "a password without a username (set username)");
    }
    if (a.basic() && a.api_key()) {
      errors.add(p + ".auth", "Basic auth and an API key are exclusive (keep one)");
    }
    check_secret_file(errors, p + ".auth.password_file", a.password_file);
    check_secret_file(errors, p + ".auth.api_key_file", a.api_key_file);
  }
  if (!c.preferred.empty() && c.find_cluster(c.preferred) == nullptr) {
    std::string known;
    for (const auto& cl : c.clusters) {
      known += (known.empty() ? "" : ", ") + cl.name;
    }
    errors.add("preferred", "\"" + c.preferred + "\" is not a cluster (clusters: " + known + ")");
  }
  if (c.failover.timeout > c.failover.interval) {
    errors.add("failover.timeout", format_duration(c.failover.timeout) + " is longer than failover.interval (" +
                                       format_duration(c.failover.interval) + ")");
  }
  if (c.vitals.interval.count() > 0 && c.vitals.timeout > c.vitals.interval) {
    errors.add("vitals.timeout", format_duration(c.vitals.timeout) + " is longer than vitals.interval (" +
                                     format_duration(c.vitals.interval) + ")");
  }
  if (c.vitals.disk_critical_percent < c.vitals.disk_warning_percent) {
    errors.add("vitals.disk_critical_percent", std::to_string(c.vitals.disk_critical_percent) +
                                                   " is below vitals.disk_warning_percent (" +
                                                   std::to_string(c.vitals.disk_warning_percent) + ")");
  }
  if (!c.health.node.empty()) {
    size_t slash = c.health.node.find('/');
    const ClusterConfig* cl = c.find_cluster(c.health.node.substr(0, slash));
    if (cl == nullptr || cl->find_node(c.health.node.substr(slash + 1)) == nullptr) {
      errors.add("health.node", "\"" + c.health.node + "\" is not a configured cluster/node");
    }
  }
  std::vector<std::pair<std::string, std::string>> listeners = {{"spoe.listen", c.spoe.listen.to_string()}};
  if (c.health.listen) {
    listeners.emplace_back("health.listen", c.health.listen->to_string());
  }
  if (c.agent_check.listen) {
    listeners.emplace_back("agent_check.listen", c.agent_check.listen->to_string());
  }
  for (size_t i = 0; i < listeners.size(); ++i) {
    for (size_t j = i + 1; j < listeners.size(); ++j) {
      if (listeners[i].second == listeners[j].second) {
        errors.add(listeners[j].first, listeners[j].second + " is also " + listeners[i].first);
      }
    }
  }
  if (c.admin.port.listen) {
    const AdminPortConfig& p = c.admin.port;
    if (p.cert_file.empty() || p.key_file.empty()) {
      errors.add("admin.port", "an admin port needs cert_file and key_file: it only speaks TLS");
    }
    check_secret_file(errors, "admin.port.key_file", p.key_file);
    check_secret_file(errors, "admin.port.token_file", p.token_file);
    if (p.client_ca_file.empty() && p.token_file.empty() && p.token_env.empty()) {
      errors.add("admin.port",
                 "an admin port needs client_ca_file (client certificates) or a token "
                 "(token_file or token_env): whoever reaches it can fail over");
    }
    listeners.emplace_back("admin.port.listen", p.listen->to_string());
    for (size_t i = 0; i + 1 < listeners.size(); ++i) {
      if (listeners[i].second == listeners.back().second) {
        errors.add("admin.port.listen", listeners.back().second + " is also " + listeners[i].first);
      }
    }
  }
  if (c.state.store == StoreKind::kEtcd) {
    const EtcdConfig& e = c.state.etcd;
    if (e.endpoints.empty()) {
      errors.add("state.etcd.endpoints", "store etcd needs at least one endpoint (every member, for failover)");
    }
    if (e.poll_interval * 3 > e.stale_after) {
      errors.add("state.etcd.poll_interval",
                 format_duration(e.poll_interval) + " is more than a third of state.etcd.stale_after (" +
                     format_duration(e.stale_after) + "): one slow read would make the agent stop serving");
    }
    if (e.timeout >= e.stale_after) {
      errors.add("state.etcd.timeout", format_duration(e.timeout) + " is not shorter than state.etcd.stale_after (" +
                                           format_duration(e.stale_after) + ")");
    }
    check_secret_file(errors, "state.etcd.password_file", e.password_file);
    check_secret_file(errors, "state.etcd.tls.key_file", e.tls.key_file);
    if (!e.username.empty() && e.password_file.empty() && e.password_env.empty()) {
      errors.add("state.etcd.username", "needs state.etcd.password_file or state.etcd.password_env");
    }
    if (!c.health.listen) {
      errors.add("health.listen",
                 "store etcd needs the health port: the other agents ask it (GET /peer) whether "
                 "etcd is down for all before keeping traffic flowing");
    }
    check_advertised(errors, "health.listen", c.health.listen, "health.advertise_url", c.health.advertise_url, "http",
                     "they ask it GET /peer whether etcd is down for all");
    check_advertised(errors, "admin.port.listen", c.admin.port.listen, "admin.port.advertise_url",
                     c.admin.port.advertise_url, "https", "they forward commands to the leader there");
    if (e.prefix.empty() || e.prefix.front() != '/') {
      errors.add("state.etcd.prefix", "\"" + e.prefix + "\" must start with /");
    }
  }
  if (c.sync) {
    const auto& r = c.sync->repository;
    if (r.type == RepositoryType::kFs && !r.settings.contains("location")) {
      errors.add("sync.repository.settings",
                 "type fs needs settings.location (a path under path.repo of both clusters)");
    }
    if (r.type == RepositoryType::kS3 && !r.settings.contains("bucket")) {
      errors.add("sync.repository.settings", "type s3 needs settings.bucket");
    }
    if (r.copy) {
      if (r.type != RepositoryType::kFs) {
        errors.add("sync.repository.copy", std::string("copies fs repositories only (type is ") +
                                               std::string(to_string(r.type)) +
                                               "; for s3, replicate the buckets instead: docs/sync.md)");
      }
      int remote = 0;
      for (const auto& [cluster, where] : r.copy->locations) {
        if (c.find_cluster(cluster) == nullptr) {
          errors.add("sync.repository.copy.locations." + cluster, "\"" + cluster + "\" is not a configured cluster");
        }
        remote += where.front() != '/' ? 1 : 0;
      }
      for (const auto& cl : c.clusters) {
        if (r.copy->locations.count(cl.name) == 0) {
          errors.add("sync.repository.copy.locations",
                     "no location for cluster " + cl.name + " (each cluster needs its repository directory)");
        }
      }
      if (remote > 1) {
        errors.add("sync.repository.copy.locations",
                   "more than one location is remote (host:path): rsync copies between a local directory and a "
                   "remote one, never between two remote ones; give the agent's own site a local path");
      }
    }
  }
}

}  // namespace
}  // namespace config_detail

Result<Config> parse_config(std::string_view yaml_text, std::string_view source_name) {
  using namespace config_detail;
  Errors errors{std::string(source_name)};
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::ParserException& e) {
    return Error{ErrorCode::kConfig, std::string(source_name) + ":" + std::to_string(e.mark.line + 1) + ":" +
                                         std::to_string(e.mark.column + 1) + ": YAML syntax error: " + one_line(e.msg)};
  }
  Config cfg;
  cfg.source = std::string(source_name);
  Walker walker(cfg, errors);
  walker.apply_defaults("");
  if (root.IsNull()) {
    errors.add("", "the file is empty (expected at least spoe.listen, clusters and preferred)");
  } else {
    walker.walk_map(root, "", "");
  }
  if (errors.empty()) {
    cross_checks(cfg, errors);
  }
  if (!errors.empty()) {
    return Error{ErrorCode::kConfig, errors.text()};
  }
  if (cfg.agent.name.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') {
      cfg.agent.name = host;
    } else {
      cfg.agent.name = "haes-agent";
    }
  }
  return cfg;
}

std::string secret_mode_problem(unsigned mode) {
  const unsigned perm = mode & 07777U;
  if ((perm & 0007U) == 0) {
    return "";
  }
  char octal[8];
  std::snprintf(octal, sizeof octal, "%04o", perm);
  const char* what = (perm & 0004U) != 0 ? "readable" : (perm & 0002U) != 0 ? "writable" : "accessible";
  return std::string("is ") + what + " by everyone (mode " + octal +
         "): a file holding a secret must give others no access (chmod o-rwx, e.g. 0600 or 0640)";
}

Result<Config> load_config(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    return Error{ErrorCode::kConfig, path.string() + ": cannot be read: " + std::strerror(errno)};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path.string());
}

}  // namespace haes
