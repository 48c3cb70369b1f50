#pragma once
// The pure half of es::NodeClient: what an HTTP answer's status and body
// become (es::Response), and how answer bytes are shown in messages. No I/O;
// fuzzed by tests/fuzz/es_answer_fuzz.cpp (docs/fuzzing.md).
#include <cstddef>
#include <string>
#include <string_view>

#include "es/client.hpp"

namespace haes::es {

// The Response for an HTTP answer (status and body; the caller sets latency
// and product): the body parsed as JSON (null when not JSON), and ES's
// error.type / error.reason for status >= 400. Never throws, for any body.
Response make_response(int status, std::string body);

// At most `max` bytes of `bytes` as text fit for a reason, a log line or a
// JSON string: valid UTF-8 (a byte that is not becomes U+FFFD, a character
// is never cut), CR and LF become spaces, "…" marks a cut.
std::string shown_text(std::string_view bytes, size_t max);

}  // namespace haes::es
