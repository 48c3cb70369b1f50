// The configuration schema's sync section (sync.*, with the two-repository
// copy and CCR mode): appended by schema() in schema.cpp, in this order.

#include "config/schema_keys.hpp"

namespace haes::config_detail {

void add_sync_keys(std::vector<KeyDef>& t) {
  using namespace std::chrono_literals;
  KeyDef sync{"sync", Type::kOptionalSection,
              "",     false,
              "",     "Snapshot sync of the passive cluster from the active one; off when absent (docs/sync.md)."};
  sync.activate = [](Ctx& c) { c.cfg->sync.emplace(); };
  sync.present = [](Ctx& c) { return c.cfg->sync.has_value(); };
  t.push_back(sync);
  t.push_back(duration_key("sync.interval", "5m", "Time between syncs (also `haesctl sync now`).", 10s, 7 * 24h,
                           [](Ctx& c) -> Duration& { return c.cfg->sync->interval; }));
  auto pattern_list = [](std::string_view path, std::string_view help, Field<std::vector<std::string>> field) {
    KeyDef k{path, Type::kStringList, "[\"*\"]", false, "", help};
    k.expected = "a list of index patterns, e.g. [\"logs-*\", \"-logs-tmp*\"]";
    k.set = [field](Ctx& c, const YAML::Node& n, std::string& exp) {
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
      field(c) = out;
      return true;
    };
    k.get = [field](Ctx& c) {
      YAML::Node n;
      for (const auto& s : field(c)) {
        n.push_back(s);
      }
      n.SetStyle(YAML::EmitterStyle::Flow);
      return n;
    };
    return k;
  };
  t.push_back(pattern_list("sync.indices", "Index patterns to sync; `-pattern` excludes.",
                           [](Ctx& c) -> std::vector<std::string>& { return c.cfg->sync->indices; }));
  t.push_back(typed_enum_key<SyncMode>(
      "sync.mode", SyncMode::kSnapshot,
      "`snapshot`: snapshots restored on the passive cluster (docs/sync.md); `ccr`: the passive cluster's "
      "follower indices, promoted on failover (docs/ccr.md). The two are exclusive.",
      [](Ctx& c) -> SyncMode& { return c.cfg->sync->mode; }));
  t.push_back(section("sync.ccr", "Cross-cluster replication (sync.mode: ccr; docs/ccr.md)."));
  t.push_back(pattern_list("sync.ccr.indices",
                           "Leader index patterns followed on the passive cluster; `-pattern` excludes.",
                           [](Ctx& c) -> std::vector<std::string>& { return c.cfg->sync->ccr.indices; }));
  t.push_back(string_key(
      "sync.ccr.remote_alias", "", false,
      "Remote cluster alias, on the passive cluster, of the active one; empty: the active cluster's name.",
      [](Ctx& c) -> std::string& { return c.cfg->sync->ccr.remote_alias; }, "[a-zA-Z0-9_-]{1,100}",
      "letters, digits, _ -"));
  t.push_back(bool_key("sync.ccr.manage", "false",
                       "Create the remote cluster setting, the auto-follow pattern and the missing followers on "
                       "the passive cluster; false: only check them.",
                       [](Ctx& c) -> bool& { return c.cfg->sync->ccr.manage; }));
  t.push_back(duration_key("sync.ccr.poll_interval", "10s", "Time between two reads of the follower stats.", 1s, 1h,
                           [](Ctx& c) -> Duration& { return c.cfg->sync->ccr.poll_interval; }));
  t.push_back(duration_key("sync.ccr.timeout", "30s",
                           "Longest one CCR request (follow stats, one promotion step) may take.", 1s, 1h,
                           [](Ctx& c) -> Duration& { return c.cfg->sync->ccr.timeout; }));
  t.push_back(int_key("sync.ccr.transport_port", "9300", "",
                      "Remote cluster seeds (manage: true): the active cluster's node hosts at this port; 0: "
                      "their HTTP host:port as configured (essim).",
                      0, 65535, [](Ctx& c) -> int64_t& { return c.cfg->sync->ccr.transport_port; }));
  t.push_back(bool_key("sync.ccr.snapshot_before_refollow", "true",
                       "`haesctl ccr refollow` snapshots the indices it deletes into sync.repository.name first.",
                       [](Ctx& c) -> bool& { return c.cfg->sync->ccr.snapshot_before_refollow; }));
  t.push_back(bool_key("sync.include_system_indices", "false", "Also sync system (dot-prefixed) indices.",
                       [](Ctx& c) -> bool& { return c.cfg->sync->include_system_indices; }));
  t.push_back(section("sync.repository", "The snapshot repository both clusters read (with `copy`: one per cluster)."));
  t.push_back(string_key(
      "sync.repository.name", "haes", false, "Repository name in both clusters.",
      [](Ctx& c) -> std::string& { return c.cfg->sync->repository.name; }, "[a-z0-9_.-][a-z0-9_.+-]{0,254}",
      "lowercase letters, digits, _ . + -"));
  t.push_back(typed_enum_key<RepositoryType>("sync.repository.type", RepositoryType::kFs,
                                             "Repository type (`s3` needs ES's repository-s3 support).",
                                             [](Ctx& c) -> RepositoryType& { return c.cfg->sync->repository.type; }));
  KeyDef settings{"sync.repository.settings",
                  Type::kMap,
                  "",
                  false,
                  "",
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
  // sync.repository.copy: two repositories, carried across by rsync.
  KeyDef copy{"sync.repository.copy",
              Type::kOptionalSection,
              "",
              false,
              "",
              "Two repositories, one per site, no shared file system: after each snapshot the agent copies the "
              "active cluster's repository into the passive cluster's with rsync, then restores from it "
              "(docs/sync.md); absent: both clusters share one repository. Type fs only."};
  copy.activate = [](Ctx& c) { c.cfg->sync->repository.copy.emplace(); };
  copy.present = [](Ctx& c) { return c.cfg->sync->repository.copy.has_value(); };
  t.push_back(copy);
  KeyDef locations{"sync.repository.copy.locations",
                   Type::kMap,
                   "",
                   true,
                   "",
                   "Each cluster's repository directory (the one its settings.location names) as the agent reaches "
                   "it: an absolute path, or [user@]host:/absolute/path over ssh; one entry per cluster."};
  constexpr std::string_view kLocationExpected =
      "a map from cluster name to an absolute path or [user@]host:/absolute/path, e.g. "
      "{dc1: /srv/es-repo/haes, dc2: \"es@dc2-es1:/srv/es-repo/haes\"}";
  locations.expected = std::string(kLocationExpected);
  locations.set = [kLocationExpected](Ctx& c, const YAML::Node& n, std::string& exp) {
    exp = std::string(kLocationExpected);
    if (!n.IsMap() || n.size() == 0) {
      return false;
    }
    std::map<std::string, std::string> out;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar() || !kv.second.IsScalar() ||
          !std::regex_match(kv.second.Scalar(), std::regex("(([A-Za-z0-9_.-]+@)?[A-Za-z0-9_.-]+:)?/[^\\s]*"))) {
        return false;
      }
      out[kv.first.Scalar()] = kv.second.Scalar();
    }
    c.cfg->sync->repository.copy->locations = out;
    return true;
  };
  locations.get = [](Ctx& c) {
    YAML::Node n(YAML::NodeType::Map);
    for (const auto& [k, v] : c.cfg->sync->repository.copy->locations) {
      n[k] = v;
    }
    return n;
  };
  t.push_back(locations);
  t.push_back(string_key(
      "sync.repository.copy.rsync_command", "rsync", false,
      "The rsync program: a name looked up in PATH, or a path. Run directly (no shell), one at a time.",
      [](Ctx& c) -> std::string& { return c.cfg->sync->repository.copy->rsync_command; }, "[^\\s]+",
      "a program name or path, without spaces"));
  KeyDef ssh =
      string_key("sync.repository.copy.ssh_command", "", false,
                 "For a host:path location: rsync's remote shell (`rsync -e`), e.g. `ssh -i /etc/haes/id_ed25519 -o "
                 "BatchMode=yes`; empty: rsync's default (ssh).",
                 [](Ctx& c) -> std::string& { return c.cfg->sync->repository.copy->ssh_command; });
  t.push_back(ssh);
  t.push_back(duration_key("sync.repository.copy.timeout", "30m",
                           "Longest one rsync run may take; past it rsync is killed and the sync fails (the next "
                           "sync resumes the copy).",
                           1s, 7 * 24h, [](Ctx& c) -> Duration& { return c.cfg->sync->repository.copy->timeout; }));
  t.push_back(duration_key("sync.repository.copy.io_timeout", "2m",
                           "The other end silent for this long ends the rsync run: rsync --timeout (whole seconds, "
                           "rounded up) and, for a remote location reached with ssh, ssh's keepalive "
                           "(ServerAliveInterval a third of it, ServerAliveCountMax 3). A network cut mid-copy fails "
                           "the sync after about this long instead of after copy.timeout; the next sync resumes the "
                           "copy. 0s: off.",
                           0ms, 24h, [](Ctx& c) -> Duration& { return c.cfg->sync->repository.copy->io_timeout; }));
  t.push_back(int_key("sync.repository.copy.bandwidth_limit", "0", "KiB/s",
                      "rsync's --bwlimit for every copy; 0: no limit.", 0, 100000000,
                      [](Ctx& c) -> int64_t& { return c.cfg->sync->repository.copy->bandwidth_limit; }));
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
}

}  // namespace haes::config_detail
