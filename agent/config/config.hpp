#pragma once
// The agent's configuration: typed, validated, sealed after start-up
// (STYLE.md §5, §9). Every key is declared once, in schema.cpp; parsing,
// defaults, `--check-config`, `show config` and docs/config.md come from it.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/enum_names.hpp"
#include "common/result.hpp"
#include "common/time.hpp"

namespace haes {

// Config values that are enums: the schema accepts exactly these names.
#define HAES_STORE_KIND_LIST(X) X(kLocal, "local") X(kEtcd, "etcd")
HAES_ENUM(StoreKind, uint8_t, "store", HAES_STORE_KIND_LIST)
#define HAES_REPOSITORY_TYPE_LIST(X) X(kFs, "fs") X(kS3, "s3")
HAES_ENUM(RepositoryType, uint8_t, "type", HAES_REPOSITORY_TYPE_LIST)
// sync.mode: snapshots (docs/sync.md) or cross-cluster replication (docs/ccr.md).
#define HAES_SYNC_MODE_LIST(X) X(kSnapshot, "snapshot") X(kCcr, "ccr")
HAES_ENUM(SyncMode, uint8_t, "mode", HAES_SYNC_MODE_LIST)
#define HAES_LOG_LEVEL_LIST(X) \
  X(kTrace, "trace") X(kDebug, "debug") X(kInfo, "info") X(kWarn, "warn") X(kError, "error")
HAES_ENUM(LogLevel, uint8_t, "level", HAES_LOG_LEVEL_LIST)

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
  int64_t max_connections = 0;
  int64_t max_output_bytes = 0;
  Duration write_timeout{0};
};

struct HealthConfig {
  std::optional<Endpoint> listen;
  std::string advertise_url;  // how the other agents reach this port (GET /peer)
  std::string node;           // "cluster/node" or empty
  int64_t max_connections = 0;
};

struct AgentCheckConfig {
  std::optional<Endpoint> listen;
  int64_t max_connections = 0;
  Duration ready_grace{0};
};

// The admin port over TLS: the same commands as the socket, from other
// hosts (haesctl --url) and between agents (forwarding to the leader).
struct AdminPortConfig {
  std::optional<Endpoint> listen;  // off when absent
  std::string cert_file;           // the port's certificate chain (required with listen)
  std::string key_file;
  std::string client_ca_file;  // clients must present a certificate of this CA
  std::string ca_file;         // to verify the other agents' admin ports (forwarding)
  std::string token_file;      // or a bearer token (also what agents send each other)
  std::string token_env;
  std::string advertise_url;  // how the other agents reach this port
};

struct AdminConfig {
  std::string socket;
  int64_t mode = 0;
  int64_t max_connections = 0;
  AdminPortConfig port;
};

// state.store: etcd (docs/failover.md "Several agents").
struct EtcdConfig {
  std::vector<NodeUrl> endpoints;
  std::string prefix;
  std::string username;
  std::string password_file;
  std::string password_env;
  TlsConfig tls;
  Duration timeout{0};
  Duration lease_ttl{0};
  Duration stale_after{0};
  Duration poll_interval{0};
};

struct AgentConfig {
  std::string name;  // unique in the pair; default: the host name
};

struct StateConfig {
  StoreKind store = StoreKind::kLocal;
  EtcdConfig etcd;
  std::string path;
  int64_t journal_size = 0;
};

struct FailoverConfig {
  Duration interval{0};
  Duration timeout{0};
  int64_t fail_threshold = 0;
  int64_t confirmations = 0;  // several agents: how many must see the active cluster bad
  Duration hold_down{0};
  bool automatic = true;
  std::string on_role_change_command;
  Duration on_role_change_timeout{0};
};

// Cluster vitals: disk, heap, nodes, shards, read at a slower pace than the
// health rounds (docs/health.md "Cluster vitals").
struct VitalsConfig {
  Duration interval{0};  // 0: not read
  Duration timeout{0};
  int64_t disk_warning_percent = 0;
  int64_t disk_critical_percent = 0;
  int64_t heap_warning_percent = 0;
};

// Passive readiness (docs/readiness.md).
struct ReadinessConfig {
  int64_t disk_margin_percent = 10;
  int64_t doc_count_tolerance_percent = 10;
};

// DR drills (docs/drills.md).
struct DrillConfig {
  Duration interval{0};    // 0: on command only
  int64_t keep = 10;       // reports kept
  int64_t documents = 20;  // written to the scratch index and read back
  // The front door (HAProxy) the drill's writes and reads go through; unset:
  // straight to the target cluster's nodes.
  std::optional<NodeUrl> through;
};

// Two repositories, one per site, carried across by rsync (docs/sync.md
// "Two sites without a shared file system"): absent, both clusters share one.
struct RepositoryCopyConfig {
  // Where the agent reaches each cluster's repository directory, by cluster
  // name: an absolute path, or [user@]host:/absolute/path over ssh.
  std::map<std::string, std::string> locations;
  std::string rsync_command;
  std::string ssh_command;  // "" : rsync's own default (ssh)
  Duration timeout{0};
  Duration io_timeout{0};       // rsync --timeout (no data moving); 0: off
  int64_t bandwidth_limit = 0;  // KiB/s, 0: none
};

struct RepositoryConfig {
  std::string name;
  RepositoryType type = RepositoryType::kFs;
  nlohmann::json settings = nlohmann::json::object();
  bool register_repository = true;
  std::optional<RepositoryCopyConfig> copy;
};

// sync.ccr: the passive cluster's follower indices (docs/ccr.md).
struct CcrConfig {
  std::vector<std::string> indices;  // leader index patterns; "-pattern" excludes
  std::string remote_alias;          // "": the active cluster's name
  bool manage = false;               // create the remote cluster and the auto-follow pattern
  Duration poll_interval{0};
  Duration timeout{0};
  int64_t transport_port = 0;  // seeds: the active cluster's node hosts at this port; 0: their HTTP address
  bool snapshot_before_refollow = true;
};

struct SyncConfig {
  SyncMode mode = SyncMode::kSnapshot;
  CcrConfig ccr;
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
  LogLevel level = LogLevel::kInfo;
};

struct Config {
  std::string source;  // file name, for messages
  AgentConfig agent;
  SpoeConfig spoe;
  std::vector<ClusterConfig> clusters;
  std::string preferred;
  HealthConfig health;
  AgentCheckConfig agent_check;
  AdminConfig admin;
  StateConfig state;
  FailoverConfig failover;
  VitalsConfig vitals;
  ReadinessConfig readiness;
  DrillConfig drill;
  std::optional<SyncConfig> sync;
  LogConfig log;

  const ClusterConfig* find_cluster(std::string_view name) const;
};

// Reads and validates a file. On failure the Error's message lists every
// problem found, one per line, each naming the file, the key path, the bad
// value and what was expected.
Result<Config> load_config(const std::filesystem::path& path);

// Why a file holding a secret may not have this st_mode: "" when it may,
// else "is readable by everyone (mode 0644): ..." (any access for others:
// the file type bits are ignored). Group access is allowed.
std::string secret_mode_problem(unsigned mode);
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
