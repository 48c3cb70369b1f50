// The configuration schema: every key, once. Adding a key = adding one entry
// here, or in schema_sync.cpp for sync.* (and a field in config.hpp);
// docs/config.md is regenerated from it. The key builders: schema_keys.hpp.
#include "config/schema.hpp"

#include "config/schema_keys.hpp"

namespace haes::config_detail {

const std::vector<KeyDef>& schema() {
  static const std::vector<KeyDef> table = [] {
    using namespace std::chrono_literals;
    std::vector<KeyDef> t;
    // ---- spoe
    t.push_back(section("spoe", "The SPOP listener HAProxy's SPOE filter connects to.", true));
    t.push_back(endpoint_key("spoe.listen", true, "Address the SPOP server listens on.",
                             [](Ctx& c) -> Endpoint& { return c.cfg->spoe.listen; }));
    t.push_back(int_key("spoe.threads", "0", "threads", "Threads serving SPOP; 0 means one per core.", 0, 64,
                        [](Ctx& c) -> int64_t& { return c.cfg->spoe.threads; }));
    t.push_back(int_key("spoe.max_frame_size", "16380", "bytes",
                        "Largest SPOP frame we accept and send; the HELLO takes the smaller of this and HAProxy's.",
                        256, 65532, [](Ctx& c) -> int64_t& { return c.cfg->spoe.max_frame_size; }));
    t.push_back(duration_key("spoe.idle_timeout", "10m", "A SPOP connection with no traffic for this long is closed.",
                             1s, 24h, [](Ctx& c) -> Duration& { return c.cfg->spoe.idle_timeout; }));
    t.push_back(int_key("spoe.max_connections", "10000", "connections",
                        "SPOP connections open at once; the next are closed at once, counted and logged.", 1, 1000000,
                        [](Ctx& c) -> int64_t& { return c.cfg->spoe.max_connections; }));
    t.push_back(int_key("spoe.max_output_bytes", "262144", "bytes",
                        "ACK bytes a SPOP connection may have queued; when full the agent stops reading it "
                        "(back-pressure). Raised to 2 x (max_frame_size + 4) if below. See docs/spoe.md.",
                        65536, 67108864, [](Ctx& c) -> int64_t& { return c.cfg->spoe.max_output_bytes; }));
    t.push_back(duration_key("spoe.write_timeout", "10s",
                             "A SPOP peer that takes none of its ACKs for this long is disconnected.", 100ms, 10min,
                             [](Ctx& c) -> Duration& { return c.cfg->spoe.write_timeout; }));
    // ---- clusters
    KeyDef clusters = list("clusters", true, "The Elasticsearch clusters of the pair (at least two).");
    clusters.add_item = [](Ctx& c) {
      c.cfg->clusters.emplace_back();
      c.cluster = &c.cfg->clusters.back();
    };
    clusters.count = [](Ctx& c) { return c.cfg->clusters.size(); };
    clusters.select = [](Ctx& c, size_t i) { c.cluster = &c.cfg->clusters[i]; };
    t.push_back(clusters);
    t.push_back(string_key(
        "clusters[].name", "", true,
        "Cluster name: HAProxy backend es_<name>, the txn.haes.cluster value, the health path /lb/<name>/.",
        [](Ctx& c) -> std::string& { return c.cluster->name; }, "[A-Za-z0-9_-]{1,32}",
        "1-32 characters from A-Z a-z 0-9 _ -"));
    KeyDef nodes = list("clusters[].nodes", true, "The cluster's nodes: each a URL, or a map {name, url}.");
    nodes.add_item = [](Ctx& c) {
      c.cluster->nodes.emplace_back();
      c.node = &c.cluster->nodes.back();
    };
    nodes.count = [](Ctx& c) { return c.cluster->nodes.size(); };
    nodes.select = [](Ctx& c, size_t i) { c.node = &c.cluster->nodes[i]; };
    t.push_back(nodes);
    KeyDef url{"clusters[].nodes[].url",
               Type::kUrl,
               "",
               true,
               "",
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
    t.push_back(string_key(
        "clusters[].nodes[].name", "", false,
        "Node name, unique in its cluster; HAProxy's server name. Default: host:port of the URL (set it when that does "
        "not fit).",
        [](Ctx& c) -> std::string& { return c.node->name; }, kNodeNamePattern, kNodeNameExpected));
    t.push_back(section("clusters[].tls", "TLS towards this cluster's nodes (https:// URLs)."));
    t.push_back(path_key("clusters[].tls.ca_file", "",
                         "CA bundle to verify the nodes' certificates; default: the system's CAs.",
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
                        "Credentials: Basic (username + password) or an API key. Secrets are read from a file or an "
                        "environment variable, never written here; a secret file others may read is refused "
                        "(docs/security.md)."));
    t.push_back(string_key("clusters[].auth.username", "", false, "Basic-auth user.",
                           [](Ctx& c) -> std::string& { return c.cluster->auth.username; }));
    t.push_back(path_key("clusters[].auth.password_file", "", "File holding the password (one line).",
                         [](Ctx& c) -> std::string& { return c.cluster->auth.password_file; }));
    t.push_back(string_key(
        "clusters[].auth.password_env", "", false, "Environment variable holding the password.",
        [](Ctx& c) -> std::string& { return c.cluster->auth.password_env; }, "[A-Za-z_][A-Za-z0-9_]*",
        "an environment variable name"));
    t.push_back(path_key("clusters[].auth.api_key_file", "",
                         "File holding the API key as sent after `ApiKey ` (base64 of id:key).",
                         [](Ctx& c) -> std::string& { return c.cluster->auth.api_key_file; }));
    t.push_back(string_key(
        "clusters[].auth.api_key_env", "", false, "Environment variable holding the API key (base64 of id:key).",
        [](Ctx& c) -> std::string& { return c.cluster->auth.api_key_env; }, "[A-Za-z_][A-Za-z0-9_]*",
        "an environment variable name"));
    t.push_back(string_key("preferred", "", true,
                           "The cluster that is active at first start, and the target of `haesctl failback`.",
                           [](Ctx& c) -> std::string& { return c.cfg->preferred; }));
    // ---- health, agent_check, admin
    t.push_back(section("health", "The HTTP port HAProxy's `option httpchk` and Prometheus use."));
    t.push_back(optional_endpoint_key(
        "health.listen", "Address of the health port (/lb/<cluster>/<node>, /lb, /metrics); off when absent.",
        [](Ctx& c) -> std::optional<Endpoint>& { return c.cfg->health.listen; }));
    t.push_back(string_key(
        "health.advertise_url", "", false,
        "URL the other agents use to reach this port (GET /peer, state.store: etcd); default http://<listen>. "
        "Required when listen is 0.0.0.0 or [::].",
        [](Ctx& c) -> std::string& { return c.cfg->health.advertise_url; }, "http://[^ ]{3,200}",
        "an http:// URL, e.g. http://lb1.example:9500"));
    t.push_back(string_key(
        "health.node", "", false,
        "cluster/node that GET /lb answers for, when the agent runs beside one Elasticsearch node.",
        [](Ctx& c) -> std::string& { return c.cfg->health.node; }, "[A-Za-z0-9_-]{1,32}/[A-Za-z0-9_.:-]{1,64}",
        "cluster/node, e.g. dc1/es1"));
    t.push_back(int_key("health.max_connections", "256", "connections",
                        "Health-port connections open at once; the next are closed at once, counted and logged.", 1,
                        100000, [](Ctx& c) -> int64_t& { return c.cfg->health.max_connections; }));
    t.push_back(section("agent_check", "HAProxy's agent-check text protocol."));
    t.push_back(optional_endpoint_key("agent_check.listen", "Address of the agent-check port; off when absent.",
                                      [](Ctx& c) -> std::optional<Endpoint>& { return c.cfg->agent_check.listen; }));
    t.push_back(int_key("agent_check.max_connections", "256", "connections",
                        "Agent-check connections open at once; the next are closed at once, counted and logged.", 1,
                        100000, [](Ctx& c) -> int64_t& { return c.cfg->agent_check.max_connections; }));
    t.push_back(duration_key("agent_check.ready_grace", "10s",
                             "How long \"ready\" is added after the agent lifts its own MAINT (or first answers a "
                             "server), so every server line sharing an agent-send gets it; an operator's drain or "
                             "maint holds otherwise. See docs/health-endpoints.md.",
                             0ms, 10min, [](Ctx& c) -> Duration& { return c.cfg->agent_check.ready_grace; }));
    t.push_back(section("admin", "The operators' Unix socket (haesctl)."));
    t.push_back(path_key("admin.socket", "/run/haes/admin.sock",
                         "Path of the admin socket; its directory is created at start if missing.",
                         [](Ctx& c) -> std::string& { return c.cfg->admin.socket; }));
    KeyDef mode{"admin.mode", Type::kOctal,
                "\"0600\"",   false,
                "",           "Permissions of the admin socket (octal). Whoever can connect can fail over."};
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
    t.push_back(int_key("admin.max_connections", "64", "connections",
                        "Admin-socket connections open at once; the next are closed at once, counted and logged.", 1,
                        10000, [](Ctx& c) -> int64_t& { return c.cfg->admin.max_connections; }));
    t.push_back(section("admin.port",
                        "The admin port over TLS: the socket's commands from other hosts "
                        "(haesctl --url) and between agents (docs/admin.md)."));
    t.push_back(optional_endpoint_key("admin.port.listen", "Address of the admin port; off when absent.",
                                      [](Ctx& c) -> std::optional<Endpoint>& { return c.cfg->admin.port.listen; }));
    t.push_back(path_key("admin.port.cert_file", "", "Certificate chain of the port (PEM).",
                         [](Ctx& c) -> std::string& { return c.cfg->admin.port.cert_file; }));
    t.push_back(path_key("admin.port.key_file", "", "Its private key (PEM).",
                         [](Ctx& c) -> std::string& { return c.cfg->admin.port.key_file; }));
    t.push_back(path_key("admin.port.client_ca_file", "",
                         "Clients must present a certificate signed by this CA (mutual TLS).",
                         [](Ctx& c) -> std::string& { return c.cfg->admin.port.client_ca_file; }));
    t.push_back(path_key("admin.port.token_file", "",
                         "File holding a bearer token clients send (Authorization: Bearer); agents send it to "
                         "each other's ports. Others must have no access to it (docs/security.md).",
                         [](Ctx& c) -> std::string& { return c.cfg->admin.port.token_file; }));
    t.push_back(string_key("admin.port.token_env", "", false, "Environment variable holding the token.",
                           [](Ctx& c) -> std::string& { return c.cfg->admin.port.token_env; }));
    t.push_back(path_key("admin.port.ca_file", "",
                         "CA to verify the other agents' admin ports when forwarding a command to the leader; "
                         "default: the system's.",
                         [](Ctx& c) -> std::string& { return c.cfg->admin.port.ca_file; }));
    t.push_back(string_key(
        "admin.port.advertise_url", "", false,
        "URL the other agents use to reach this port; default https://<listen>. Required with state.store: etcd "
        "when listen is 0.0.0.0 or [::].",
        [](Ctx& c) -> std::string& { return c.cfg->admin.port.advertise_url; }, "https://[^ ]{3,200}",
        "an https:// URL, e.g. https://lb1.example:9443"));
    // ---- state
    t.push_back(section("state", "Where roles, epoch and pause are kept (survives restarts and kill -9)."));
    t.push_back(typed_enum_key<StoreKind>("state.store", StoreKind::kLocal,
                                          "The state store: `local`, one crash-safe file for a single agent.",
                                          [](Ctx& c) -> StoreKind& { return c.cfg->state.store; }));
    t.push_back(path_key("state.path", "/var/lib/haes/state.pb",
                         "State file of the local store; the event journal is beside it (<path>.events).",
                         [](Ctx& c) -> std::string& { return c.cfg->state.path; }));
    t.push_back(int_key("state.journal_size", "1000", "events", "Events kept in the journal (oldest dropped).", 10,
                        1000000, [](Ctx& c) -> int64_t& { return c.cfg->state.journal_size; }));
    t.push_back(section("state.etcd", "With `store: etcd`: the etcd cluster several agents share (docs/failover.md)."));
    KeyDef endpoints{"state.etcd.endpoints",
                     Type::kStringList,
                     "",
                     false,
                     "",
                     "etcd client URLs, all members (rotated on failure): http(s)://host:port."};
    endpoints.expected =
        "a list of http(s)://host:port URLs, e.g. [\"http://10.0.0.1:2379\", \"http://10.0.0.2:2379\"]";
    endpoints.set = [](Ctx& c, const YAML::Node& n, std::string& exp) {
      exp = "a list of http(s)://host:port URLs, e.g. [\"http://10.0.0.1:2379\", \"http://10.0.0.2:2379\"]";
      if (!n.IsSequence() || n.size() == 0) {
        return false;
      }
      std::vector<NodeUrl> out;
      for (const auto& item : n) {
        NodeUrl u;
        std::string why;
        if (!item.IsScalar() || !parse_node_url(item.Scalar(), u, why) || !u.path_prefix.empty()) {
          exp += why;
          return false;
        }
        out.push_back(u);
      }
      c.cfg->state.etcd.endpoints = out;
      return true;
    };
    endpoints.get = [](Ctx& c) {
      YAML::Node n;
      for (const auto& u : c.cfg->state.etcd.endpoints) {
        n.push_back(u.text);
      }
      n.SetStyle(YAML::EmitterStyle::Flow);
      return n;
    };
    t.push_back(endpoints);
    t.push_back(string_key(
        "state.etcd.prefix", "/haes/", false,
        "Key prefix of this pair: one pair per prefix; several pairs may share an etcd.",
        [](Ctx& c) -> std::string& { return c.cfg->state.etcd.prefix; }, "/[A-Za-z0-9_./-]{0,200}",
        "a key prefix starting with /, e.g. /haes/prod-logs/"));
    t.push_back(string_key("state.etcd.username", "", false, "etcd user (etcd auth enabled).",
                           [](Ctx& c) -> std::string& { return c.cfg->state.etcd.username; }));
    t.push_back(path_key("state.etcd.password_file", "",
                         "File holding the etcd user's password; others must have no access to it.",
                         [](Ctx& c) -> std::string& { return c.cfg->state.etcd.password_file; }));
    t.push_back(string_key("state.etcd.password_env", "", false, "Environment variable holding the etcd password.",
                           [](Ctx& c) -> std::string& { return c.cfg->state.etcd.password_env; }));
    t.push_back(section("state.etcd.tls", "TLS towards etcd (https:// endpoints)."));
    t.push_back(path_key("state.etcd.tls.ca_file", "",
                         "CA bundle to verify etcd's certificates; default: the system's.",
                         [](Ctx& c) -> std::string& { return c.cfg->state.etcd.tls.ca_file; }));
    t.push_back(path_key("state.etcd.tls.cert_file", "", "Client certificate (etcd --client-cert-auth).",
                         [](Ctx& c) -> std::string& { return c.cfg->state.etcd.tls.cert_file; }));
    t.push_back(path_key("state.etcd.tls.key_file", "", "Its private key.",
                         [](Ctx& c) -> std::string& { return c.cfg->state.etcd.tls.key_file; }));
    t.push_back(string_key("state.etcd.tls.server_name", "", false, "Name to verify instead of the URL's host.",
                           [](Ctx& c) -> std::string& { return c.cfg->state.etcd.tls.server_name; }));
    t.push_back(duration_key("state.etcd.timeout", "400ms", "Deadline of one etcd request, every endpoint tried.", 50ms,
                             1min, [](Ctx& c) -> Duration& { return c.cfg->state.etcd.timeout; }));
    t.push_back(duration_key("state.etcd.poll_interval", "200ms",
                             "How often each agent reads the shared state (and so confirms its view).", 50ms, 10s,
                             [](Ctx& c) -> Duration& { return c.cfg->state.etcd.poll_interval; }));
    t.push_back(duration_key("state.etcd.stale_after", "1200ms",
                             "An agent that has not read the state for this long gives no positive verdict (unless its "
                             "peers confirm etcd is down for all); a new active cluster turns positive this long after "
                             "each agent learns of it.",
                             200ms, 10min, [](Ctx& c) -> Duration& { return c.cfg->state.etcd.stale_after; }));
    t.push_back(
        duration_key("state.etcd.lease_ttl", "3s",
                     "Lease of the leader key and of each agent's record: a dead leader is replaced after this.", 2s,
                     10min, [](Ctx& c) -> Duration& { return c.cfg->state.etcd.lease_ttl; }));
    t.push_back(section("agent", "This agent."));
    t.push_back(string_key(
        "agent.name", "", false,
        "Unique name of this agent in the pair (journal, leader, status); default: the host name.",
        [](Ctx& c) -> std::string& { return c.cfg->agent.name; }, "[A-Za-z0-9_.-]{1,64}",
        "1-64 characters from A-Z a-z 0-9 _ . -"));
    // ---- failover
    t.push_back(section("failover", "Health probing and the automatic failover rules (docs/failover.md)."));
    t.push_back(duration_key("failover.interval", "1s", "Time between health rounds (every node probed each round).",
                             100ms, 1h, [](Ctx& c) -> Duration& { return c.cfg->failover.interval; }));
    t.push_back(duration_key("failover.timeout", "800ms",
                             "A probe not answered within this is a timeout; at most the interval.", 10ms, 1h,
                             [](Ctx& c) -> Duration& { return c.cfg->failover.timeout; }));
    t.push_back(int_key("failover.fail_threshold", "3", "rounds",
                        "Consecutive bad rounds (red or unreachable) of the active cluster before it fails over.", 1,
                        100, [](Ctx& c) -> int64_t& { return c.cfg->failover.fail_threshold; }));
    t.push_back(int_key("failover.confirmations", "2", "agents",
                        "With several agents (etcd): how many live agents must each see the active cluster bad for "
                        "fail_threshold rounds (all of them when fewer are alive, at least 1).",
                        1, 100, [](Ctx& c) -> int64_t& { return c.cfg->failover.confirmations; }));
    t.push_back(duration_key(
        "failover.hold_down", "5m",
        "After any transition, no automatic transition for this long (anti-flapping); `haesctl ack` ends it early.",
        0ms, 7 * 24h, [](Ctx& c) -> Duration& { return c.cfg->failover.hold_down; }));
    t.push_back(bool_key("failover.automatic", "true",
                         "false: the agent never changes roles by itself; only operators do.",
                         [](Ctx& c) -> bool& { return c.cfg->failover.automatic; }));
    t.push_back(section("failover.on_role_change", "A command run after every role change (docs/failover.md)."));
    t.push_back(string_key("failover.on_role_change.command", "", false,
                           "Run with /bin/sh -c; HAES_EVENT, HAES_OLD_ACTIVE, HAES_NEW_ACTIVE, HAES_EPOCH, "
                           "HAES_REASON, HAES_CHANGED_BY in its environment.",
                           [](Ctx& c) -> std::string& { return c.cfg->failover.on_role_change_command; }));
    t.push_back(duration_key("failover.on_role_change.timeout", "30s", "The hook is killed after this long.", 100ms, 1h,
                             [](Ctx& c) -> Duration& { return c.cfg->failover.on_role_change_timeout; }));
    // ---- vitals
    t.push_back(section("vitals",
                        "Cluster vitals: every node's disk and heap, the node count, unassigned shards, the "
                        "flood-stage read-only block; read apart from the health rounds, never on the "
                        "verdict path (docs/health.md)."));
    t.push_back(
        duration_key("vitals.interval", "15s",
                     "Time between two reads of a cluster's vitals (one node answering is enough); 0s: not read.", 0ms,
                     1h, [](Ctx& c) -> Duration& { return c.cfg->vitals.interval; }));
    t.push_back(duration_key(
        "vitals.timeout", "5s",
        "Each vitals request not answered within this fails (the next node is tried); at most the interval.", 100ms, 1h,
        [](Ctx& c) -> Duration& { return c.cfg->vitals.timeout; }));
    t.push_back(
        int_key("vitals.disk_warning_percent", "80", "%",
                "A node's disk used over this is a warning in `haesctl status` (the shipped alert rules use the same).",
                1, 100, [](Ctx& c) -> int64_t& { return c.cfg->vitals.disk_warning_percent; }));
    t.push_back(int_key("vitals.disk_critical_percent", "90", "%",
                        "A node's disk used over this is critical; at least disk_warning_percent.", 1, 100,
                        [](Ctx& c) -> int64_t& { return c.cfg->vitals.disk_critical_percent; }));
    t.push_back(int_key("vitals.heap_warning_percent", "85", "%", "A node's heap used over this is a warning.", 1, 100,
                        [](Ctx& c) -> int64_t& { return c.cfg->vitals.heap_warning_percent; }));
    // ---- readiness and drills (docs/readiness.md, docs/drills.md)
    t.push_back(section("readiness",
                        "Passive readiness: could the passive cluster take over now? Judged after every health "
                        "round from the vitals (docs/readiness.md)."));
    t.push_back(int_key("readiness.disk_margin_percent", "10", "%",
                        "Growth allowed for on the passive cluster's disks, in % of the active cluster's synced "
                        "data, before the high watermark.",
                        0, 1000, [](Ctx& c) -> int64_t& { return c.cfg->readiness.disk_margin_percent; }));
    t.push_back(int_key("readiness.doc_count_tolerance_percent", "10", "%",
                        "A synced index on the passive cluster may hold this much fewer documents than on the "
                        "active cluster before readiness says no.",
                        0, 100, [](Ctx& c) -> int64_t& { return c.cfg->readiness.doc_count_tolerance_percent; }));
    t.push_back(section("drill", "DR drills: switchover, write and read check, switchover back (docs/drills.md)."));
    t.push_back(duration_key("drill.interval", "0s",
                             "Time between two scheduled drills; 0s: only on command (`haesctl drill`).", 0ms,
                             365 * 24h, [](Ctx& c) -> Duration& { return c.cfg->drill.interval; }));
    t.push_back(int_key("drill.keep", "10", "", "Drill reports kept (the file beside the state file).", 1, 1000,
                        [](Ctx& c) -> int64_t& { return c.cfg->drill.keep; }));
    t.push_back(int_key("drill.documents", "20", "",
                        "Documents a drill writes to its scratch index on the cluster it moved to, then reads back.", 1,
                        10000, [](Ctx& c) -> int64_t& { return c.cfg->drill.documents; }));
    KeyDef through{"drill.through",
                   Type::kUrl,
                   "",
                   false,
                   "",
                   "The front door clients use (HAProxy's frontend): the drill writes and reads its documents "
                   "through it, and checks they landed on the cluster it moved to and nowhere else. Unset: "
                   "straight to that cluster's nodes. The target cluster's auth and tls settings are used."};
    through.expected = "http(s)://host[:port][/prefix], e.g. http://127.0.0.1:9200";
    through.set = [](Ctx& c, const YAML::Node& n, std::string& exp) {
      std::string why;
      NodeUrl u;
      if (!is_scalar(n) || !parse_node_url(n.Scalar(), u, why)) {
        exp = "http(s)://host[:port][/prefix], e.g. http://127.0.0.1:9200" + why;
        return false;
      }
      c.cfg->drill.through = u;
      return true;
    };
    through.get = [](Ctx& c) { return c.cfg->drill.through ? YAML::Node(c.cfg->drill.through->text) : YAML::Node(); };
    t.push_back(through);
    add_sync_keys(t);
    // ---- log
    t.push_back(section("log", "Logging (to standard error)."));
    t.push_back(typed_enum_key<LogLevel>("log.level", LogLevel::kInfo, "Lowest level logged.",
                                         [](Ctx& c) -> LogLevel& { return c.cfg->log.level; }));
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
