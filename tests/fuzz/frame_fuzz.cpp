// libFuzzer target: the SPOP frame decoder and every payload reader.
// Arbitrary bytes must never crash, read out of bounds, loop, or allocate from
// an untrusted length; a frame that decodes must re-encode to a frame that
// decodes to the same values. The strict paths: validate_messages (what the
// server runs before a handler) agrees with a MessageReader walk, a
// malformed list always says why, and a KV walk agrees with the HELLO and
// DISCONNECT parsers (malformed is kInvalid, never a shorter list).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "spoe/builder.hpp"
#include "spoe/frame.hpp"
#include "spoe/payload.hpp"

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

// Re-encodes a NOTIFY's messages and checks the copy reads back the same.
void roundtrip_notify(const spoe::FrameView& f) {
  spoe::Bytes out;
  spoe::FrameBuilder b(out, spoe::FrameType::kNotify, f.stream_id, f.frame_id);
  spoe::MessageReader messages(f.payload);
  spoe::Message m;
  while (messages.next(m) == spoe::Next::kItem) {
    b.message(m.name, m.arg_count);
    spoe::ArgReader args = m.args();
    spoe::Arg a;
    while (args.next(a) == spoe::Next::kItem) {
      b.arg(a.name, a.value);
    }
    check(args.error() == spoe::Status::kNormal);
  }
  if (messages.error() != spoe::Status::kNormal) {
    return;
  }
  b.finish();
  spoe::DecodeResult again = spoe::decode_frame(out, UINT32_MAX);
  check(again.state == spoe::DecodeState::kFrame);
  spoe::MessageReader a1(f.payload), a2(again.frame.payload);
  spoe::Message m1, m2;
  while (a1.next(m1) == spoe::Next::kItem) {
    check(a2.next(m2) == spoe::Next::kItem);
    check(m1.name == m2.name && m1.arg_count == m2.arg_count);
    spoe::ArgReader r1 = m1.args(), r2 = m2.args();
    spoe::Arg x, y;
    while (r1.next(x) == spoe::Next::kItem) {
      check(r2.next(y) == spoe::Next::kItem);
      check(x.name == y.name && x.value == y.value);
    }
  }
  check(a2.next(m2) == spoe::Next::kEnd);
}

// validate_messages, a MessageReader walk and the ArgReaders of each
// message tell the same story; "malformed" is sticky and explained.
void strict_notify(std::span<const uint8_t> payload) {
  std::string detail;
  const spoe::Status st = spoe::validate_messages(payload, &detail);
  spoe::MessageReader r(payload);
  spoe::Message m;
  spoe::Next n;
  while ((n = r.next(m)) == spoe::Next::kItem) {
    spoe::ArgReader args = m.args();
    spoe::Arg a;
    size_t count = 0;
    spoe::Next an;
    while ((an = args.next(a)) == spoe::Next::kItem) {
      ++count;
    }
    check(an == spoe::Next::kEnd && count == m.arg_count);  // validated when the message was read
  }
  check((n == spoe::Next::kEnd) == (st == spoe::Status::kNormal));
  if (n == spoe::Next::kMalformed) {
    check(!detail.empty() && detail == r.error_detail());
    check(r.next(m) == spoe::Next::kMalformed && r.error() == spoe::Status::kInvalid);
  }
}

// A KV walk ends kEnd exactly when the HELLO and DISCONNECT parsers accept.
void strict_kv(std::span<const uint8_t> payload) {
  spoe::KvReader r(payload);
  std::string_view k;
  spoe::Value v;
  spoe::Next n;
  while ((n = r.next(k, v)) == spoe::Next::kItem) {
  }
  spoe::HaproxyHello h;
  spoe::AgentHello ah;
  spoe::Disconnect d;
  std::string detail;
  const spoe::Status want = n == spoe::Next::kEnd ? spoe::Status::kNormal : spoe::Status::kInvalid;
  check(spoe::parse_haproxy_hello(payload, h, &detail) == want);
  check(spoe::parse_agent_hello(payload, ah) == want);
  check(spoe::parse_disconnect(payload, d) == want);
  check((want == spoe::Status::kInvalid) == !detail.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> buf(data, size);
  for (uint32_t max : {spoe::kMinMaxFrameSize, spoe::kDefaultMaxFrameSize, 65532u}) {
    size_t pos = 0;
    while (pos < buf.size()) {
      spoe::DecodeResult r = spoe::decode_frame(buf.subspan(pos), max);
      if (r.state != spoe::DecodeState::kFrame) {
        check(r.state == spoe::DecodeState::kNeedMore || r.error != spoe::Status::kNormal);
        break;
      }
      check(r.consumed > 0 && r.consumed <= buf.size() - pos);
      const spoe::FrameView& f = r.frame;
      spoe::HaproxyHello hello;
      if (spoe::parse_haproxy_hello(f.payload, hello) == spoe::Status::kNormal) {
        spoe::Negotiated n;
        if (spoe::negotiate(hello, max, n) == spoe::Status::kNormal) {
          check(n.max_frame_size >= spoe::kMinMaxFrameSize && n.max_frame_size <= max);
        }
      }
      spoe::Disconnect d;
      spoe::parse_disconnect(f.payload, d);
      spoe::ActionReader actions(f.payload);
      spoe::Action a;
      while (actions.next(a) == spoe::Next::kItem) {
      }
      roundtrip_notify(f);
      strict_notify(f.payload);
      strict_kv(f.payload);
      pos += r.consumed;
    }
  }
  return 0;
}
