#include "spoe/frame.hpp"

#include "spoe/varint.hpp"

namespace spoe {

std::string_view to_string(FrameType t) {
  switch (t) {
    case FrameType::kUnset: return "UNSET";
    case FrameType::kHaproxyHello: return "HAPROXY-HELLO";
    case FrameType::kHaproxyDisconnect: return "HAPROXY-DISCONNECT";
    case FrameType::kNotify: return "NOTIFY";
    case FrameType::kAgentHello: return "AGENT-HELLO";
    case FrameType::kAgentDisconnect: return "AGENT-DISCONNECT";
    case FrameType::kAck: return "ACK";
  }
  return "UNKNOWN";
}

DecodeResult decode_frame(std::span<const uint8_t> buf, uint32_t max_frame_size) {
  DecodeResult r;
  if (buf.size() < 4) {
    r.state = DecodeState::kNeedMore;
    return r;
  }
  const uint32_t length = read_be32(buf.data());
  if (length > max_frame_size) {
    r.state = DecodeState::kError;
    r.error = Status::kTooBig;
    return r;
  }
  if (length < kMinFrameLength) {
    r.state = DecodeState::kError;
    r.error = Status::kInvalid;
    return r;
  }
  const size_t total = size_t{4} + length;
  if (buf.size() < total) {
    r.state = DecodeState::kNeedMore;
    r.needed = total;
    return r;
  }
  std::span<const uint8_t> frame = buf.subspan(4, length);
  FrameView f;
  f.raw_type = frame[0];
  f.type = static_cast<FrameType>(frame[0]);
  f.flags = read_be32(frame.data() + 1);
  size_t pos = 5;
  size_t n = decode_varint(frame.subspan(pos), f.stream_id);
  if (n == 0 || n == kVarintOverlong) {
    r.state = DecodeState::kError;
    r.error = Status::kInvalid;
    return r;
  }
  pos += n;
  n = decode_varint(frame.subspan(pos), f.frame_id);
  if (n == 0 || n == kVarintOverlong) {
    r.state = DecodeState::kError;
    r.error = Status::kInvalid;
    return r;
  }
  pos += n;
  f.payload = frame.subspan(pos);
  r.state = DecodeState::kFrame;
  r.frame = f;
  r.consumed = total;
  return r;
}

}  // namespace spoe
