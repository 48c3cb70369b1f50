#pragma once
// A strict parser for the requests the health port accepts: a request line
// and headers, no body. Pure: bytes in, a request or "need more" or an
// error status out. HAProxy's `option httpchk` sends e.g.
// "OPTIONS / HTTP/1.0\r\n\r\n" (no Host): that is valid here.

#include <cstddef>
#include <string>
#include <string_view>

namespace haes::http {

inline constexpr size_t kMaxRequestBytes = 8192;

struct Request {
  std::string method;
  std::string target;       // path and query as sent
  int minor_version = 1;    // HTTP/1.<minor>
  bool keep_alive = false;  // what the client asked for, by version and Connection header
  size_t length = 0;        // bytes the request used (up to and including the blank line)
};

enum class ParseState { kComplete, kNeedMore, kError };

struct ParseResult {
  ParseState state = ParseState::kNeedMore;
  Request request;
  int error_status = 0;  // kError: 400, 413 (a body), 431 (too large), 505 (not HTTP/1.x)
  std::string error;     // one line
};

ParseResult parse_request(std::string_view buf);

}  // namespace haes::http
