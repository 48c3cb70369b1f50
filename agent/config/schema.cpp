// The configuration schema: every key, once. Adding a key = adding one entry
// here (and a field in config.hpp); docs/config.md is regenerated from it.

#include "config/schema.hpp"

#include <regex>

namespace haes::config_detail {
namespace {

template <class T>
using Field = T& (*)(Ctx&);

bool is_scalar(const YAML::Node& n) { return n.IsScalar(); }

KeyDef section(std::string_view path, std::string_view help, bool required = false) {
  KeyDef k{path, Type::kSection};
  k.help = help;
  k.required = required;
  return k;
}

KeyDef string_key(std::string_view path, std::string_view def, bool required,
                  std::string_view help, Field<std::string> field, std::string pattern = "",
                  std::string expected = "a non-empty string") {
  KeyDef k{path, Type::kString, def, required};
  k.help = help;
  k.expected = expected;
  k.set = [field, pattern, expected](Ctx& c, const YAML::Node& n, std::string& exp) {
    if (!is_scalar(n) || n.Scalar().empty() ||
        (!pattern.empty() && !std::regex_match(n.Scalar(), std::regex(pattern)))) {
      exp = expected;
      return false;
    }
    field(c) = n.Scalar();
    return true;
  };
  k.get = [field](Ctx& c) { return field(c).empty() ? YAML::Node() : YAML::Node(field(c)); };
  return k;
}

KeyDef path_key(std::string_view path, std::string_view def, std::string_view help,
                Field<std::string> field) {
  KeyDef k = string_key(path, def, false, help, field, "", "a file system path");
  k.type = Type::kPath;
  return k;
}

KeyDef int_key(std::string_view path, std::string_view def, std::string_view unit,
               std::string_view help, int64_t min, int64_t max, Field<int64_t> field) {
  KeyDef k{path, Type::kInt, def, false, unit, help};
  k.expected = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  std::string expected = k.expected;
  k.set = [=](Ctx& c, const YAML::Node& n, std::string& exp) {
    exp = expected;
    if (!is_scalar(n) || !std::regex_match(n.Scalar(), std::regex("-?[0-9]{1,18}"))) {
      return false;
    }
    int64_t v = std::stoll(n.Scalar());
    if (v < min || v > max) {
      return false;
    }
    field(c) = v;
    return true;
  };
  k.get = [field](Ctx& c) { return YAML::Node(field(c)); };
  return k;
}

KeyDef bool_key(std::string_view path, std::string_view def, std::string_view help,
                Field<bool> field) {
  KeyDef k{path, Type::kBool, def, false, "", help};
  k.expected = "true or false";
  k.set = [field](Ctx& c, const YAML::Node& n, std::string& exp) {
    exp = "true or false";
    if (!is_scalar(n) || (n.Scalar() != "true" && n.Scalar() != "false")) {
      return false;
    }
    field(c) = n.Scalar() == "true";
    return true;
  };
  k.get = [field](Ctx& c) { return YAML::Node(field(c)); };
  return k;
}

KeyDef duration_key(std::string_view path, std::string_view def, std::string_view help,
                    Duration min, Duration max, Field<Duration> field) {
  KeyDef k{path, Type::kDuration, def, false, "", help};
  k.expected = "a duration from " + format_duration(min) + " to " + format_duration(max) +
               " (a number with a unit: 500ms, 1s, 5m, 1h, 1d)";
  std::string expected = k.expected;
  k.set = [=](Ctx& c, const YAML::Node& n, std::string& exp) {
    exp = expected;
    if (!is_scalar(n)) {
      return false;
    }
    auto d = parse_duration(n.Scalar());
    if (!d || *d < min || *d > max) {
      return false;
    }
    field(c) = *d;
    return true;
  };
  k.get = [field](Ctx& c) { return YAML::Node(format_duration(field(c))); };
  return k;
}

constexpr std::string_view kEndpointExpected =
    "host:port with an IP address or localhost, e.g. 127.0.0.1:12345 or [::1]:12345";

KeyDef endpoint_key(std::string_view path, bool required, std::string_view help,
                    Field<Endpoint> field) {
  KeyDef k{path, Type::kEndpoint, "", required, "", help};
  k.expected = std::string(kEndpointExpected);
  k.set = [field](Ctx& c, const YAML::Node& n, std::string& exp) {
    exp = std::string(kEndpointExpected);
    return is_scalar(n) && parse_endpoint(n.Scalar(), field(c));
  };
  k.get = [field](Ctx& c) { return YAML::Node(field(c).to_string()); };
  return k;
}

KeyDef optional_endpoint_key(std::string_view path, std::string_view help,
                             Field<std::optional<Endpoint>> field) {
  KeyDef k{path, Type::kEndpoint, "", false, "", help};
  k.expected = std::string(kEndpointExpected);
  k.set = [field](Ctx& c, const YAML::Node& n, std::string& exp) {
    exp = std::string(kEndpointExpected);
    Endpoint e;
    if (!is_scalar(n) || !parse_endpoint(n.Scalar(), e)) {
      return false;
    }
    field(c) = e;
    return true;
  };
  k.get = [field](Ctx& c) {
    return field(c) ? YAML::Node(field(c)->to_string()) : YAML::Node();
  };
  return k;
}

KeyDef enum_key(std::string_view path, std::string_view def, std::string_view help,
                std::vector<std::string> values, Field<std::string> field) {
  KeyDef k{path, Type::kEnum, def, false, "", help};
  std::string expected = "one of:";
  for (const auto& v : values) {
    expected += " " + v;
  }
  k.expected = expected;
  k.set = [=](Ctx& c, const YAML::Node& n, std::string& exp) {
    exp = expected;
    if (!is_scalar(n) || std::find(values.begin(), values.end(), n.Scalar()) == values.end()) {
      return false;
    }
    field(c) = n.Scalar();
    return true;
  };
  k.get = [field](Ctx& c) { return YAML::Node(field(c)); };
  return k;
}

KeyDef list(std::string_view path, bool required, std::string_view help) {
  KeyDef k{path, Type::kList, "", required, "", help};
  return k;
}

// Resolves a cluster-scoped field.
template <class T>
using ClusterField = T ClusterConfig::*;

}  // namespace

const std::vector<KeyDef>& schema() {
  static const std::vector<KeyDef> table = [] {
    using namespace std::chrono_literals;
    std::vector<KeyDef> t;
    // ---- spoe
    t.push_back(section("spoe", "The SPOP listener HAProxy's SPOE filter connects to.", true));
    t.push_back(endpoint_key("spoe.listen", true, "Address the SPOP server listens on.",
                             [](Ctx& c) -> Endpoint& { return c.cfg->spoe.listen; }));
    t.push_back(int_key("spoe.threads", "0", "threads", "Threads serving SPOP; 0 means one per core.",
                        0, 64, [](Ctx& c) -> int64_t& { return c.cfg->spoe.threads; }));
    t.push_back(int_key("spoe.max_frame_size", "16380", "bytes",
                        "Largest SPOP frame we accept and send; the HELLO takes the smaller of this and HAProxy's.",
                        256, 65532, [](Ctx& c) -> int64_t& { return c.cfg->spoe.max_frame_size; }));
    t.push_back(duration_key("spoe.idle_timeout", "10m",
                             "A SPOP connection with no traffic for this long is closed.", 1s, 24h,
                             [](Ctx& c) -> Duration& { return c.cfg->spoe.idle_timeout; }));
    // ---- clusters
    KeyDef clusters = list("clusters", true, "The Elasticsearch clusters of the pair (at least two).");
    clusters.add_item = [](Ctx& c) {
      c.cfg->clusters.emplace_back();
      c.cluster = &c.cfg->clusters.back();
    };
    clusters.count = [](Ctx& c) { return c.cfg->clusters.size(); };
    clusters.select = [](Ctx& c, size_t i) { c.cluster = &c.cfg->clusters[i]; };
    t.push_back(clusters);
    t.push_back(string_key("clusters[].name", "", true,
                           "Cluster name: HAProxy backend es_<name>, the txn.haes.cluster value, the health path /lb/<name>/.",
                           [](Ctx& c) -> std::string& { return c.cluster->name; },
                           "[A-Za-z0-9_-]{1,32}", "1-32 characters from A-Z a-z 0-9 _ -"));
    KeyDef nodes = list("clusters[].nodes", true,
                        "The cluster's nodes: each a URL, or a map {name, url}.");
    nodes.add_item = [](Ctx& c) {
      c.cluster->nodes.emplace_back();
      c.node = &c.cluster->nodes.back();
    };
    nodes.count = [](Ctx& c) { return c.cluster->nodes.size(); };
    nodes.select = [](Ctx& c, size_t i) { c.node = &c.cluster->nodes[i]; };
    t.push_back(nodes);
    KeyDef url{"clusters[].nodes[].url", Type::kUrl, "", true, "",
               "http:// or https://, host, optional port (default 9200) and path prefix. No credentials: use auth."};
    url.expected = "http(s)://host[:port][/prefix], e.g. http://10.0.1.1:9200";
    url.set = [](Ctx& c, const YAML::Node& n, std::string& exp) {
      std::string why;
      if (!is_scalar(n) || !parse_node_url(n.Scalar(), c.node->url, why)) {
        exp = "http(s)://host[:port][/prefix], e.g. http://10.0.1.1:9200" + why;
        return false;
      }
      return true;
    };
    url.get = [](Ctx& c) { return YAML::Node(c.node->url.text); };
    t.push_back(url);
    t.push_back(string_key("clusters[].nodes[].name", "", false,
                           "Node name, unique in its cluster; HAProxy's server name. Default: host:port of the URL.",
                           [](Ctx& c) -> std::string& { return c.node->name; },
                           "[A-Za-z0-9_.:-]{1,64}", "1-64 characters from A-Z a-z 0-9 _ . : -"));
    t.push_back(section("clusters[].tls", "TLS towards this cluster's nodes (https:// URLs)."));
    t.push_back(path_key("clusters[].tls.ca_file", "", "CA bundle to verify the nodes' certificates; default: the system's CAs.",
                         [](Ctx& c) -> std::string& { return c.cluster->tls.ca_file; }));
    t.push_back(path_key("clusters[].tls.cert_file", "", "Client certificate (PEM), with key_file.",
                         [](Ctx& c) -> std::string& { return c.cluster->tls.cert_file; }));
    t.push_back(path_key("clusters[].tls.key_file", "", "Client key (PEM), with cert_file.",
                         [](Ctx& c) -> std::string& { return c.cluster->tls.key_file; }));
    t.push_back(string_key("clusters[].tls.server_name", "", false,
                           "Name to verify in the certificate and send as SNI; default: the URL's host.",
                           [](Ctx& c) -> std::string& { return c.cluster->tls.server_name; }));
    t.push_back(bool_key("clusters[].tls.insecure", "false",
                         "Skip certificate verification (logged as a warning at start). Never in production.",
                         [](Ctx& c) -> bool& { return c.cluster->tls.insecure; }));
    t.push_back(section("clusters[].auth",
                        "Credentials: Basic (username + password) or an API key. Secrets are read from a file or an environment variable, never written here."));
    t.push_back(string_key("clusters[].auth.username", "", false, "Basic-auth user.",
                           [](Ctx& c) -> std::string& { return c.cluster->auth.username; }));
    t.push_back(path_key("clusters[].auth.password_file", "", "File holding the password (one line).",
                         [](Ctx& c) -> std::string& { return c.cluster->auth.password_file; }));
    t.push_back(string_key("clusters[].auth.password_env", "", false,
                           "Environment variable holding the password.",
                           [](Ctx& c) -> std::string& { return c.cluster->auth.password_env; },
                           "[A-Za-z_][A-Za-z0-9_]*", "an environment variable name"));
    t.push_back(path_key("clusters[].auth.api_key_file", "",
                         "File holding the API key as sent after `ApiKey ` (base64 of id:key).",
                         [](Ctx& c) -> std::string& { return c.cluster->auth.api_key_file; }));
    t.push_back(string_key("clusters[].auth.api_key_env", "", false,
                           "Environment variable holding the API key (base64 of id:key).",
                           [](Ctx& c) -> std::string& { return c.cluster->auth.api_key_env; },
                           "[A-Za-z_][A-Za-z0-9_]*", "an environment variable name"));
    t.push_back(string_key("preferred", "", true,
                           "The cluster that is active at first start, and the target of `haesctl failback`.",
                           [](Ctx& c) -> std::string& { return c.cfg->preferred; }));
    // ---- health, agent_check, admin
    t.push_back(section("health", "The HTTP port HAProxy's `option httpchk` and Prometheus use."));
    t.push_back(optional_endpoint_key("health.listen", "Address of the health port (/lb/<cluster>/<node>, /lb, /metrics); off when absent.",
                                      [](Ctx& c) -> std::optional<Endpoint>& { return c.cfg->health.listen; }));
    t.push_back(string_key("health.node", "", false,
                           "cluster/node that GET /lb answers for, when the agent runs beside one Elasticsearch node.",
                           [](Ctx& c) -> std::string& { return c.cfg->health.node; },
                           "[A-Za-z0-9_-]{1,32}/[A-Za-z0-9_.:-]{1,64}", "cluster/node, e.g. dc1/es1"));
    t.push_back(section("agent_check", "HAProxy's agent-check text protocol."));
    t.push_back(optional_endpoint_key("agent_check.listen", "Address of the agent-check port; off when absent.",
                                      [](Ctx& c) -> std::optional<Endpoint>& { return c.cfg->agent_check.listen; }));
    t.push_back(section("admin", "The operators' Unix socket (haesctl)."));
    t.push_back(path_key("admin.socket", "/run/haes/admin.sock",
                         "Path of the admin socket; its directory is created at start if missing.",
                         [](Ctx& c) -> std::string& { return c.cfg->admin.socket; }));
    KeyDef mode{"admin.mode", Type::kOctal, "\"0600\"", false, "",
                "Permissions of the admin socket (octal). Whoever can connect can fail over."};
    mode.expected = "3 or 4 octal digits, e.g. \"0600\"";
    mode.set = [](Ctx& c, const YAML::Node& n, std::string& exp) {
      exp = "3 or 4 octal digits, e.g. \"0600\"";
      if (!is_scalar(n) || !std::regex_match(n.Scalar(), std::regex("[0-7]{3,4}"))) {
        return false;
      }
      c.cfg->admin.mode = std::stoll(n.Scalar(), nullptr, 8);
      return true;
    };
    mode.get = [](Ctx& c) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(c.cfg->admin.mode));
      return YAML::Node(std::string(buf));
    };
    t.push_back(mode);
    // ---- state
    t.push_back(section("state", "Where roles, epoch and pause are kept (survives restarts and kill -9)."));
    t.push_back(enum_key("state.store", "local", "The state store: `local`, one crash-safe file for a single agent.",
                         {"local", "etcd"}, [](Ctx& c) -> std::string& { return c.cfg->state.store; }));
    t.push_back(path_key("state.path", "/var/lib/haes/state.pb",
                         "State file of the local store; the event journal is beside it (<path>.events).",
                         [](Ctx& c) -> std::string& { return c.cfg->state.path; }));
    t.push_back(int_key("state.journal_size", "1000", "events", "Events kept in the journal (oldest dropped).",
                        10, 1000000, [](Ctx& c) -> int64_t& { return c.cfg->state.journal_size; }));
    // ---- failover
    t.push_back(section("failover", "Health probing and the automatic failover rules (docs/failover.md)."));
    t.push_back(duration_key("failover.interval", "1s", "Time between health rounds (every node probed each round).",
                             100ms, 1h, [](Ctx& c) -> Duration& { return c.cfg->failover.interval; }));
    t.push_back(duration_key("failover.timeout", "800ms", "A probe not answered within this is a timeout; at most the interval.",
                             10ms, 1h, [](Ctx& c) -> Duration& { return c.cfg->failover.timeout; }));
    t.push_back(int_key("failover.fail_threshold", "3", "rounds",
                        "Consecutive bad rounds (red or unreachable) of the active cluster before it fails over.",
                        1, 100, [](Ctx& c) -> int64_t& { return c.cfg->failover.fail_threshold; }));
    t.push_back(duration_key("failover.hold_down", "5m",
                             "After any transition, no automatic transition for this long (anti-flapping); `haesctl ack` ends it early.",
                             0ms, 7 * 24h, [](Ctx& c) -> Duration& { return c.cfg->failover.hold_down; }));
    t.push_back(bool_key("failover.automatic", "true",
                         "false: the agent never changes roles by itself; only operators do.",
                         [](Ctx& c) -> bool& { return c.cfg->failover.automatic; }));
    t.push_back(section("failover.on_role_change", "A command run after every role change (docs/failover.md)."));
    t.push_back(string_key("failover.on_role_change.command", "", false,
                           "Run with /bin/sh -c; HAES_EVENT, HAES_OLD_ACTIVE, HAES_NEW_ACTIVE, HAES_EPOCH, HAES_REASON, HAES_CHANGED_BY in its environment.",
                           [](Ctx& c) -> std::string& { return c.cfg->failover.on_role_change_command; }));
    t.push_back(duration_key("failover.on_role_change.timeout", "30s", "The hook is killed after this long.",
                             100ms, 1h, [](Ctx& c) -> Duration& { return c.cfg->failover.on_role_change_timeout; }));
    // ---- sync
    KeyDef sync{"sync", Type::kOptionalSection, "", false, "",
                "Snapshot sync of the passive cluster from the active one; off when absent (docs/sync.md)."};
    sync.activate = [](Ctx& c) { c.cfg->sync.emplace(); };
    sync.present = [](Ctx& c) { return c.cfg->sync.has_value(); };
    t.push_back(sync);
    t.push_back(duration_key("sync.interval", "5m", "Time between syncs (also `haesctl sync now`).", 10s, 7 * 24h,
                             [](Ctx& c) -> Duration& { return c.cfg->sync->interval; }));
    KeyDef indices{"sync.indices", Type::kStringList, "[\"*\"]", false, "",
                   "Index patterns to sync; `-pattern` excludes."};
    indices.expected = "a list of index patterns, e.g. [\"logs-*\", \"-logs-tmp*\"]";
    indices.set = [](Ctx& c, const YAML::Node& n, std::string& exp) {
      exp = "a list of index patterns, e.g. [\"logs-*\", \"-logs-tmp*\"]";
      if (!n.IsSequence() || n.size() == 0) {
        return false;
      }
      std::vector<std::string> out;
      for (const auto& item : n) {
        if (!item.IsScalar() || item.Scalar().empty() ||
            item.Scalar().find_first_of(" ,\"\\/<>|#") != std::string::npos) {
          return false;
        }
        out.push_back(item.Scalar());
      }
      c.cfg->sync->indices = out;
      return true;
    };
    indices.get = [](Ctx& c) {
      YAML::Node n;
      for (const auto& s : c.cfg->sync->indices) {
        n.push_back(s);
      }
      n.SetStyle(YAML::EmitterStyle::Flow);
      return n;
    };
    t.push_back(indices);
    t.push_back(bool_key("sync.include_system_indices", "false", "Also sync system (dot-prefixed) indices.",
                         [](Ctx& c) -> bool& { return c.cfg->sync->include_system_indices; }));
    t.push_back(section("sync.repository", "The snapshot repository both clusters can read."));
    t.push_back(string_key("sync.repository.name", "haes", false, "Repository name in both clusters.",
                           [](Ctx& c) -> std::string& { return c.cfg->sync->repository.name; },
                           "[a-z0-9_.-][a-z0-9_.+-]{0,254}", "lowercase letters, digits, _ . + -"));
    t.push_back(enum_key("sync.repository.type", "fs", "Repository type (`s3` needs ES's repository-s3 support).",
                         {"fs", "s3"}, [](Ctx& c) -> std::string& { return c.cfg->sync->repository.type; }));
    KeyDef settings{"sync.repository.settings", Type::kMap, "", false, "",
                    "Passed to Elasticsearch as they are (fs: location; s3: bucket, base_path, ...)."};
    settings.expected = "a map of settings, e.g. {location: /mnt/snapshots/haes}";
    settings.set = [](Ctx& c, const YAML::Node& n, std::string& exp) {
      exp = "a map of settings, e.g. {location: /mnt/snapshots/haes}";
      if (!n.IsMap()) {
        return false;
      }
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : n) {
        if (!kv.second.IsScalar()) {
          return false;
        }
        const std::string& v = kv.second.Scalar();
        if (v == "true" || v == "false") {
          out[kv.first.Scalar()] = v == "true";
        } else if (std::regex_match(v, std::regex("-?[0-9]{1,18}"))) {
          out[kv.first.Scalar()] = std::stoll(v);
        } else {
          out[kv.first.Scalar()] = v;
        }
      }
      c.cfg->sync->repository.settings = out;
      return true;
    };
    settings.get = [](Ctx& c) {
      YAML::Node n(YAML::NodeType::Map);
      for (const auto& [k, v] : c.cfg->sync->repository.settings.items()) {
        n[k] = v.is_string() ? v.get<std::string>() : v.dump();
      }
      return n;
    };
    t.push_back(settings);
    t.push_back(bool_key("sync.repository.register", "true",
                         "Register and verify the repository on both clusters at start (the passive side readonly).",
                         [](Ctx& c) -> bool& { return c.cfg->sync->repository.register_repository; }));
    t.push_back(section("sync.retention", "Which snapshots to keep (the last synced one is always kept)."));
    t.push_back(int_key("sync.retention.keep", "10", "snapshots", "Snapshots kept by count.", 1, 100000,
                        [](Ctx& c) -> int64_t& { return c.cfg->sync->retention_keep; }));
    t.push_back(duration_key("sync.retention.max_age", "7d", "Snapshots older than this are deleted; 0s: no age limit.",
                             0ms, 3650 * 24h, [](Ctx& c) -> Duration& { return c.cfg->sync->retention_max_age; }));
    t.push_back(duration_key("sync.timeout", "30m", "Longest one snapshot or restore may take.", 1s, 7 * 24h,
                             [](Ctx& c) -> Duration& { return c.cfg->sync->timeout; }));
    t.push_back(section("sync.verify_restore", "Scheduled restore tests (`haesctl verify-restore` runs one now)."));
    t.push_back(duration_key("sync.verify_restore.interval", "0s", "Time between restore tests; 0s: only on command.",
                             0ms, 3650 * 24h, [](Ctx& c) -> Duration& { return c.cfg->sync->verify_restore_interval; }));
    // ---- log
    t.push_back(section("log", "Logging (to standard error)."));
    t.push_back(enum_key("log.level", "info", "Lowest level logged.", {"trace", "debug", "info", "warn", "error"},
                         [](Ctx& c) -> std::string& { return c.cfg->log.level; }));
    return t;
  }();
  return table;
}

const KeyDef* find_key(std::string_view path) {
  for (const auto& k : schema()) {
    if (k.path == path) {
      return &k;
    }
  }
  return nullptr;
}

std::string_view parent_of(std::string_view path) {
  size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

std::string_view leaf_of(std::string_view path) {
  size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

std::string_view type_name(Type t) {
  switch (t) {
    case Type::kSection: return "section";
    case Type::kOptionalSection: return "section (optional)";
    case Type::kList: return "list";
    case Type::kString: return "string";
    case Type::kInt: return "integer";
    case Type::kBool: return "boolean";
    case Type::kDuration: return "duration";
    case Type::kEndpoint: return "host:port";
    case Type::kUrl: return "URL";
    case Type::kPath: return "path";
    case Type::kEnum: return "enum";
    case Type::kOctal: return "octal";
    case Type::kStringList: return "list of strings";
    case Type::kMap: return "map";
  }
  return "?";
}

}  // namespace haes::config_detail
