// Parsing of the structured scalar values: endpoints and node URLs.

#include <arpa/inet.h>

#include <charconv>
#include <regex>

#include "config/schema.hpp"

namespace haes {

std::string Endpoint::to_string() const {
  if (host.find(':') != std::string::npos) {
    return "[" + host + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

const ClusterConfig* Config::find_cluster(std::string_view name) const {
  for (const auto& c : clusters) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

const NodeConfig* ClusterConfig::find_node(std::string_view node) const {
  for (const auto& n : nodes) {
    if (n.name == node) {
      return &n;
    }
  }
  return nullptr;
}

namespace config_detail {
namespace {

bool parse_port(std::string_view text, uint16_t& out) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v == 0 || v > 65535 || text.empty() || text[0] == '+') {
    return false;
  }
  out = static_cast<uint16_t>(v);
  return true;
}

bool is_ip(const std::string& host, bool v6) {
  unsigned char buf[16];
  return inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), buf) == 1;
}

}  // namespace

bool parse_endpoint(std::string_view text, Endpoint& out) {
  std::string host;
  std::string_view port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return false;
    }
    host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
    if (!is_ip(host, true)) {
      return false;
    }
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return false;
    }
    host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (host != "localhost" && !is_ip(host, false)) {
      return false;
    }
  }
  Endpoint e;
  e.host = host == "localhost" ? "127.0.0.1" : host;
  if (!parse_port(port, e.port)) {
    return false;
  }
  out = e;
  return true;
}

bool parse_node_url(std::string_view text, NodeUrl& out, std::string& why) {
  NodeUrl u;
  u.text = std::string(text);
  std::string_view rest;
  if (text.substr(0, 7) == "http://") {
    rest = text.substr(7);
  } else if (text.substr(0, 8) == "https://") {
    u.https = true;
    rest = text.substr(8);
  } else {
    why = " (the scheme must be http:// or https://)";
    return false;
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    why = " (no query or fragment)";
    return false;
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    why = " (credentials do not belong in the URL: use the cluster's auth settings)";
    return false;
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        return false;
      }
      port = authority.substr(close + 2);
    }
    if (!is_ip(std::string(host), true)) {
      return false;
    }
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    static const std::regex hostname("[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?");
    if (!std::regex_match(std::string(host), hostname)) {
      why = " (bad host)";
      return false;
    }
  }
  u.host = std::string(host);
  if (!port.empty() && !parse_port(port, u.port)) {
    why = " (bad port)";
    return false;
  }
  while (path.size() > 1 && path.back() == '/') {
    path.remove_suffix(1);
  }
  u.path_prefix = path == "/" ? std::string() : std::string(path);
  out = u;
  return true;
}

}  // namespace config_detail
}  // namespace haes
