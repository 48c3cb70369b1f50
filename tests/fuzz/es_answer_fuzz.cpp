// libFuzzer target: Elasticsearch answers, from the bytes of an HTTP answer
// to what the agent concludes from them.
//  - es::make_response (agent/es/response.cpp): body → JSON, ES error type
//    and reason; Response::error_summary(); es::shown_text;
//  - the monitor's judge (agent/monitor/judge.hpp): judge_node on the
//    answer (and on a transport error), judge_cluster on the observations;
//  (The sync's readings of snapshot, restore and _cat answers are inline in
//  agent/sync/es_steps.cpp, not pure functions yet: docs/fuzzing.md.)
// Input: "<status>\n<body>" (an HTTP status in decimal, then the body), or
// "!<error code name>\n<message>" for a request that got no answer.
//
// Invariants:
//  - nothing throws;
//  - error_summary() and every observation's reason are one line of valid
//    UTF-8, whatever the body (they end up in the state record's reason, a
//    proto3 string, and in the status text);
//  - an observation is green/yellow/red with no failure, or unreachable
//    with a typed failure and a reason; green only from a 2xx whose JSON
//    says "status": "green".

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "es/response.hpp"
#include "fuzz_check.hpp"
#include "monitor/judge.hpp"

namespace {

using haes::Health;
using haes::NodeObservation;
using haes::ProbeFailure;

void check_observation(const NodeObservation& o) {
  FUZZ_CHECK(o.health == Health::kGreen || o.health == Health::kYellow || o.health == Health::kRed ||
                 o.health == Health::kUnreachable,
             std::string(to_string(o.health)));
  FUZZ_CHECK((o.failure == ProbeFailure::kNone) == (o.health != Health::kUnreachable), o.reason);
  FUZZ_CHECK(o.health != Health::kUnreachable || !o.reason.empty());
  FUZZ_CHECK(haes_fuzz::one_line(o.reason), o.reason);
  FUZZ_CHECK(haes_fuzz::valid_utf8(o.reason), o.reason);
}

void check_cluster(std::vector<NodeObservation> nodes) {
  Health best = Health::kUnknown;
  for (const auto& n : nodes) {
    if (n.health != Health::kUnreachable && (best == Health::kUnknown || n.health < best)) {
      best = n.health;  // green < yellow < red in the enum: the best answer wins
    }
  }
  auto c = haes::judge_cluster("dc1", std::move(nodes));
  FUZZ_CHECK(c.health == (best == Health::kUnknown ? Health::kUnreachable : best), c.reason);
  FUZZ_CHECK(haes_fuzz::one_line(c.reason), c.reason);
  FUZZ_CHECK(haes_fuzz::valid_utf8(c.reason), c.reason);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  const std::string_view head = in.substr(0, nl);
  const std::string body(nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1));

  if (!head.empty() && head[0] == '!') {
    auto code = haes::enum_from_name<haes::ErrorCode>(head.substr(1));
    haes::Result<haes::es::Response> failed = haes::Error{code.value_or(haes::ErrorCode::kBadResponse), body};
    NodeObservation o = haes::judge_node(failed);
    FUZZ_CHECK(o.health == Health::kUnreachable);
    return 0;  // a transport error's message is the agent's own text
  }
  int status = 0;
  auto [end, ec] = std::from_chars(head.data(), head.data() + head.size(), status);
  if (ec != std::errc() || end != head.data() + head.size() || status < 100 || status > 599) {
    return 0;
  }

  haes::es::Response r = haes::es::make_response(status, body);
  FUZZ_CHECK(r.status == status && r.body == body);
  FUZZ_CHECK(r.json.is_null() || !nlohmann::json::parse(body, nullptr, false).is_discarded());
  FUZZ_CHECK(status >= 400 || (r.es_type.empty() && r.es_reason.empty()), r.es_type);
  const std::string summary = r.error_summary();
  FUZZ_CHECK(summary.rfind("HTTP " + std::to_string(status), 0) == 0, summary);
  FUZZ_CHECK(haes_fuzz::one_line(summary), summary);
  FUZZ_CHECK(haes_fuzz::valid_utf8(summary), summary);

  for (size_t max : {size_t(0), size_t(1), size_t(80), size_t(200)}) {
    const std::string shown = haes::es::shown_text(body, max);
    FUZZ_CHECK(haes_fuzz::one_line(shown) && haes_fuzz::valid_utf8(shown), shown);
    FUZZ_CHECK(shown.size() <= 3 * max + 3, shown);  // U+FFFD is 3 bytes for 1, "…" 3
  }

  const bool green_body = r.json.is_object() && r.json.contains("status") && r.json["status"] == "green";
  NodeObservation o = haes::judge_node(r);
  check_observation(o);
  FUZZ_CHECK(o.health != Health::kGreen || (r.ok() && green_body));
  o.name = "es1";
  NodeObservation down;
  down.name = "es2";
  down.health = Health::kUnreachable;
  down.failure = ProbeFailure::kTimeout;
  down.reason = "no complete answer within the timeout";
  check_cluster({o});
  check_cluster({o, down, o});

  return 0;
}
