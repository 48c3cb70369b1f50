#include "spoe/builder.hpp"

#include "spoe/varint.hpp"

namespace spoe {

void append_varint(Bytes& out, uint64_t v) {
  uint8_t tmp[kMaxVarintSize];
  size_t n = encode_varint(v, tmp);
  out.insert(out.end(), tmp, tmp + n);
}

void append_name(Bytes& out, std::string_view name) {
  append_varint(out, name.size());
  out.insert(out.end(), name.begin(), name.end());
}

void append_value(Bytes& out, const Value& v) {
  switch (v.type) {
    case DataType::kNull: out.push_back(0x00); return;
    case DataType::kBool: out.push_back(v.boolean ? 0x11 : 0x01); return;
    case DataType::kInt32:
    case DataType::kUint32:
    case DataType::kInt64:
    case DataType::kUint64:
      out.push_back(static_cast<uint8_t>(v.type));
      append_varint(out, v.integer);
      return;
    case DataType::kIpv4:
      out.push_back(0x06);
      out.insert(out.end(), v.ip.begin(), v.ip.begin() + 4);
      return;
    case DataType::kIpv6:
      out.push_back(0x07);
      out.insert(out.end(), v.ip.begin(), v.ip.end());
      return;
    case DataType::kString:
    case DataType::kBinary:
      out.push_back(static_cast<uint8_t>(v.type));
      append_name(out, v.bytes);
      return;
  }
}

void append_set_var(Bytes& out, Scope scope, std::string_view name, const Value& v) {
  out.push_back(static_cast<uint8_t>(ActionType::kSetVar));
  out.push_back(3);
  out.push_back(static_cast<uint8_t>(scope));
  append_name(out, name);
  append_value(out, v);
}

void append_unset_var(Bytes& out, Scope scope, std::string_view name) {
  out.push_back(static_cast<uint8_t>(ActionType::kUnsetVar));
  out.push_back(2);
  out.push_back(static_cast<uint8_t>(scope));
  append_name(out, name);
}

FrameBuilder::FrameBuilder(Bytes& out, FrameType type, uint64_t stream_id, uint64_t frame_id, uint32_t flags)
    : out_(out), start_(out.size()) {
  out_.resize(start_ + 4);  // LENGTH, filled by finish()
  out_.push_back(static_cast<uint8_t>(type));
  uint8_t f[4];
  write_be32(f, flags);
  out_.insert(out_.end(), f, f + 4);
  append_varint(out_, stream_id);
  append_varint(out_, frame_id);
  payload_start_ = out_.size();
}

FrameBuilder& FrameBuilder::kv(std::string_view key, const Value& v) {
  append_name(out_, key);
  append_value(out_, v);
  return *this;
}

FrameBuilder& FrameBuilder::set_var(Scope scope, std::string_view name, const Value& v) {
  append_set_var(out_, scope, name, v);
  return *this;
}

FrameBuilder& FrameBuilder::unset_var(Scope scope, std::string_view name) {
  append_unset_var(out_, scope, name);
  return *this;
}

FrameBuilder& FrameBuilder::message(std::string_view name, uint8_t nb_args) {
  append_name(out_, name);
  out_.push_back(nb_args);
  return *this;
}

FrameBuilder& FrameBuilder::arg(std::string_view name, const Value& v) { return kv(name, v); }

FrameBuilder& FrameBuilder::raw(std::span<const uint8_t> bytes) {
  out_.insert(out_.end(), bytes.begin(), bytes.end());
  return *this;
}

size_t FrameBuilder::finish(uint32_t max_frame_size) {
  const size_t length = out_.size() - start_ - 4;
  if (length > max_frame_size) {
    cancel();
    return 0;
  }
  write_be32(out_.data() + start_, static_cast<uint32_t>(length));
  return length + 4;
}

void FrameBuilder::cancel() { out_.resize(start_); }

void build_agent_hello(Bytes& out, uint32_t max_frame_size, std::string_view capabilities) {
  FrameBuilder b(out, FrameType::kAgentHello, 0, 0);
  b.kv("version", Value::string("2.0"))
      .kv("max-frame-size", Value::uint32(max_frame_size))
      .kv("capabilities", Value::string(capabilities));
  b.finish();
}

namespace {
void build_disconnect(Bytes& out, FrameType type, Status status, std::string_view message) {
  if (message.size() > kMaxDisconnectMessage) {
    message = message.substr(0, kMaxDisconnectMessage);
  }
  FrameBuilder b(out, type, 0, 0);
  b.kv("status-code", Value::uint32(static_cast<uint32_t>(status))).kv("message", Value::string(message));
  b.finish();
}
}  // namespace

void build_agent_disconnect(Bytes& out, Status status, std::string_view message) {
  build_disconnect(out, FrameType::kAgentDisconnect, status, message);
}

void build_haproxy_disconnect(Bytes& out, Status status, std::string_view message) {
  build_disconnect(out, FrameType::kHaproxyDisconnect, status, message);
}

void build_haproxy_hello(Bytes& out, std::string_view versions, uint32_t max_frame_size, std::string_view capabilities,
                         std::string_view engine_id, bool healthcheck) {
  FrameBuilder b(out, FrameType::kHaproxyHello, 0, 0);
  b.kv("supported-versions", Value::string(versions))
      .kv("max-frame-size", Value::uint32(max_frame_size))
      .kv("capabilities", Value::string(capabilities));
  if (!engine_id.empty()) {
    b.kv("engine-id", Value::string(engine_id));
  }
  if (healthcheck) {
    b.kv("healthcheck", Value::boolean_value(true));
  }
  b.finish();
}

}  // namespace spoe
