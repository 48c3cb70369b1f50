#include "http/request.hpp"

#include <algorithm>
#include <cctype>

namespace haes::http {
namespace {

ParseResult fail(int status, std::string why) {
  ParseResult r;
  r.state = ParseState::kError;
  r.error_status = status;
  r.error = std::move(why);
  return r;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

}  // namespace

ParseResult parse_request(std::string_view buf) {
  // Blank lines before the request line are allowed (RFC 9112 §2.2).
  size_t start = 0;
  while (start + 1 < buf.size() && buf[start] == '\r' && buf[start + 1] == '\n') {
    start += 2;
  }
  // The head ends at its first empty line, "\r\n" or a bare "\n" (bare LF
  // line endings are tolerated). The first one, whichever its form: looking
  // for "\r\n\r\n" first made the end depend on how the bytes arrived (a
  // later CRLF pair won over an earlier "\n\n" only when both were in the
  // buffer; found by tests/fuzz/http_request_fuzz.cpp).
  size_t end = std::string_view::npos;
  size_t end_len = 0;
  for (size_t nl = buf.find('\n', start); nl != std::string_view::npos; nl = buf.find('\n', nl + 1)) {
    if (nl + 1 < buf.size() && buf[nl + 1] == '\n') {
      end = nl;
      end_len = 2;
      break;
    }
    if (nl + 2 < buf.size() && buf[nl + 1] == '\r' && buf[nl + 2] == '\n') {
      end = nl;
      end_len = 3;
      break;
    }
  }
  if (end == std::string_view::npos) {
    if (buf.size() >= kMaxRequestBytes) {
      return fail(431, "request header over " + std::to_string(kMaxRequestBytes) + " bytes");
    }
    return ParseResult{};
  }
  if (end + end_len > kMaxRequestBytes) {
    return fail(431, "request header over " + std::to_string(kMaxRequestBytes) + " bytes");
  }
  std::string_view head = buf.substr(start, end - start);
  size_t eol = head.find('\n');
  std::string_view line = trim(head.substr(0, eol));
  size_t sp1 = line.find(' ');
  size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == sp2) {
    return fail(400, "malformed request line");
  }
  ParseResult r;
  r.request.method = std::string(line.substr(0, sp1));
  r.request.target = std::string(trim(line.substr(sp1 + 1, sp2 - sp1 - 1)));
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(r.request.method) || r.request.target.empty() || r.request.target[0] != '/') {
    return fail(400, "malformed request line");
  }
  if (version == "HTTP/1.1") {
    r.request.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    r.request.minor_version = 0;
  } else {
    return fail(505, "only HTTP/1.0 and HTTP/1.1 are served");
  }
  r.request.keep_alive = r.request.minor_version == 1;
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 1);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view h = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    h = trim(h);
    if (h.empty()) {
      continue;
    }
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || !is_token(h.substr(0, colon))) {
      return fail(400, "malformed header line");
    }
    std::string name = lower(h.substr(0, colon));
    std::string value = lower(trim(h.substr(colon + 1)));
    if (name == "connection") {
      if (value.find("close") != std::string::npos) {
        r.request.keep_alive = false;
      } else if (value.find("keep-alive") != std::string::npos) {
        r.request.keep_alive = true;
      }
    } else if ((name == "content-length" && value != "0") || name == "transfer-encoding") {
      return fail(413, "request bodies are not accepted here");
    }
  }
  r.state = ParseState::kComplete;
  r.request.length = end + end_len;
  return r;
}

}  // namespace haes::http
