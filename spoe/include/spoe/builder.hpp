#pragma once
/// @file
/// Frame encoding. Encoders append to a caller-owned byte buffer that the
/// caller reuses across frames, so steady-state encoding does not allocate.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "spoe/frame.hpp"
#include "spoe/payload.hpp"
#include "spoe/value.hpp"

namespace spoe {

using Bytes = std::vector<uint8_t>;

void append_varint(Bytes& out, uint64_t v);
/// A name: varint length + bytes (no type byte).
void append_name(Bytes& out, std::string_view name);
/// Typed data.
void append_value(Bytes& out, const Value& v);
/// ACK actions (SPOE.txt §3.4): set-var has 3 args, unset-var 2.
void append_set_var(Bytes& out, Scope scope, std::string_view name, const Value& v);
void append_unset_var(Bytes& out, Scope scope, std::string_view name);

/// Appends one frame to `out`: the constructor writes the header with a
/// placeholder LENGTH, payload calls append, finish() fills LENGTH in.
class FrameBuilder {
 public:
  FrameBuilder(Bytes& out, FrameType type, uint64_t stream_id, uint64_t frame_id, uint32_t flags = kFlagFin);

  FrameBuilder& kv(std::string_view key, const Value& v);
  FrameBuilder& set_var(Scope scope, std::string_view name, const Value& v);
  FrameBuilder& unset_var(Scope scope, std::string_view name);
  FrameBuilder& message(std::string_view name, uint8_t nb_args);
  FrameBuilder& arg(std::string_view name, const Value& v);
  FrameBuilder& raw(std::span<const uint8_t> bytes);

  size_t payload_size() const { return out_.size() - payload_start_; }
  /// Writes LENGTH and returns the frame's size on the wire (4 + LENGTH). If
  /// LENGTH would exceed max_frame_size the frame is removed from `out` and 0
  /// is returned.
  size_t finish(uint32_t max_frame_size = UINT32_MAX);
  /// Removes the partly built frame from `out`.
  void cancel();

 private:
  Bytes& out_;
  size_t start_;
  size_t payload_start_;
};

/// AGENT-HELLO: version "2.0", max-frame-size, capabilities.
void build_agent_hello(Bytes& out, uint32_t max_frame_size, std::string_view capabilities);
/// AGENT-DISCONNECT; message cut to 255 bytes (HAProxy refuses longer ones).
void build_agent_disconnect(Bytes& out, Status status, std::string_view message);
/// HAPROXY-HELLO (for test clients and the load generator).
void build_haproxy_hello(Bytes& out, std::string_view versions, uint32_t max_frame_size, std::string_view capabilities,
                         std::string_view engine_id, bool healthcheck);
/// HAPROXY-DISCONNECT.
void build_haproxy_disconnect(Bytes& out, Status status, std::string_view message);

inline constexpr size_t kMaxDisconnectMessage = 255;

}  // namespace spoe
