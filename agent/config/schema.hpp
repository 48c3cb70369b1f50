#pragma once
// The schema table (internal to the config component). One KeyDef per key;
// parsing, defaults, rendering and docs all iterate this table.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.hpp"

namespace haes::config_detail {

enum class Type {
  kSection,          // a map of further keys
  kOptionalSection,  // a map whose presence switches a feature on (sync)
  kList,             // a sequence of maps (clusters, nodes)
  kString,
  kInt,
  kBool,
  kDuration,
  kEndpoint,
  kUrl,
  kPath,
  kEnum,
  kOctal,
  kStringList,
  kMap,
};
std::string_view type_name(Type t);

// A node's name (HAProxy's server name): set, or derived from its URL as
// host:port, which must then fit too.
inline constexpr const char* kNodeNamePattern = "[A-Za-z0-9_.:-]{1,64}";
inline constexpr const char* kNodeNameExpected = "1-64 characters from A-Z a-z 0-9 _ . : -";

// Where values go: the config, and the list items being filled.
struct Ctx {
  Config* cfg = nullptr;
  ClusterConfig* cluster = nullptr;
  NodeConfig* node = nullptr;
};

// Parses a YAML value into the config; on failure returns false and sets
// `expected` to what would have been right.
using Setter = std::function<bool(Ctx&, const YAML::Node&, std::string& expected)>;
// The current value, for `show config`; a null node when unset.
using Getter = std::function<YAML::Node(Ctx&)>;

struct KeyDef {
  std::string_view path;  // "failover.interval", "clusters[].nodes[].url"
  Type type;
  std::string_view def;  // YAML text applied before the file's values; "" = no default
  bool required = false;
  std::string_view unit;  // for the docs
  std::string_view help;
  std::string expected;                      // for the docs: range, allowed values, form
  Setter set;                                // scalars only
  Getter get;                                // scalars only
  std::function<void(Ctx&)> add_item;        // kList: append an item and point ctx at it
  std::function<size_t(Ctx&)> count;         // kList: items currently held
  std::function<void(Ctx&, size_t)> select;  // kList: point ctx at item i
  std::function<void(Ctx&)> activate;        // kOptionalSection: create it
  std::function<bool(Ctx&)> present;         // kOptionalSection: exists?
};

const std::vector<KeyDef>& schema();
const KeyDef* find_key(std::string_view path);
// "a.b" -> "a", "a" -> "", "clusters[].name" -> "clusters[]"
std::string_view parent_of(std::string_view path);
std::string_view leaf_of(std::string_view path);

// Value parsers shared by the table and the cross-checks.
bool parse_endpoint(std::string_view text, Endpoint& out);
bool parse_node_url(std::string_view text, NodeUrl& out, std::string& why);

}  // namespace haes::config_detail
