#include "spoe/builder.hpp"

#include <gtest/gtest.h>

#include "golden_frames.hpp"
#include "hex.hpp"

namespace spoe {
namespace {

TEST(Builder, AgentHelloMatchesTheMinimalReplyByteForByte) {
  Bytes out;
  build_agent_hello(out, 16380, "");
  EXPECT_EQ(out, hex(golden::kMinimalAgentHello));
}

TEST(Builder, HaproxyHelloRoundTrips) {
  Bytes out;
  build_haproxy_hello(out, "2.0", 16380, "", "", true);
  EXPECT_EQ(out, hex(golden::kHealthcheckHello));  // byte-identical to HAProxy's own
}

TEST(Builder, DisconnectMatchesHaproxysAndCutsLongMessages) {
  Bytes out;
  build_haproxy_disconnect(out, Status::kTimeout, "a timeout occurred");
  EXPECT_EQ(out, hex(golden::kHaproxyDisconnect));

  out.clear();
  build_agent_disconnect(out, Status::kInvalid, std::string(1000, 'x'));
  DecodeResult r = decode_frame(out, kDefaultMaxFrameSize);
  ASSERT_EQ(r.state, DecodeState::kFrame);
  EXPECT_EQ(r.frame.type, FrameType::kAgentDisconnect);
  Disconnect d;
  ASSERT_EQ(parse_disconnect(r.frame.payload, d), Status::kNormal);
  EXPECT_EQ(d.status_code, 4u);
  EXPECT_EQ(d.message.size(), kMaxDisconnectMessage);
}

TEST(Builder, NotifyRoundTripsEveryValueType) {
  const uint8_t v4[4] = {10, 0, 0, 1};
  const uint8_t v6[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  const Value values[] = {Value::null(),
                          Value::boolean_value(true),
                          Value::boolean_value(false),
                          Value::int32(-7),
                          Value::uint32(4'000'000'000u),
                          Value::int64(INT64_MIN),
                          Value::uint64(UINT64_MAX),
                          Value::ipv4(v4),
                          Value::ipv6(v6),
                          Value::string(""),
                          Value::string("dc2"),
                          Value::binary(std::string_view("\0\1\2", 3))};
  Bytes out;
  FrameBuilder b(out, FrameType::kNotify, 300, 2288);
  b.message("haes-route", static_cast<uint8_t>(std::size(values)));
  for (size_t i = 0; i < std::size(values); ++i) {
    b.arg("a" + std::to_string(i), values[i]);
  }
  b.message("other", 0);
  ASSERT_EQ(b.finish(), out.size());
  DecodeResult r = decode_frame(out, kDefaultMaxFrameSize);
  ASSERT_EQ(r.state, DecodeState::kFrame);
  EXPECT_EQ(r.frame.stream_id, 300u);
  EXPECT_EQ(r.frame.frame_id, 2288u);
  MessageReader messages(r.frame.payload);
  Message m;
  ASSERT_EQ(messages.next(m), Next::kItem);
  ArgReader args = m.args();
  Arg a;
  for (size_t i = 0; i < std::size(values); ++i) {
    ASSERT_EQ(args.next(a), Next::kItem) << i;
    EXPECT_EQ(a.name, "a" + std::to_string(i));
    EXPECT_EQ(a.value, values[i]) << i;
  }
  ASSERT_EQ(messages.next(m), Next::kItem);
  EXPECT_EQ(m.name, "other");
  EXPECT_EQ(messages.next(m), Next::kEnd);
  EXPECT_EQ(messages.error(), Status::kNormal);
}

TEST(Builder, BoolFalseIsOneNotNull) {
  Bytes out;
  append_value(out, Value::boolean_value(false));
  EXPECT_EQ(out, hex("01"));
  out.clear();
  append_value(out, Value::boolean_value(true));
  EXPECT_EQ(out, hex("11"));
}

TEST(Builder, AFrameOverTheMaxIsRemovedWhole) {
  Bytes out = {0xaa};  // an earlier frame's byte stays
  FrameBuilder b(out, FrameType::kAck, 1, 1);
  b.set_var(Scope::kTxn, "big", Value::string(std::string(300, 'x')));
  EXPECT_EQ(b.finish(256), 0u);
  EXPECT_EQ(out, Bytes{0xaa});
}

TEST(Builder, SetVarAckMatchesTheReferenceExample) {
  // SPOP-REFERENCE §1.4: sid 1, fid 1, set-var txn active = STRING "dc1".
  Bytes out;
  FrameBuilder b(out, FrameType::kAck, 1, 1);
  b.set_var(Scope::kTxn, "active", Value::string("dc1"));
  b.finish();
  EXPECT_EQ(out, hex("00000016 67 00000001 01 01 | 01 03 02 06 61 63 74 69 76 65 08 03 64 63 31"));
}

}  // namespace
}  // namespace spoe
