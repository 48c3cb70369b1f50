#include "spoe/frame.hpp"

#include <gtest/gtest.h>

#include "golden_frames.hpp"
#include "hex.hpp"
#include "spoe/builder.hpp"
#include "spoe/payload.hpp"

namespace spoe {
namespace {

DecodeResult decode(const std::vector<uint8_t>& b, uint32_t max = kDefaultMaxFrameSize) { return decode_frame(b, max); }

TEST(DecodeFrame, GoldenFramesFromHaproxy26) {
  struct Case {
    const char* hex;
    FrameType type;
    uint64_t sid, fid;
  };
  const Case cases[] = {
      {golden::kHaproxyHello, FrameType::kHaproxyHello, 0, 0},
      {golden::kHealthcheckHello, FrameType::kHaproxyHello, 0, 0},
      {golden::kNotify, FrameType::kNotify, 0, 1},
      {golden::kHaproxyDisconnect, FrameType::kHaproxyDisconnect, 0, 0},
      {golden::kHealthcheckHello31, FrameType::kHaproxyHello, 0, 0},
      {golden::kMinimalAgentHello, FrameType::kAgentHello, 0, 0},
  };
  for (const auto& c : cases) {
    auto bytes = hex(c.hex);
    DecodeResult r = decode(bytes);
    ASSERT_EQ(r.state, DecodeState::kFrame);
    EXPECT_EQ(r.consumed, bytes.size());
    EXPECT_EQ(r.frame.type, c.type);
    EXPECT_TRUE(r.frame.fin());
    EXPECT_FALSE(r.frame.abort());
    EXPECT_EQ(r.frame.stream_id, c.sid);
    EXPECT_EQ(r.frame.frame_id, c.fid);
  }
}

// Beast "parsegrind": every strict prefix needs more, the whole decodes, and
// the payload is the same view whatever the split.
TEST(DecodeFrame, EveryPrefixOfEveryGoldenFrameNeedsMore) {
  for (const char* g :
       {golden::kHaproxyHello, golden::kHealthcheckHello, golden::kNotify, golden::kHaproxyDisconnect}) {
    auto bytes = hex(g);
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      DecodeResult r = decode_frame(std::span(bytes.data(), cut), kDefaultMaxFrameSize);
      ASSERT_EQ(r.state, DecodeState::kNeedMore) << cut;
      if (cut >= 4) {
        EXPECT_EQ(r.needed, bytes.size()) << cut;
      }
    }
  }
}

TEST(DecodeFrame, SeveralFramesInOneBuffer) {
  auto buf = hex(golden::kNotify);
  auto second = hex(golden::kHaproxyDisconnect);
  buf.insert(buf.end(), second.begin(), second.end());
  buf.push_back(0x00);  // the start of a third
  DecodeResult a = decode(buf);
  ASSERT_EQ(a.state, DecodeState::kFrame);
  DecodeResult b = decode_frame(std::span(buf).subspan(a.consumed), kDefaultMaxFrameSize);
  ASSERT_EQ(b.state, DecodeState::kFrame);
  EXPECT_EQ(b.frame.type, FrameType::kHaproxyDisconnect);
  DecodeResult c = decode_frame(std::span(buf).subspan(a.consumed + b.consumed), kDefaultMaxFrameSize);
  EXPECT_EQ(c.state, DecodeState::kNeedMore);
}

// Pitfall 1: a LENGTH over the max is refused before any body is awaited or
// allocated; HTTP and TLS bytes are the usual offenders.
TEST(DecodeFrame, Pitfall1_LengthOverMaxIsTooBigAtOnce) {
  EXPECT_EQ(decode(hex("00 00 3f fd")).error, Status::kTooBig);             // 16381
  EXPECT_EQ(decode(hex("47 45 54 20")).error, Status::kTooBig);             // "GET " = 1195725856
  EXPECT_EQ(decode(hex("16 03 01 06")).error, Status::kTooBig);             // TLS ClientHello
  EXPECT_EQ(decode(hex("00 00 3f fc")).state, DecodeState::kNeedMore);      // 16380 is fine
  EXPECT_EQ(decode_frame(hex("00 00 01 01"), 256).error, Status::kTooBig);  // negotiated 256
}

// Pitfall 2: LENGTH 0-6 or too short for its header.
TEST(DecodeFrame, Pitfall2_TooShortForAHeaderIsInvalid) {
  for (uint8_t len = 0; len < kMinFrameLength; ++len) {
    std::vector<uint8_t> b = {0, 0, 0, len};
    b.resize(4 + len, 0);
    DecodeResult r = decode(b);
    EXPECT_EQ(r.state, DecodeState::kError) << int(len);
    EXPECT_EQ(r.error, Status::kInvalid) << int(len);
  }
  // A stream-id varint that runs past LENGTH.
  EXPECT_EQ(decode(hex("00 00 00 07  03 00 00 00 01  f0 f0")).error, Status::kInvalid);
  // An overlong frame-id varint.
  EXPECT_EQ(decode(hex("00 00 00 11  03 00 00 00 01  00  ff ff ff ff ff ff ff ff ff ff ff")).error, Status::kInvalid);
}

TEST(DecodeFrame, FlagsAreReadBigEndian) {
  auto b = hex("00 00 00 07  03 00 00 00 02  05 07");
  DecodeResult r = decode(b);
  ASSERT_EQ(r.state, DecodeState::kFrame);
  EXPECT_FALSE(r.frame.fin());
  EXPECT_TRUE(r.frame.abort());
  EXPECT_EQ(r.frame.stream_id, 5u);
  EXPECT_EQ(r.frame.frame_id, 7u);
  EXPECT_TRUE(r.frame.payload.empty());
}

TEST(DecodeFrame, UnknownTypesAreKeptForTheServerToJudge) {
  DecodeResult r = decode(hex("00 00 00 07  2a 00 00 00 01  00 00"));
  ASSERT_EQ(r.state, DecodeState::kFrame);
  EXPECT_EQ(r.frame.raw_type, 0x2a);
}

}  // namespace
}  // namespace spoe
