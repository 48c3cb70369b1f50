#include "spoe/payload.hpp"

#include <cstring>

#include "spoe/varint.hpp"

namespace spoe {

// ---- Cursor ---------------------------------------------------------------

bool Cursor::fail(const char* why) {
  if (!failed_) {
    failed_ = true;
    why_ = why;
    failed_at_ = pos_;
  }
  return false;
}

bool Cursor::byte(uint8_t& out) {
  if (failed_) {
    return false;
  }
  if (pos_ >= data_.size()) {
    return fail("payload ends inside an item");
  }
  out = data_[pos_++];
  return true;
}

bool Cursor::varint(uint64_t& out) {
  if (failed_) {
    return false;
  }
  size_t n = decode_varint(data_.subspan(pos_), out);
  if (n == 0) {
    return fail("payload ends inside a varint");
  }
  if (n == kVarintOverlong) {
    return fail("varint longer than 10 bytes");
  }
  pos_ += n;
  return true;
}

bool Cursor::name(std::string_view& out) {
  uint64_t len = 0;
  if (!varint(len)) {
    return false;
  }
  if (len > data_.size() - pos_) {
    return fail("length past the payload's end");  // never trusted, never allocated
  }
  out = std::string_view(reinterpret_cast<const char*>(data_.data() + pos_), static_cast<size_t>(len));
  pos_ += static_cast<size_t>(len);
  return true;
}

bool Cursor::value(Value& out) {
  uint8_t tb = 0;
  if (!byte(tb)) {
    return false;
  }
  out = Value{};
  const uint8_t type = tb & 0x0F;
  const uint8_t flags = tb >> 4;
  switch (type) {
    case 0: out.type = DataType::kNull; return true;
    case 1:
      out.type = DataType::kBool;
      out.boolean = (flags & 0x1) != 0;
      return true;
    case 2:
    case 3:
    case 4:
    case 5: out.type = static_cast<DataType>(type); return varint(out.integer);
    case 6:
    case 7: {
      const size_t n = type == 6 ? 4 : 16;
      if (data_.size() - pos_ < n) {
        return fail("payload ends inside an IP address");
      }
      out.type = static_cast<DataType>(type);
      std::memcpy(out.ip.data(), data_.data() + pos_, n);
      pos_ += n;
      return true;
    }
    case 8:
    case 9: out.type = static_cast<DataType>(type); return name(out.bytes);
    default:
      --pos_;  // point at the type byte
      return fail("unknown data type (10-15 are reserved)");
  }
}

std::string describe_failure(const Cursor& c) {
  if (!c.failed()) {
    return {};
  }
  return std::string(c.why()) + " at byte " + std::to_string(c.failed_at());
}

// ---- KV lists, messages, actions ------------------------------------------

Next KvReader::next(std::string_view& key, Value& value) {
  if (cur_.failed()) {
    return Next::kMalformed;
  }
  if (cur_.at_end()) {
    return Next::kEnd;
  }
  if (!cur_.name(key) || !cur_.value(value)) {
    return Next::kMalformed;
  }
  ++index_;
  return Next::kItem;
}

std::string KvReader::error_detail() const {
  return cur_.failed() ? "item " + std::to_string(index_ + 1) + ": " + describe_failure(cur_) : std::string();
}

Next ArgReader::next(Arg& out) {
  if (cur_.failed()) {
    return Next::kMalformed;
  }
  if (left_ == 0) {
    if (!cur_.at_end()) {
      cur_.fail("bytes after the last argument");
      return Next::kMalformed;
    }
    return Next::kEnd;
  }
  --left_;
  if (!cur_.name(out.name) || !cur_.value(out.value)) {
    return Next::kMalformed;
  }
  return Next::kItem;
}

bool Message::find_arg(std::string_view arg_name, Value& out) const {
  ArgReader r = args();
  Arg a;
  while (r.next(a) == Next::kItem) {
    if (a.name == arg_name) {
      out = a.value;
      return true;
    }
  }
  return false;
}

Next MessageReader::next(Message& out) {
  if (cur_.failed()) {
    return Next::kMalformed;
  }
  if (cur_.at_end()) {
    return Next::kEnd;
  }
  uint8_t count = 0;
  if (!cur_.name(out.name) || !cur_.byte(count)) {
    return Next::kMalformed;
  }
  out.arg_count = count;
  const size_t args_start = cur_.position();
  // Validate every argument now, so the reader can move to the next message
  // and the caller can iterate this one's arguments without error checks.
  for (uint8_t i = 0; i < count; ++i) {
    std::string_view name;
    Value v;
    if (!cur_.name(name) || !cur_.value(v)) {
      bad_arg_ = i;
      return Next::kMalformed;
    }
  }
  out.arg_bytes = data_.subspan(args_start, cur_.position() - args_start);
  ++index_;
  return Next::kItem;
}

std::string MessageReader::error_detail() const {
  if (!cur_.failed()) {
    return {};
  }
  std::string s = "message " + std::to_string(index_ + 1);
  if (bad_arg_ >= 0) {
    s += ", argument " + std::to_string(bad_arg_ + 1);
  }
  return s + ": " + describe_failure(cur_);
}

Status validate_messages(std::span<const uint8_t> payload, std::string* detail) {
  MessageReader r(payload);
  Message m;
  Next n;
  while ((n = r.next(m)) == Next::kItem) {
  }
  if (n == Next::kMalformed) {
    if (detail != nullptr) {
      *detail = r.error_detail();
    }
    return Status::kInvalid;
  }
  return Status::kNormal;
}

std::string_view to_string(ActionType a) {
  switch (a) {
    case ActionType::kSetVar: return "set-var";
    case ActionType::kUnsetVar: return "unset-var";
  }
  return "unknown";
}

std::string_view to_string(Scope s) {
  switch (s) {
    case Scope::kProc: return "proc";
    case Scope::kSess: return "sess";
    case Scope::kTxn: return "txn";
    case Scope::kReq: return "req";
    case Scope::kRes: return "res";
  }
  return "unknown";
}

Next ActionReader::next(Action& out) {
  if (cur_.failed()) {
    return Next::kMalformed;
  }
  if (cur_.at_end()) {
    return Next::kEnd;
  }
  uint8_t type = 0, nb = 0, scope = 0;
  if (!cur_.byte(type) || !cur_.byte(nb) || !cur_.byte(scope)) {
    return Next::kMalformed;
  }
  if (scope > static_cast<uint8_t>(Scope::kRes)) {
    cur_.fail("unknown variable scope");  // stop, like HAProxy
    return Next::kMalformed;
  }
  out.scope = static_cast<Scope>(scope);
  out.value = Value{};
  if (type == static_cast<uint8_t>(ActionType::kSetVar) && nb == 3) {
    out.type = ActionType::kSetVar;
    return cur_.name(out.name) && cur_.value(out.value) ? Next::kItem : Next::kMalformed;
  }
  if (type == static_cast<uint8_t>(ActionType::kUnsetVar) && nb == 2) {
    out.type = ActionType::kUnsetVar;
    return cur_.name(out.name) ? Next::kItem : Next::kMalformed;
  }
  // Unknown action or wrong argument count: malformed, stop here.
  cur_.fail("unknown action or wrong argument count");
  return Next::kMalformed;
}

// ---- HELLO / DISCONNECT ---------------------------------------------------

namespace {

bool integer_value(const Value& v, uint64_t& out) {
  if (!v.is_integer()) {
    return false;
  }
  out = v.integer;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

template <class Fn>
void for_each_item(std::string_view list, Fn fn) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    if (!item.empty()) {
      fn(item);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
}

// The outcome of a KV-LIST walk: kInvalid (with what was wrong) if it ended
// on malformed bytes, never a silently shorter list.
Status kv_result(const KvReader& r, Next last, std::string* detail) {
  if (last == Next::kMalformed) {
    if (detail != nullptr) {
      *detail = r.error_detail();
    }
    return Status::kInvalid;
  }
  return Status::kNormal;
}

}  // namespace

Status parse_haproxy_hello(std::span<const uint8_t> payload, HaproxyHello& out, std::string* detail) {
  out = HaproxyHello{};
  KvReader r(payload);
  std::string_view key;
  Value v;
  Next n;
  while ((n = r.next(key, v)) == Next::kItem) {
    if (key == "supported-versions" && v.is_text()) {
      out.has_versions = true;
      out.supported_versions = v.bytes;
    } else if (key == "max-frame-size" && integer_value(v, out.max_frame_size)) {
      out.has_max_frame_size = true;
    } else if (key == "capabilities" && v.is_text()) {
      out.has_capabilities = true;
      out.capabilities = v.bytes;
    } else if (key == "engine-id" && v.is_text()) {
      out.engine_id = v.bytes;
    } else if (key == "healthcheck" && v.type == DataType::kBool) {
      out.healthcheck = v.boolean;
    }
  }
  return kv_result(r, n, detail);
}

Status parse_agent_hello(std::span<const uint8_t> payload, AgentHello& out, std::string* detail) {
  out = AgentHello{};
  KvReader r(payload);
  std::string_view key;
  Value v;
  Next n;
  while ((n = r.next(key, v)) == Next::kItem) {
    if (key == "version" && v.is_text()) {
      out.has_version = true;
      out.version = v.bytes;
    } else if (key == "max-frame-size" && integer_value(v, out.max_frame_size)) {
      out.has_max_frame_size = true;
    } else if (key == "capabilities" && v.is_text()) {
      out.has_capabilities = true;
      out.capabilities = v.bytes;
    }
  }
  return kv_result(r, n, detail);
}

Status parse_disconnect(std::span<const uint8_t> payload, Disconnect& out, std::string* detail) {
  out = Disconnect{};
  KvReader r(payload);
  std::string_view key;
  Value v;
  Next n;
  while ((n = r.next(key, v)) == Next::kItem) {
    uint64_t code = 0;
    if (key == "status-code" && integer_value(v, code)) {
      out.has_status = true;
      out.status_code = static_cast<uint32_t>(code);
    } else if (key == "message" && v.is_text()) {
      out.message = v.bytes;
    }
  }
  return kv_result(r, n, detail);
}

bool offers_version_2(std::string_view versions) {
  bool found = false;
  for_each_item(versions, [&](std::string_view item) {
    // "Major.Minor"; a major 2 means every 2.x minor we might speak.
    size_t dot = item.find('.');
    std::string_view major = item.substr(0, dot);
    if (major == "2" && dot != std::string_view::npos && dot + 1 < item.size()) {
      found = true;
    }
  });
  return found;
}

bool has_capability(std::string_view capabilities, std::string_view name) {
  bool found = false;
  for_each_item(capabilities, [&](std::string_view item) { found = found || item == name; });
  return found;
}

Status negotiate(const HaproxyHello& hello, uint32_t our_max_frame_size, Negotiated& out) {
  out = Negotiated{};
  if (!hello.has_versions) {
    return Status::kNoVersion;
  }
  if (!offers_version_2(hello.supported_versions)) {
    return Status::kBadVersion;
  }
  if (!hello.has_max_frame_size) {
    return Status::kNoFrameSize;
  }
  if (hello.max_frame_size < kMinMaxFrameSize) {
    return Status::kBadFrameSize;
  }
  if (!hello.has_capabilities) {
    return Status::kNoCapabilities;
  }
  uint64_t size = hello.max_frame_size;
  if (our_max_frame_size < size) {
    size = our_max_frame_size;
  }
  out.max_frame_size = static_cast<uint32_t>(size < kMinMaxFrameSize ? kMinMaxFrameSize : size);
  out.pipelining = has_capability(hello.capabilities, "pipelining");
  out.healthcheck = hello.healthcheck;
  return Status::kNormal;
}

}  // namespace spoe
