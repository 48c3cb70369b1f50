#pragma once
// Base64 (RFC 4648, with padding): the etcd v3 JSON gateway's keys and values,
// HTTP Basic credentials.
#include <optional>
#include <string>
#include <string_view>

namespace haes {

std::string base64_encode(std::string_view in);
// nullopt: not valid base64 (a bad character, a bad length or padding).
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace haes
