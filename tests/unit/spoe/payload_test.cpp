#include "spoe/payload.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "golden_frames.hpp"
#include "hex.hpp"
#include "malformed_messages.hpp"
#include "spoe/builder.hpp"

namespace spoe {
namespace {

FrameView frame_of(const std::vector<uint8_t>& bytes) {
  DecodeResult r = decode_frame(bytes, kDefaultMaxFrameSize);
  EXPECT_EQ(r.state, DecodeState::kFrame);
  return r.frame;
}

TEST(HaproxyHello, Golden26) {
  auto bytes = hex(golden::kHaproxyHello);
  HaproxyHello h;
  ASSERT_EQ(parse_haproxy_hello(frame_of(bytes).payload, h), Status::kNormal);
  EXPECT_EQ(h.supported_versions, "2.0");
  EXPECT_EQ(h.max_frame_size, 16380u);
  EXPECT_EQ(h.capabilities, "pipelining,async");
  EXPECT_EQ(h.engine_id, "b3679f4f-a46c-40e1-a79e-05b058e58b1f");
  EXPECT_FALSE(h.healthcheck);
  Negotiated n;
  ASSERT_EQ(negotiate(h, 16380, n), Status::kNormal);
  EXPECT_TRUE(n.pipelining);
  EXPECT_EQ(n.max_frame_size, 16380u);
}

// Pitfall 5: the health-check HELLO has empty capabilities and no engine-id.
TEST(HaproxyHello, Pitfall5_HealthcheckHello26And31) {
  for (const char* g : {golden::kHealthcheckHello, golden::kHealthcheckHello31}) {
    auto bytes = hex(g);
    HaproxyHello h;
    ASSERT_EQ(parse_haproxy_hello(frame_of(bytes).payload, h), Status::kNormal);
    EXPECT_TRUE(h.healthcheck);
    EXPECT_TRUE(h.has_capabilities);
    EXPECT_EQ(h.capabilities, "");
    EXPECT_EQ(h.engine_id, "");
    Negotiated n;
    ASSERT_EQ(negotiate(h, 16380, n), Status::kNormal);
    EXPECT_TRUE(n.healthcheck);
    EXPECT_FALSE(n.pipelining);
  }
}

HaproxyHello hello(std::string_view versions, uint64_t max, std::string_view caps) {
  HaproxyHello h;
  h.has_versions = true;
  h.supported_versions = versions;
  h.has_max_frame_size = true;
  h.max_frame_size = max;
  h.has_capabilities = true;
  h.capabilities = caps;
  return h;
}

// Pitfall 6: version lists with spaces; no 2.x; missing or out-of-range sizes.
TEST(Negotiate, Pitfall6_VersionsAndSizes) {
  Negotiated n;
  EXPECT_EQ(negotiate(hello("2.0, 1.5", 16380, ""), 16380, n), Status::kNormal);
  EXPECT_EQ(negotiate(hello(" 1.0 , 2.1 ", 16380, ""), 16380, n), Status::kNormal);
  EXPECT_EQ(negotiate(hello("1.0", 16380, ""), 16380, n), Status::kBadVersion);
  EXPECT_EQ(negotiate(hello("3.0,1.0", 16380, ""), 16380, n), Status::kBadVersion);
  EXPECT_EQ(negotiate(hello("2", 16380, ""), 16380, n), Status::kBadVersion);
  EXPECT_EQ(negotiate(hello("", 16380, ""), 16380, n), Status::kBadVersion);
  HaproxyHello no_version = hello("2.0", 16380, "");
  no_version.has_versions = false;
  EXPECT_EQ(negotiate(no_version, 16380, n), Status::kNoVersion);
  HaproxyHello no_size = hello("2.0", 16380, "");
  no_size.has_max_frame_size = false;
  EXPECT_EQ(negotiate(no_size, 16380, n), Status::kNoFrameSize);
  EXPECT_EQ(negotiate(hello("2.0", 255, ""), 16380, n), Status::kBadFrameSize);
  HaproxyHello no_caps = hello("2.0", 16380, "");
  no_caps.has_capabilities = false;
  EXPECT_EQ(negotiate(no_caps, 16380, n), Status::kNoCapabilities);
}

TEST(Negotiate, MaxFrameSizeIsTheMinimumOfBoth) {
  Negotiated n;
  ASSERT_EQ(negotiate(hello("2.0", 65532, "pipelining"), 16380, n), Status::kNormal);
  EXPECT_EQ(n.max_frame_size, 16380u);
  ASSERT_EQ(negotiate(hello("2.0", 1024, "pipelining"), 16380, n), Status::kNormal);
  EXPECT_EQ(n.max_frame_size, 1024u);
  ASSERT_EQ(negotiate(hello("2.0", 16380, " async , pipelining "), 16380, n), Status::kNormal);
  EXPECT_TRUE(n.pipelining);
}

TEST(Notify, GoldenMessageWithEveryArgumentType) {
  auto bytes = hex(golden::kNotify);
  MessageReader messages(frame_of(bytes).payload);
  Message m;
  ASSERT_EQ(messages.next(m), Next::kItem);
  EXPECT_EQ(m.name, "haes-route");
  EXPECT_EQ(m.arg_count, 11);
  ArgReader args = m.args();
  Arg a;
  auto next = [&]() {
    EXPECT_EQ(args.next(a), Next::kItem);
    return a;
  };
  EXPECT_EQ(next().name, "cluster");
  EXPECT_EQ(a.value, Value::string("dc1"));
  EXPECT_EQ(next().name, "node");
  EXPECT_EQ(a.value, Value::string("es1"));
  EXPECT_EQ(next().name, "n");
  EXPECT_EQ(a.value.type, DataType::kInt64);
  EXPECT_EQ(a.value.as_int64(), -1);  // pitfall 10: negative INT64
  EXPECT_EQ(next().value, Value::int64(300));
  EXPECT_EQ(next().value, Value::boolean_value(true));
  EXPECT_EQ(next().value, Value::boolean_value(false));  // 0x01, not NULL
  const uint8_t v4[4] = {192, 168, 1, 10};
  EXPECT_EQ(next().value, Value::ipv4(v4));
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(next().value, Value::ipv6(v6));
  EXPECT_EQ(next().value, Value::binary("\xde\xad\xbe\xef"));
  EXPECT_EQ(next().name, "missing");
  EXPECT_EQ(a.value.type, DataType::kNull);
  EXPECT_EQ(next().name, "");  // pitfall 9: unnamed argument
  EXPECT_EQ(a.value, Value::string("GET"));
  EXPECT_EQ(args.next(a), Next::kEnd);
  EXPECT_EQ(args.error(), Status::kNormal);
  EXPECT_EQ(messages.next(m), Next::kEnd);
  EXPECT_EQ(messages.error(), Status::kNormal);

  Value cluster;
  ASSERT_TRUE(m.find_arg("cluster", cluster));
  EXPECT_EQ(cluster.bytes, "dc1");
  EXPECT_FALSE(m.find_arg("absent", cluster));
}

// Pitfall 9: an empty NOTIFY (HAProxy 3.1 sent those) has no message and no error.
TEST(Notify, Pitfall9_EmptyNotify) {
  MessageReader messages(std::span<const uint8_t>{});
  Message m;
  EXPECT_EQ(messages.next(m), Next::kEnd);
  EXPECT_EQ(messages.error(), Status::kNormal);
}

// Pitfall 10: lengths past the payload end, truncated and overlong varints,
// reserved types: all invalid, none read past the buffer.
TEST(Notify, Pitfall10_MalformedPayloadsAreInvalid) {
  for (const char* b : kMalformedMessages) {
    auto bytes = hex(b);
    // A copy without spare capacity lets ASan catch any read past the end.
    std::vector<uint8_t> exact(bytes.begin(), bytes.end());
    exact.shrink_to_fit();
    MessageReader messages(exact);
    Message m;
    while (messages.next(m) == Next::kItem) {
    }
    EXPECT_EQ(messages.error(), Status::kInvalid) << b;
  }
}

TEST(Actions, ReadsWhatTheBuilderWrites) {
  Bytes out;
  FrameBuilder b(out, FrameType::kAck, 7, 9);
  for (uint8_t scope = 0; scope <= 4; ++scope) {
    b.set_var(static_cast<Scope>(scope), "v" + std::to_string(scope), Value::int64(-scope));
  }
  b.unset_var(Scope::kTxn, "cluster");
  ASSERT_GT(b.finish(), 0u);
  DecodeResult r = decode_frame(out, kDefaultMaxFrameSize);
  ASSERT_EQ(r.state, DecodeState::kFrame);
  EXPECT_EQ(r.frame.stream_id, 7u);
  EXPECT_EQ(r.frame.frame_id, 9u);
  ActionReader actions(r.frame.payload);
  Action a;
  for (uint8_t scope = 0; scope <= 4; ++scope) {
    ASSERT_EQ(actions.next(a), Next::kItem);
    EXPECT_EQ(a.type, ActionType::kSetVar);
    EXPECT_EQ(a.scope, static_cast<Scope>(scope));
    EXPECT_EQ(a.name, "v" + std::to_string(scope));
    EXPECT_EQ(a.value.as_int64(), -scope);
  }
  ASSERT_EQ(actions.next(a), Next::kItem);
  EXPECT_EQ(a.type, ActionType::kUnsetVar);
  EXPECT_EQ(a.name, "cluster");
  EXPECT_EQ(actions.next(a), Next::kEnd);
  EXPECT_EQ(actions.error(), Status::kNormal);
}

TEST(Actions, StopsAtTheFirstUnknownActionLikeHaproxy) {
  const auto unknown = hex("09 02 02 01 61    01 03 02 01 62 11");
  ActionReader actions(unknown);
  Action a;
  EXPECT_EQ(actions.next(a), Next::kMalformed);
  EXPECT_EQ(actions.error(), Status::kInvalid);
  const auto scope7 = hex("01 03 07 01 61 11");
  ActionReader bad_scope(scope7);
  EXPECT_EQ(bad_scope.next(a), Next::kMalformed);
  EXPECT_EQ(bad_scope.error(), Status::kInvalid);
}

TEST(Disconnect, Golden26) {
  auto bytes = hex(golden::kHaproxyDisconnect);
  Disconnect d;
  ASSERT_EQ(parse_disconnect(frame_of(bytes).payload, d), Status::kNormal);
  EXPECT_TRUE(d.has_status);
  EXPECT_EQ(d.status_code, 2u);
  EXPECT_EQ(d.message, "a timeout occurred");
}

TEST(AgentHello, MinimalReplyFromTheRegTests) {
  auto bytes = hex(golden::kMinimalAgentHello);
  AgentHello h;
  ASSERT_EQ(parse_agent_hello(frame_of(bytes).payload, h), Status::kNormal);
  EXPECT_EQ(h.version, "2.0");
  EXPECT_EQ(h.max_frame_size, 16380u);
  EXPECT_TRUE(h.has_capabilities);
}

// ---- "end of items" vs "malformed" (SPOE.txt: a payload that does not
// decode makes the frame invalid, whatever decoded before the bad byte)

// The item boundaries of a list: offsets where a cut leaves a valid list.
template <class Walk>
std::vector<size_t> boundaries(std::span<const uint8_t> payload, Walk walk) {
  std::vector<size_t> out{0, payload.size()};
  for (size_t cut = 1; cut < payload.size(); ++cut) {
    if (walk(payload.first(cut))) {
      out.push_back(cut);
    }
  }
  return out;
}

// Every cut of the golden NOTIFY's payload inside its one message is
// malformed: never a shorter list, never a message with fewer arguments.
TEST(Strict, NotifyCutAtEveryOffsetIsMalformed) {
  auto bytes = hex(golden::kNotify);
  const auto payload = frame_of(bytes).payload;
  for (size_t cut = 0; cut <= payload.size(); ++cut) {
    SCOPED_TRACE(cut);
    std::vector<uint8_t> exact(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(cut));
    exact.shrink_to_fit();
    std::string detail;
    const Status st = validate_messages(exact, &detail);
    MessageReader r(exact);
    Message m;
    Next n = r.next(m);
    if (cut == 0) {
      EXPECT_EQ(st, Status::kNormal);
      EXPECT_EQ(n, Next::kEnd);
    } else if (cut == payload.size()) {
      EXPECT_EQ(st, Status::kNormal);
      EXPECT_EQ(n, Next::kItem);
      EXPECT_EQ(r.next(m), Next::kEnd);
    } else {
      EXPECT_EQ(st, Status::kInvalid);
      EXPECT_EQ(n, Next::kMalformed);
      EXPECT_EQ(r.next(m), Next::kMalformed);  // the error sticks
      EXPECT_EQ(r.error(), Status::kInvalid);
      EXPECT_NE(detail.find("message 1"), std::string::npos) << detail;
      EXPECT_EQ(detail, r.error_detail());
    }
  }
}

// Two messages: a cut is valid only at the boundary between them.
TEST(Strict, TwoMessagesAreValidOnlyAtTheirBoundary) {
  Bytes b;
  FrameBuilder f(b, FrameType::kNotify, 1, 1);
  f.message("haes-route", 1).arg("cluster", Value::string("dc1"));
  const size_t first = f.payload_size();
  f.message("other", 2).arg("a", Value::int64(-7)).arg("", Value::boolean_value(true));
  f.finish();
  const auto payload = frame_of(b).payload;
  auto valid = [](std::span<const uint8_t> p) { return validate_messages(p) == Status::kNormal; };
  EXPECT_EQ(boundaries(payload, valid), (std::vector<size_t>{0, payload.size(), first}));
}

TEST(Strict, ErrorDetailsNameTheMessageTheArgumentAndTheByte) {
  std::string detail;
  EXPECT_EQ(validate_messages(hex("01 6d 00  01 6e 02 01 61 03 05  01 62 0b"), &detail), Status::kInvalid);
  EXPECT_EQ(detail, "message 2, argument 2: unknown data type (10-15 are reserved) at byte 12");
  EXPECT_EQ(validate_messages(hex("01 6d 01 01 61 08 05 61 62"), &detail), Status::kInvalid);
  EXPECT_EQ(detail, "message 1, argument 1: length past the payload's end at byte 7");
  EXPECT_EQ(validate_messages(hex("05 68 61"), &detail), Status::kInvalid);
  EXPECT_EQ(detail, "message 1: length past the payload's end at byte 1");
}

// An ArgReader over bytes that hold more than `count` arguments: the extra
// bytes are malformed, not ignored.
TEST(Strict, ArgumentBytesAfterTheCountAreMalformed) {
  const auto args = hex("01 61 03 05  01 62 03 06");
  ArgReader r(args, 1);
  Arg a;
  EXPECT_EQ(r.next(a), Next::kItem);
  EXPECT_EQ(r.next(a), Next::kMalformed);
  EXPECT_NE(r.error_detail().find("bytes after the last argument"), std::string::npos);
}

// HELLO and DISCONNECT KV-lists: a cut inside an item is kInvalid with a
// detail; a cut between items is a valid (shorter) list, which negotiation
// then judges (a missing key has its own status).
TEST(Strict, KvListsCutAtEveryOffset) {
  for (const char* g : {golden::kHaproxyHello, golden::kHealthcheckHello, golden::kHaproxyDisconnect}) {
    auto bytes = hex(g);
    const auto payload = frame_of(bytes).payload;
    auto walk_ok = [](std::span<const uint8_t> p) {
      KvReader r(p);
      std::string_view k;
      Value v;
      Next n;
      while ((n = r.next(k, v)) == Next::kItem) {
      }
      return n == Next::kEnd;
    };
    auto cuts = boundaries(payload, walk_ok);
    for (size_t cut = 1; cut < payload.size(); ++cut) {
      std::vector<uint8_t> exact(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(cut));
      exact.shrink_to_fit();
      const bool boundary = std::find(cuts.begin(), cuts.end(), cut) != cuts.end();
      HaproxyHello h;
      Disconnect d;
      std::string detail;
      EXPECT_EQ(parse_haproxy_hello(exact, h, &detail), boundary ? Status::kNormal : Status::kInvalid) << cut;
      EXPECT_EQ(parse_disconnect(exact, d), boundary ? Status::kNormal : Status::kInvalid) << cut;
      if (!boundary) {
        EXPECT_EQ(detail.rfind("item ", 0), 0u) << detail;
      }
    }
  }
  // The golden HELLO has 4 items: 5 valid cuts (0 and the end included).
  auto hello = hex(golden::kHaproxyHello);
  auto count = boundaries(frame_of(hello).payload, [](std::span<const uint8_t> p) {
    HaproxyHello h;
    return parse_haproxy_hello(p, h) == Status::kNormal;
  });
  EXPECT_EQ(count.size(), 5u);
}

}  // namespace
}  // namespace spoe
