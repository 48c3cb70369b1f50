// The health port's request parser (agent/http/request.hpp): where a request
// head ends, whatever the line endings and however the bytes arrive.
#include "http/request.hpp"

#include <gtest/gtest.h>

#include <string>

namespace haes::http {
namespace {

TEST(ParseRequest, CrlfAndBareLfHeadsEnd) {
  auto crlf = parse_request("GET /lb/dc1 HTTP/1.1\r\nHost: haes\r\n\r\nGET /next");
  ASSERT_EQ(crlf.state, ParseState::kComplete);
  EXPECT_EQ(crlf.request.target, "/lb/dc1");
  EXPECT_EQ(crlf.request.length, std::string("GET /lb/dc1 HTTP/1.1\r\nHost: haes\r\n\r\n").size());
  auto lf = parse_request("OPTIONS / HTTP/1.0\n\n");
  ASSERT_EQ(lf.state, ParseState::kComplete);
  EXPECT_EQ(lf.request.length, 20u);
  auto mixed = parse_request("GET / HTTP/1.1\r\nConnection: close\n\r\n");
  ASSERT_EQ(mixed.state, ParseState::kComplete);
  EXPECT_FALSE(mixed.request.keep_alive);
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\nHost: x\r\n").state, ParseState::kNeedMore);
}

// Found by tests/fuzz/http_request_fuzz.cpp: the head ended at the first
// "\r\n\r\n" of the buffer and only without one at "\n\n", so a bare-LF head
// followed by a CRLF blank line parsed as one request when the bytes came
// together and as another when the first part came alone.
TEST(ParseRequest, TheHeadEndsAtItsFirstEmptyLineHoweverTheBytesArrive) {
  const std::string bytes = "GET /metrics HTTP/1.1\r\nAccept: text/plain\n\nX-Later: 1\r\n\r\n";
  const size_t first_head = std::string("GET /metrics HTTP/1.1\r\nAccept: text/plain\n\n").size();
  auto whole = parse_request(bytes);
  ASSERT_EQ(whole.state, ParseState::kComplete);
  EXPECT_EQ(whole.request.length, first_head);
  auto alone = parse_request(bytes.substr(0, first_head));
  ASSERT_EQ(alone.state, ParseState::kComplete);
  EXPECT_EQ(alone.request.length, whole.request.length);
  // Every prefix gives "need more" until the first empty line, then the same request.
  for (size_t n = 0; n <= bytes.size(); ++n) {
    auto p = parse_request(bytes.substr(0, n));
    if (n < first_head) {
      EXPECT_EQ(p.state, ParseState::kNeedMore) << n;
    } else {
      ASSERT_EQ(p.state, ParseState::kComplete) << n;
      EXPECT_EQ(p.request.length, first_head) << n;
    }
  }
}

TEST(ParseRequest, AnOversizedHeadIsRefused) {
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(kMaxRequestBytes, 'a');
  EXPECT_EQ(parse_request(big).error_status, 431);
  EXPECT_EQ(parse_request(big + "\r\n\r\n").error_status, 431);
}

}  // namespace
}  // namespace haes::http
