#include <cstdlib>
#include <fstream>
#include <sstream>

#include "es/client.hpp"

namespace haes::es {
namespace {

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace

// Reads a secret from a file or an environment variable. `what` names the
// setting in messages; the secret itself never appears in one.
Result<std::string> read_secret(const std::string& file, const std::string& env, std::string_view what) {
  std::string value;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return Error{ErrorCode::kSecretUnreadable, std::string(what) + ": cannot read file " + file};
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    value = ss.str();
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) {
      value.pop_back();
    }
    if (value.empty()) {
      return Error{ErrorCode::kSecretEmpty, std::string(what) + ": file " + file + " is empty"};
    }
  } else if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (v == nullptr || *v == '\0') {
      return Error{ErrorCode::kSecretUnset,
                   std::string(what) + ": environment variable " + env + " is not set or empty"};
    }
    value = v;
  }
  if (value.find('\n') != std::string::npos) {
    return Error{ErrorCode::kSecretInvalid, std::string(what) + ": the secret spans several lines"};
  }
  return value;
}

Result<std::string> authorization_header(const AuthConfig& auth) {
  if (auth.basic()) {
    auto pw = read_secret(auth.password_file, auth.password_env, "auth.password");
    if (!pw) {
      return pw.error();
    }
    return "Basic " + base64(auth.username + ":" + *pw);
  }
  if (auth.api_key()) {
    auto key = read_secret(auth.api_key_file, auth.api_key_env, "auth.api_key");
    if (!key) {
      return key.error();
    }
    return "ApiKey " + (key->find(':') != std::string::npos ? base64(*key) : *key);
  }
  return std::string();
}

}  // namespace haes::es
