// libFuzzer target: what HAProxy (or anyone) sends to the health port and
// the agent-check port.
//  - http::parse_request (agent/http/request.hpp), the health port's parser;
//  - agent_check_reply (agent/http/agent_check_server.hpp) on the first
//    line of the input as the agent-send string, against a verdict with an
//    active, a passive and a fenced cluster.
// Input: the bytes a client sends.
//
// Invariants:
//  - parse_request never reads past the buffer, and a complete request is
//    well-formed (token method, target starting with '/', HTTP/1.0 or 1.1,
//    length within the buffer and the size limit); an error has its status;
//  - the answer does not depend on how the bytes arrive: the first prefix
//    of the input that parses to something other than "need more" (the
//    moment the server acts) parses to what the whole input parses to;
//  - a complete request parses the same from exactly its own bytes;
//  - the agent-check reply is one line ending in '\n', starting with "up",
//    "down" or "maint", with at most one '#' (HAProxy's comment mark).

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/agent_check_server.hpp"
#include "http/request.hpp"

namespace {

using haes::http::ParseResult;
using haes::http::ParseState;

bool same(const ParseResult& a, const ParseResult& b) {
  if (a.state != b.state) {
    return false;
  }
  if (a.state == ParseState::kError) {
    return a.error_status == b.error_status;
  }
  if (a.state == ParseState::kComplete) {
    return a.request.method == b.request.method && a.request.target == b.request.target &&
           a.request.minor_version == b.request.minor_version && a.request.keep_alive == b.request.keep_alive &&
           a.request.length == b.request.length;
  }
  return true;
}

bool is_token_char(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

void check_request(std::string_view buf) {
  const ParseResult r = haes::http::parse_request(buf);
  switch (r.state) {
    case ParseState::kNeedMore: FUZZ_CHECK(buf.size() < haes::http::kMaxRequestBytes); break;
    case ParseState::kError:
      FUZZ_CHECK(r.error_status == 400 || r.error_status == 413 || r.error_status == 431 || r.error_status == 505,
                 r.error);
      FUZZ_CHECK(!r.error.empty() && haes_fuzz::one_line(r.error), r.error);
      break;
    case ParseState::kComplete: {
      const auto& q = r.request;
      FUZZ_CHECK(q.length > 0 && q.length <= buf.size() && q.length <= haes::http::kMaxRequestBytes);
      FUZZ_CHECK(!q.method.empty() && std::all_of(q.method.begin(), q.method.end(),
                                                  [](char c) { return is_token_char(static_cast<unsigned char>(c)); }),
                 q.method);
      FUZZ_CHECK(!q.target.empty() && q.target[0] == '/', q.target);
      FUZZ_CHECK(q.minor_version == 0 || q.minor_version == 1);
      const ParseResult own = haes::http::parse_request(buf.substr(0, q.length));
      FUZZ_CHECK(same(own, r), buf);
      break;
    }
  }
  if (r.state == ParseState::kNeedMore) {
    return;
  }
  // The shortest prefix that is not "need more" (monotonic: once a prefix
  // holds the end of the head or exceeds the limit, longer ones do too).
  size_t lo = 0, hi = buf.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (haes::http::parse_request(buf.substr(0, mid)).state == ParseState::kNeedMore) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  const ParseResult first = haes::http::parse_request(buf.substr(0, lo));
  FUZZ_CHECK(same(first, r), buf);
}

std::shared_ptr<const haes::Verdict> make_verdict() {
  auto v = std::make_shared<haes::Verdict>();
  v->epoch = 7;
  v->cluster = "dc1";
  v->allow = true;
  v->reason = "dc1 is active";
  auto cluster = [](std::string name, bool active, bool fenced, haes::Health h, std::string reason) {
    haes::ClusterVerdict c;
    c.name = std::move(name);
    c.active = active;
    c.fenced = fenced;
    c.may_take_traffic = active;
    c.health = h;
    c.reason = std::move(reason);
    c.nodes = {{"es1", active, active ? "active" : "not active"},
               {"es2", false, "es2 is unreachable (connect: connection refused\n#2)"}};
    return c;
  };
  v->clusters = {cluster("dc1", true, false, haes::Health::kGreen, "active"),
                 cluster("dc2", false, false, haes::Health::kYellow, "passive"),
                 cluster("dc3", false, true, haes::Health::kRed, "fenced # since epoch 6")};
  return v;
}

void check_agent_check(std::string_view buf) {
  static const auto verdict = make_verdict();
  static haes::HealthCounters counters;
  const std::string_view line = buf.substr(0, buf.find('\n'));
  for (std::string_view local : {std::string_view("dc1/es1"), std::string_view()}) {
    for (bool ready : {false, true}) {
      const std::string reply = haes::agent_check_reply(*verdict, line, local, ready, &counters).line;
      FUZZ_CHECK(!reply.empty() && reply.back() == '\n', reply);
      FUZZ_CHECK(reply.find_first_of("\r\n") == reply.size() - 1, reply);
      FUZZ_CHECK(reply.rfind("up", 0) == 0 || reply.rfind("down", 0) == 0 || reply.rfind("maint", 0) == 0, reply);
      FUZZ_CHECK(std::count(reply.begin(), reply.end(), '#') <= 1, reply);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view buf(reinterpret_cast<const char*>(data), size);
  check_request(buf);
  check_agent_check(buf);
  return 0;
}
