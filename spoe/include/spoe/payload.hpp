#pragma once
/// @file
/// Readers for the three payload kinds of SPOP frames (SPOE.txt §3.2):
/// KV-LIST (HELLO, DISCONNECT), LIST-OF-MESSAGES (NOTIFY), LIST-OF-ACTIONS
/// (ACK), plus HELLO parsing and negotiation. All readers are views over a
/// decoded frame's payload: no allocation, every read bounds-checked, the
/// first error sticks and is a Status (always kInvalid for malformed data).
///
/// Every list reader's next() says one of three things (Next): an item, the
/// clean end of the list, or malformed bytes. "Malformed" is never "no more
/// items": SPOE.txt makes a frame whose payload does not decode an invalid
/// frame (AGENT-DISCONNECT status 4), whatever came before the bad byte.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "spoe/frame.hpp"
#include "spoe/status.hpp"
#include "spoe/value.hpp"

namespace spoe {

/// What a list reader's next() found.
enum class Next : uint8_t {
  kItem,       ///< the out-parameter holds the next item
  kEnd,        ///< the list ended where the payload (or the item count) ends
  kMalformed,  ///< the bytes do not decode; error() is kInvalid, error_detail() says why
};

/// Bounds-checked reading of SPOP primitives.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> data) : data_(data) {}
  bool at_end() const { return pos_ >= data_.size(); }
  bool failed() const { return failed_; }
  size_t position() const { return pos_; }
  /// Why the first failed read failed ("" if none did), and where.
  std::string_view why() const { return why_; }
  size_t failed_at() const { return failed_at_; }

  bool byte(uint8_t& out);
  bool varint(uint64_t& out);
  /// A name: varint length + bytes, no type byte (KV keys, message, argument
  /// and variable names).
  bool name(std::string_view& out);
  /// Typed data.
  bool value(Value& out);
  /// Fails the cursor (the first reason sticks); returns false.
  bool fail(const char* why);

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  size_t failed_at_ = 0;
  const char* why_ = "";
  bool failed_ = false;
};

/// "<why> at byte <n>" for a failed cursor, "" otherwise.
std::string describe_failure(const Cursor& c);

/// Iterates a KV-LIST.
class KvReader {
 public:
  explicit KvReader(std::span<const uint8_t> payload) : cur_(payload) {}
  Next next(std::string_view& key, Value& value);
  Status error() const { return cur_.failed() ? Status::kInvalid : Status::kNormal; }
  /// "item <i>: <why> at byte <n>" once next() returned kMalformed.
  std::string error_detail() const;

 private:
  Cursor cur_;
  size_t index_ = 0;
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
  /// kEnd after `count` arguments; bytes left over after them are malformed.
  Next next(Arg& out);
  Status error() const { return cur_.failed() ? Status::kInvalid : Status::kNormal; }
  std::string error_detail() const { return describe_failure(cur_); }

 private:
  Cursor cur_;
  uint8_t left_ = 0;
};

/// One message of a NOTIFY. Its arguments were validated when it was read
/// (MessageReader), so iterating them never meets malformed bytes.
struct Message {
  std::string_view name;
  uint8_t arg_count = 0;
  std::span<const uint8_t> arg_bytes;

  ArgReader args() const { return ArgReader(arg_bytes, arg_count); }
  /// The first argument with this name, if any.
  bool find_arg(std::string_view arg_name, Value& out) const;
};

/// Iterates the LIST-OF-MESSAGES of a NOTIFY payload. A message is returned
/// only once its name, argument count and every argument decoded.
class MessageReader {
 public:
  explicit MessageReader(std::span<const uint8_t> payload) : cur_(payload), data_(payload) {}
  Next next(Message& out);
  Status error() const { return cur_.failed() ? Status::kInvalid : Status::kNormal; }
  /// "message <i>[, argument <j>]: <why> at byte <n>" once next() returned kMalformed.
  std::string error_detail() const;

 private:
  Cursor cur_;
  std::span<const uint8_t> data_;
  size_t index_ = 0;
  int bad_arg_ = -1;
};

/// Walks a whole NOTIFY payload: kNormal if every message and argument
/// decodes (an empty list is valid), else kInvalid and, if detail is given,
/// what was wrong. The server runs it before a handler sees the frame.
Status validate_messages(std::span<const uint8_t> payload, std::string* detail = nullptr);

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
/// the first unknown or malformed action (kMalformed; error() is kInvalid).
class ActionReader {
 public:
  explicit ActionReader(std::span<const uint8_t> payload) : cur_(payload) {}
  Next next(Action& out);
  Status error() const { return cur_.failed() ? Status::kInvalid : Status::kNormal; }
  std::string error_detail() const { return describe_failure(cur_); }

 private:
  Cursor cur_;
};

/// HAPROXY-HELLO items (SPOE.txt §3.2.4). Keys are matched exactly; unknown
/// keys are skipped. A KV-LIST that does not decode is kInvalid (never a
/// shorter list); `detail`, if given, then says what was wrong.
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
Status parse_haproxy_hello(std::span<const uint8_t> payload, HaproxyHello& out, std::string* detail = nullptr);

/// AGENT-HELLO items (SPOE.txt §3.2.5), for clients (tests, load generator).
struct AgentHello {
  bool has_version = false;
  std::string_view version;
  bool has_max_frame_size = false;
  uint64_t max_frame_size = 0;
  bool has_capabilities = false;
  std::string_view capabilities;
};
Status parse_agent_hello(std::span<const uint8_t> payload, AgentHello& out, std::string* detail = nullptr);

/// HAPROXY-DISCONNECT / AGENT-DISCONNECT items (SPOE.txt §3.2.8-9).
struct Disconnect {
  bool has_status = false;
  uint32_t status_code = 0;
  std::string_view message;
};
Status parse_disconnect(std::span<const uint8_t> payload, Disconnect& out, std::string* detail = nullptr);

/// The outcome of a HELLO handshake, agent side.
struct Negotiated {
  uint32_t max_frame_size = kDefaultMaxFrameSize;  ///< binds both directions
  bool pipelining = false;                         ///< both sides announced it
  bool healthcheck = false;                        ///< answer, then close
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
