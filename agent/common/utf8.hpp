#pragma once
// Text the agent did not write itself (Elasticsearch answers, operators'
// reasons) made fit for what needs valid UTF-8: proto3 string fields (the
// state file and journal: a record that is not UTF-8 does not parse back),
// JSON output, logs. Found by the fuzz targets (docs/fuzzing.md).
#include <cstddef>
#include <string>
#include <string_view>

namespace haes {

// The length of the well-formed UTF-8 character at the start of `s` (RFC
// 3629: no overlong form, no surrogate, at most U+10FFFF), or 0 when `s` is
// empty or does not start with one.
size_t utf8_char_length(std::string_view s);

// `s` with every byte that does not belong to a well-formed character
// replaced by U+FFFD; `s` unchanged when it is valid UTF-8.
std::string valid_utf8(std::string_view s);

}  // namespace haes
