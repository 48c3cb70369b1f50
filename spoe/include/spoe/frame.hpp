#pragma once
/// @file
/// SPOP frames on the wire (SPOE.txt §3.2) and the frame decoder.
///
///   <LENGTH:4 bytes BE> <TYPE:1> <FLAGS:4 BE> <STREAM-ID:varint> <FRAME-ID:varint> <PAYLOAD>
///
/// decode_frame() is pure: bytes in, one frame (a view into those bytes) out,
/// or "need more", or a Status. It checks LENGTH against the max frame size
/// before anything else and never allocates.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "spoe/status.hpp"

namespace spoe {

/// Frame type ids (SPOE.txt §3.2.2).
enum class FrameType : uint8_t {
  kUnset = 0,  ///< continuation of a fragmented payload
  kHaproxyHello = 1,
  kHaproxyDisconnect = 2,
  kNotify = 3,
  kAgentHello = 101,
  kAgentDisconnect = 102,
  kAck = 103,
};

std::string_view to_string(FrameType t);

inline constexpr uint32_t kFlagFin = 0x00000001;
inline constexpr uint32_t kFlagAbort = 0x00000002;

/// Smallest frame: type + flags + two one-byte varints.
inline constexpr uint32_t kMinFrameLength = 1 + 4 + 1 + 1;
/// HAProxy's default and the protocol's floor for max-frame-size.
inline constexpr uint32_t kDefaultMaxFrameSize = 16380;
inline constexpr uint32_t kMinMaxFrameSize = 256;

/// A decoded frame header; payload views the caller's buffer.
struct FrameView {
  FrameType type = FrameType::kUnset;
  uint8_t raw_type = 0;  ///< the type byte as received (unknown types kept)
  uint32_t flags = 0;
  uint64_t stream_id = 0;
  uint64_t frame_id = 0;
  std::span<const uint8_t> payload;

  bool fin() const { return (flags & kFlagFin) != 0; }
  bool abort() const { return (flags & kFlagAbort) != 0; }
};

enum class DecodeState { kFrame, kNeedMore, kError };

struct DecodeResult {
  DecodeState state = DecodeState::kNeedMore;
  FrameView frame;                 ///< valid when state == kFrame
  size_t consumed = 0;             ///< bytes of the buffer this frame used (4 + LENGTH)
  size_t needed = 0;               ///< kNeedMore: total bytes the buffer must hold (0: unknown yet)
  Status error = Status::kNormal;  ///< kError: the DISCONNECT status to send
};

/// Decodes the first frame of buf.
/// - LENGTH > max_frame_size → kError kTooBig (before waiting for the body);
/// - LENGTH < kMinFrameLength, or a header varint running past LENGTH → kInvalid;
/// - fewer than 4 + LENGTH bytes → kNeedMore with `needed`.
DecodeResult decode_frame(std::span<const uint8_t> buf, uint32_t max_frame_size);

/// Reads the big-endian LENGTH prefix of buf (which has at least 4 bytes).
inline uint32_t read_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline void write_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace spoe
