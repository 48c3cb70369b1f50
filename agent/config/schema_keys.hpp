#pragma once
// The key builders of the configuration schema (schema.cpp, schema_sync.cpp):
// one function per kind of key, each giving a KeyDef its parser, its
// renderer and what it expects. Internal to agent/config.

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.hpp"

namespace haes::config_detail {

template <class T>
using Field = T& (*)(Ctx&);

inline bool is_scalar(const YAML::Node& n) { return n.IsScalar(); }

inline KeyDef section(std::string_view path, std::string_view help, bool required = false) {
  KeyDef k{path, Type::kSection};
  k.help = help;
  k.required = required;
  return k;
}

inline KeyDef string_key(std::string_view path, std::string_view def, bool required, std::string_view help,
                         Field<std::string> field, const std::string& pattern = "",
                         const std::string& expected = "a non-empty string") {
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

inline KeyDef path_key(std::string_view path, std::string_view def, std::string_view help, Field<std::string> field) {
  KeyDef k = string_key(path, def, false, help, field, "", "a file system path");
  k.type = Type::kPath;
  return k;
}

inline KeyDef int_key(std::string_view path, std::string_view def, std::string_view unit, std::string_view help,
                      int64_t min, int64_t max, Field<int64_t> field) {
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

inline KeyDef bool_key(std::string_view path, std::string_view def, std::string_view help, Field<bool> field) {
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

inline KeyDef duration_key(std::string_view path, std::string_view def, std::string_view help, Duration min,
                           Duration max, Field<Duration> field) {
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

inline KeyDef endpoint_key(std::string_view path, bool required, std::string_view help, Field<Endpoint> field) {
  KeyDef k{path, Type::kEndpoint, "", required, "", help};
  k.expected = std::string(kEndpointExpected);
  k.set = [field](Ctx& c, const YAML::Node& n, std::string& exp) {
    exp = std::string(kEndpointExpected);
    return is_scalar(n) && parse_endpoint(n.Scalar(), field(c));
  };
  k.get = [field](Ctx& c) { return YAML::Node(field(c).to_string()); };
  return k;
}

inline KeyDef optional_endpoint_key(std::string_view path, std::string_view help,
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
  k.get = [field](Ctx& c) { return field(c) ? YAML::Node(field(c)->to_string()) : YAML::Node(); };
  return k;
}

// An enum-valued key: the accepted names are the enum's name table.
template <NamedEnum E>
inline KeyDef typed_enum_key(std::string_view path, E def, std::string_view help, Field<E> field) {
  KeyDef k{path, Type::kEnum, to_string(def), false, "", help};
  std::string expected = "one of:";
  for (E v : enum_values<E>()) {
    expected += " " + std::string(to_string(v));
  }
  k.expected = expected;
  k.set = [=](Ctx& c, const YAML::Node& n, std::string& exp) {
    exp = expected;
    auto v = is_scalar(n) ? enum_from_name<E>(n.Scalar()) : std::nullopt;
    if (!v) {
      return false;
    }
    field(c) = *v;
    return true;
  };
  k.get = [field](Ctx& c) { return YAML::Node(std::string(to_string(field(c)))); };
  return k;
}

inline KeyDef list(std::string_view path, bool required, std::string_view help) {
  KeyDef k{path, Type::kList, "", required, "", help};
  return k;
}

// Resolves a cluster-scoped field.
template <class T>
using ClusterField = T ClusterConfig::*;

// The sync section's keys (schema_sync.cpp), appended to the table in order.
void add_sync_keys(std::vector<KeyDef>& t);

}  // namespace haes::config_detail
