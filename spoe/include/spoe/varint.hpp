#pragma once
/// @file
/// SPOP variable-length integers ("peers" encoding, HAProxy intops.h):
/// 1 byte below 240, up to 10 bytes for 2^64-1.

#include <cstddef>
#include <cstdint>
#include <span>

namespace spoe {

inline constexpr size_t kMaxVarintSize = 10;

/// Bytes encode_varint() writes for v (1..10).
constexpr size_t varint_size(uint64_t v) {
  if (v < 240) {
    return 1;
  }
  size_t n = 1;
  v = (v - 240) >> 4;
  while (v >= 128) {
    ++n;
    v = (v - 128) >> 7;
  }
  return n + 1;
}

/// Writes v at out (which must have room for varint_size(v) bytes); returns
/// the number of bytes written.
inline size_t encode_varint(uint64_t v, uint8_t* out) {
  if (v < 240) {
    out[0] = static_cast<uint8_t>(v);
    return 1;
  }
  size_t n = 0;
  out[n++] = static_cast<uint8_t>(v) | 0xF0;
  v = (v - 240) >> 4;
  while (v >= 128) {
    out[n++] = static_cast<uint8_t>(v) | 0x80;
    v = (v - 128) >> 7;
  }
  out[n++] = static_cast<uint8_t>(v);
  return n;
}

/// Result of decode_varint(): bytes used, or 0 when the input ends before the
/// varint does (truncated), or kVarintOverlong when it runs past 10 bytes or
/// overflows 64 bits.
inline constexpr size_t kVarintOverlong = static_cast<size_t>(-1);

/// Decodes one varint at the start of in. Never reads past in.
inline size_t decode_varint(std::span<const uint8_t> in, uint64_t& out) {
  if (in.empty()) {
    return 0;
  }
  uint64_t v = in[0];
  if (v < 240) {
    out = v;
    return 1;
  }
  unsigned shift = 4;
  for (size_t i = 1; i < kMaxVarintSize; ++i) {
    if (i >= in.size()) {
      return 0;
    }
    uint64_t b = in[i];
    // The tenth byte may only carry the top bits of a 64-bit value.
    if (shift >= 64 || (shift > 0 && (b << shift) >> shift != b)) {
      return kVarintOverlong;
    }
    uint64_t add = b << shift;
    if (v + add < v) {
      return kVarintOverlong;  // wraps past 2^64-1
    }
    v += add;
    shift += 7;
    if (b < 128) {
      out = v;
      return i + 1;
    }
  }
  return kVarintOverlong;
}

}  // namespace spoe
