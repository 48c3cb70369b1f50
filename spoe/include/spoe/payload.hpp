#pragma once
/// @file
/// Readers for the three payload kinds of SPOP frames (SPOE.txt §3.2):
/// KV-LIST (HELLO, DISCONNECT), LIST-OF-MESSAGES (NOTIFY), LIST-OF-ACTIONS
/// (ACK), plus HELLO parsing and negotiation. All readers are views over a
/// decoded frame's payload: no allocation, every read bounds-checked, the
/// first error sticks and is a Status (always kInvalid for malformed data).

#include <cstdint>
#include <span>
#include <string_view>

#include "spoe/frame.hpp"
#include "spoe/status.hpp"
#include "spoe/value.hpp"

namespace spoe {

/// Bounds-checked reading of SPOP primitives.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> data) : data_(data) {}
  bool at_end() const { return pos_ >= data_.size(); }
  bool failed() const { return failed_; }
  size_t position() const { return pos_; }

  bool byte(uint8_t& out);
  bool varint(uint64_t& out);
  /// A name: varint length + bytes, no type byte (KV keys, message, argument
  /// and variable names).
  bool name(std::string_view& out);
  /// Typed data.
  bool value(Value& out);
  void mark_failed() { failed_ = true; }

 private:
  bool fail() { failed_ = true; return false; }
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool failed_ = false;
};

/// Iterates a KV-LIST.
class KvReader {
 public:
  explicit KvReader(std::span<const uint8_t> payload) : cur_(payload) {}
  /// Next item; false at the end or on error (then error() says which).
  bool next(std::string_view& key, Value& value);
  Status error() const { return cur_.failed() ? Status::kInvalid : Status::kNormal; }

 private:
  Cursor cur_;
};

/// One argument of a NOTIFY message (name empty when unnamed).
struct Arg {
  std::string_view name;
  Value value;
};

/// Iterates the arguments of one message.
class ArgReader {
 public:
  ArgReader() : cur_(std::span<const uint8_t>()) {}
  ArgReader(std::span<const uint8_t> args, uint8_t count) : cur_(args), left_(count) {}
  bool next(Arg& out);
  Status error() const { return cur_.failed() ? Status::kInvalid : Status::kNormal; }

 private:
  Cursor cur_;
  uint8_t left_ = 0;
};

/// One message of a NOTIFY. Its arguments were validated when it was read.
struct Message {
  std::string_view name;
  uint8_t arg_count = 0;
  std::span<const uint8_t> arg_bytes;

  ArgReader args() const { return ArgReader(arg_bytes, arg_count); }
  /// The first argument with this name, if any.
  bool find_arg(std::string_view arg_name, Value& out) const;
};

/// Iterates the LIST-OF-MESSAGES of a NOTIFY payload.
class MessageReader {
 public:
  explicit MessageReader(std::span<const uint8_t> payload) : cur_(payload), data_(payload) {}
  bool next(Message& out);
  Status error() const { return cur_.failed() ? Status::kInvalid : Status::kNormal; }

 private:
  Cursor cur_;
  std::span<const uint8_t> data_;
};

/// ACK action types and variable scopes (SPOE.txt §3.4).
enum class ActionType : uint8_t { kSetVar = 1, kUnsetVar = 2 };
enum class Scope : uint8_t { kProc = 0, kSess = 1, kTxn = 2, kReq = 3, kRes = 4 };
std::string_view to_string(ActionType a);
std::string_view to_string(Scope s);

struct Action {
  ActionType type = ActionType::kSetVar;
  Scope scope = Scope::kTxn;
  std::string_view name;
  Value value;  ///< set-var only
};

/// Iterates the LIST-OF-ACTIONS of an ACK payload. Like HAProxy, it stops at
/// the first unknown or malformed action (error() is then kInvalid).
class ActionReader {
 public:
  explicit ActionReader(std::span<const uint8_t> payload) : cur_(payload) {}
  bool next(Action& out);
  Status error() const { return cur_.failed() ? Status::kInvalid : Status::kNormal; }

 private:
  Cursor cur_;
};

/// HAPROXY-HELLO items (SPOE.txt §3.2.4). Keys are matched exactly; unknown
/// keys are skipped.
struct HaproxyHello {
  bool has_versions = false;
  std::string_view supported_versions;
  bool has_max_frame_size = false;
  uint64_t max_frame_size = 0;
  bool has_capabilities = false;
  std::string_view capabilities;
  std::string_view engine_id;
  bool healthcheck = false;
};
Status parse_haproxy_hello(std::span<const uint8_t> payload, HaproxyHello& out);

/// AGENT-HELLO items (SPOE.txt §3.2.5), for clients (tests, load generator).
struct AgentHello {
  bool has_version = false;
  std::string_view version;
  bool has_max_frame_size = false;
  uint64_t max_frame_size = 0;
  bool has_capabilities = false;
  std::string_view capabilities;
};
Status parse_agent_hello(std::span<const uint8_t> payload, AgentHello& out);

/// HAPROXY-DISCONNECT / AGENT-DISCONNECT items (SPOE.txt §3.2.8-9).
struct Disconnect {
  bool has_status = false;
  uint32_t status_code = 0;
  std::string_view message;
};
Status parse_disconnect(std::span<const uint8_t> payload, Disconnect& out);

/// The outcome of a HELLO handshake, agent side.
struct Negotiated {
  uint32_t max_frame_size = kDefaultMaxFrameSize;  ///< binds both directions
  bool pipelining = false;   ///< both sides announced it
  bool healthcheck = false;  ///< answer, then close
};

/// Agent-side negotiation: version 2.x must be offered (spaces ignored);
/// max-frame-size = min(HAProxy's, ours) and at least 256; capabilities must
/// be present (it may be empty, as in 2.6 health checks).
/// Errors: kNoVersion, kBadVersion, kNoFrameSize, kBadFrameSize, kNoCapabilities.
Status negotiate(const HaproxyHello& hello, uint32_t our_max_frame_size, Negotiated& out);

/// True if a comma-separated list ("2.0, 1.5") offers a 2.x version.
bool offers_version_2(std::string_view versions);
/// True if a comma-separated capability list contains name (spaces ignored).
bool has_capability(std::string_view capabilities, std::string_view name);

}  // namespace spoe
