#include "spoe/varint.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

#include "hex.hpp"

namespace spoe {
namespace {

std::vector<uint8_t> enc(uint64_t v) {
  std::vector<uint8_t> out(kMaxVarintSize);
  out.resize(encode_varint(v, out.data()));
  return out;
}

// Vectors from HAProxy's intops.h encoding, checked by hand (SPOP-REFERENCE §1.2).
TEST(Varint, KnownEncodings) {
  EXPECT_EQ(enc(0), hex("00"));
  EXPECT_EQ(enc(239), hex("ef"));
  EXPECT_EQ(enc(240), hex("f0 00"));
  EXPECT_EQ(enc(300), hex("fc 03"));
  EXPECT_EQ(enc(2287), hex("ff 7f"));
  EXPECT_EQ(enc(2288), hex("f0 80 00"));
  EXPECT_EQ(enc(16380), hex("fc f0 06"));
  EXPECT_EQ(enc(std::numeric_limits<uint64_t>::max()), hex("ff f0 fe fe fe fe fe fe fe 0e"));
}

TEST(Varint, SizeBoundaries) {
  const std::pair<uint64_t, size_t> bounds[] = {{239, 1},        {240, 2},       {2287, 2},     {2288, 3},
                                                {264431, 3},     {264432, 4},    {33818863, 4}, {33818864, 5},
                                                {4328786159, 5}, {4328786160, 6}};
  for (auto [v, size] : bounds) {
    EXPECT_EQ(varint_size(v), size) << v;
    EXPECT_EQ(enc(v).size(), size) << v;
  }
  EXPECT_EQ(varint_size(std::numeric_limits<uint64_t>::max()), 10u);
}

TEST(Varint, RoundTripsAcrossRanges) {
  std::vector<uint64_t> values;
  for (uint64_t v = 0; v < 70000; ++v) {
    values.push_back(v);
  }
  for (int bit = 0; bit < 64; ++bit) {
    uint64_t p = uint64_t{1} << bit;
    values.insert(values.end(), {p - 1, p, p + 1, ~p});
  }
  values.push_back(static_cast<uint64_t>(-1LL));
  values.push_back(static_cast<uint64_t>(std::numeric_limits<int64_t>::min()));
  for (uint64_t v : values) {
    auto bytes = enc(v);
    ASSERT_EQ(bytes.size(), varint_size(v)) << v;
    uint64_t out = 0;
    ASSERT_EQ(decode_varint(bytes, out), bytes.size()) << v;
    ASSERT_EQ(out, v);
  }
}

TEST(Varint, TruncatedIsNeedMoreNeverARead) {
  auto bytes = enc(std::numeric_limits<uint64_t>::max());
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    uint64_t out = 0;
    EXPECT_EQ(decode_varint(std::span(bytes.data(), cut), out), 0u) << cut;
  }
}

TEST(Varint, OverlongIsRefused) {
  uint64_t out = 0;
  // Eleven continuation bytes: longer than any 64-bit value.
  EXPECT_EQ(decode_varint(hex("ff ff ff ff ff ff ff ff ff ff 00"), out), kVarintOverlong);
  // Ten bytes whose last one carries more than the 4 bits left.
  EXPECT_EQ(decode_varint(hex("ff f0 fe fe fe fe fe fe fe 1e"), out), kVarintOverlong);
  // Ten bytes that wrap past 2^64-1.
  EXPECT_EQ(decode_varint(hex("ff ff fe fe fe fe fe fe fe 0f"), out), kVarintOverlong);
}

}  // namespace
}  // namespace spoe
