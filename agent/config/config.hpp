#pragma once
// The agent's configuration: typed, validated, sealed after start-up
// (STYLE.md §5, §9). Every key is declared once, in schema.cpp; parsing,
// defaults, `--check-config`, `show config` and docs/config.md come from it.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "common/time.hpp"

namespace haes {

struct Endpoint {
  std::string host;  // IP literal or "localhost"; IPv6 without brackets
  uint16_t port = 0;
  std::string to_string() const;  // "127.0.0.1:9500", "[::1]:9500"
};

struct NodeUrl {
  bool https = false;
  std::string host;
  uint16_t port = 9200;
  std::string path_prefix;  // "" or "/es" (no trailing slash)
  std::string text;         // as written
};

struct NodeConfig {
  std::string name;
  NodeUrl url;
};

struct TlsConfig {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
  bool insecure = false;
};

struct AuthConfig {
  std::string username;
  std::string password_file;
  std::string password_env;
  std::string api_key_file;
  std::string api_key_env;
  bool basic() const { return !username.empty(); }
  bool api_key() const { return !api_key_file.empty() || !api_key_env.empty(); }
};

struct ClusterConfig {
  std::string name;
  std::vector<NodeConfig> nodes;
  TlsConfig tls;
  AuthConfig auth;
  const NodeConfig* find_node(std::string_view node) const;
};

struct SpoeConfig {
  Endpoint listen;
  int64_t threads = 0;
  int64_t max_frame_size = 0;
  Duration idle_timeout{0};
};

struct HealthConfig {
  std::optional<Endpoint> listen;
  std::string node;  // "cluster/node" or empty
};

struct AgentCheckConfig {
  std::optional<Endpoint> listen;
};

struct AdminConfig {
  std::string socket;
  int64_t mode = 0;
};

struct StateConfig {
  std::string store;
  std::string path;
  int64_t journal_size = 0;
};

struct FailoverConfig {
  Duration interval{0};
  Duration timeout{0};
  int64_t fail_threshold = 0;
  Duration hold_down{0};
  bool automatic = true;
  std::string on_role_change_command;
  Duration on_role_change_timeout{0};
};

struct RepositoryConfig {
  std::string name;
  std::string type;
  nlohmann::json settings = nlohmann::json::object();
  bool register_repository = true;
};

struct SyncConfig {
  Duration interval{0};
  std::vector<std::string> indices;
  bool include_system_indices = false;
  RepositoryConfig repository;
  int64_t retention_keep = 0;
  Duration retention_max_age{0};
  Duration timeout{0};
  Duration verify_restore_interval{0};
};

struct LogConfig {
  std::string level;
};

struct Config {
  std::string source;  // file name, for messages
  SpoeConfig spoe;
  std::vector<ClusterConfig> clusters;
  std::string preferred;
  HealthConfig health;
  AgentCheckConfig agent_check;
  AdminConfig admin;
  StateConfig state;
  FailoverConfig failover;
  std::optional<SyncConfig> sync;
  LogConfig log;

  const ClusterConfig* find_cluster(std::string_view name) const;
};

// Reads and validates a file. On failure the Error's message lists every
// problem found, one per line, each naming the file, the key path, the bad
// value and what was expected.
Result<Config> load_config(const std::filesystem::path& path);
Result<Config> parse_config(std::string_view yaml_text, std::string_view source_name);

// What `haes-agent --check-config FILE` prints on success.
std::string check_config_summary(const Config& config);

// The effective configuration, defaults filled in, as YAML (`show config`).
// Config never holds a secret (only where to read one); nothing to redact
// beyond that, and the output says so.
std::string render_effective_config(const Config& config);

// docs/config.md, generated from the schema table.
std::string config_reference_markdown();

}  // namespace haes
