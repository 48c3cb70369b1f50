#include "store/codec.hpp"

#include <array>
#include <cstring>

#include "common/utf8.hpp"
#include "proto/state.pb.h"

namespace haes::store {
namespace {

std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // Castagnoli, reflected
    }
    t[i] = c;
  }
  return t;
}

void put_be32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

uint32_t get_be32(std::string_view s, size_t at) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

std::span<const uint8_t> bytes_of(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// Every text as valid UTF-8: a proto3 string field that is not does not
// parse back, so a reason holding any bytes (an operator's, an answer's)
// made the whole state file unreadable after a restart (found by
// tests/fuzz/store_codec_fuzz.cpp).
std::string text(std::string_view s) { return valid_utf8(s); }

void to_proto(const State& s, proto::State& p) {
  p.set_epoch(s.epoch);
  p.set_active(text(s.active));
  for (const auto& f : s.fenced) {
    p.add_fenced(text(f));
  }
  p.set_reason(text(s.reason));
  p.set_changed_at_ms(to_unix_ms(s.changed_at));
  p.set_changed_by(text(s.changed_by));
  auto* pause = p.mutable_pause();
  pause->set_paused(s.pause.paused);
  pause->set_by(text(s.pause.by));
  pause->set_reason(text(s.pause.reason));
  pause->set_since_ms(to_unix_ms(s.pause.since));
  pause->set_until_ms(to_unix_ms(s.pause.until));
  p.set_hold_down_until_ms(to_unix_ms(s.hold_down_until));
  auto* sync = p.mutable_last_sync();
  sync->set_snapshot(text(s.last_sync.snapshot));
  sync->set_source(text(s.last_sync.source));
  sync->set_target(text(s.last_sync.target));
  sync->set_epoch(s.last_sync.epoch);
  sync->set_started_at_ms(to_unix_ms(s.last_sync.started_at));
  sync->set_finished_at_ms(to_unix_ms(s.last_sync.finished_at));
  if (!s.write_block.cluster.empty()) {
    auto* wb = p.mutable_write_block();
    wb->set_cluster(text(s.write_block.cluster));
    wb->set_since_ms(to_unix_ms(s.write_block.since));
    wb->set_by(text(s.write_block.by));
    wb->set_fence(s.write_block.fence);
  }
  if (s.sync_hold.held) {
    auto* h = p.mutable_sync_hold();
    h->set_held(true);
    h->set_by(text(s.sync_hold.by));
    h->set_reason(text(s.sync_hold.reason));
    h->set_since_ms(to_unix_ms(s.sync_hold.since));
  }
}

State from_proto(const proto::State& p) {
  State s;
  s.epoch = p.epoch();
  s.active = p.active();
  s.fenced.assign(p.fenced().begin(), p.fenced().end());
  s.reason = p.reason();
  s.changed_at = from_unix_ms(p.changed_at_ms());
  s.changed_by = p.changed_by();
  s.pause.paused = p.pause().paused();
  s.pause.by = p.pause().by();
  s.pause.reason = p.pause().reason();
  s.pause.since = from_unix_ms(p.pause().since_ms());
  s.pause.until = from_unix_ms(p.pause().until_ms());
  s.hold_down_until = from_unix_ms(p.hold_down_until_ms());
  s.last_sync.snapshot = p.last_sync().snapshot();
  s.last_sync.source = p.last_sync().source();
  s.last_sync.target = p.last_sync().target();
  s.last_sync.epoch = p.last_sync().epoch();
  s.last_sync.started_at = from_unix_ms(p.last_sync().started_at_ms());
  s.last_sync.finished_at = from_unix_ms(p.last_sync().finished_at_ms());
  s.write_block.cluster = p.write_block().cluster();
  s.write_block.since = from_unix_ms(p.write_block().since_ms());
  s.write_block.by = p.write_block().by();
  s.write_block.fence = p.write_block().fence();
  s.sync_hold.held = p.sync_hold().held();
  s.sync_hold.by = p.sync_hold().by();
  s.sync_hold.reason = p.sync_hold().reason();
  s.sync_hold.since = from_unix_ms(p.sync_hold().since_ms());
  return s;
}

}  // namespace

uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc) {
  static const std::array<uint32_t, 256> table = make_table();
  crc = ~crc;
  for (uint8_t b : data) {
    crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  }
  return ~crc;
}

std::string encode_state_file(uint64_t revision, const State& state) {
  proto::StateRecord record;
  record.set_revision(revision);
  to_proto(state, *record.mutable_state());
  std::string payload = record.SerializeAsString();
  std::string out(kMagic, sizeof kMagic);
  put_be32(out, kFormatVersion);
  put_be32(out, static_cast<uint32_t>(payload.size()));
  put_be32(out, crc32c(bytes_of(payload)));
  out += payload;
  return out;
}

Result<State> decode_state_file(std::string_view bytes, const std::string& name) {
  const std::string fix =
      " The agent will not guess the roles: restore the file from a backup, or move it aside "
      "to start again from `preferred` (this forgets the current roles and epoch; check "
      "which cluster clients should use first).";
  auto corrupt = [&](const std::string& what) {
    return Error{ErrorCode::kCorrupt, "state file " + name + " is unusable: " + what + "." + fix};
  };
  if (bytes.size() < kHeaderSize) {
    return corrupt("truncated (" + std::to_string(bytes.size()) + " bytes, the header alone is " +
                   std::to_string(kHeaderSize) + ")");
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return corrupt("not a haes state file (bad magic)");
  }
  uint32_t version = get_be32(bytes, 4);
  if (version != kFormatVersion) {
    return Error{ErrorCode::kCorrupt, "state file " + name + " has format version " + std::to_string(version) +
                                          ", this agent reads version " + std::to_string(kFormatVersion) +
                                          " (written by a newer haes? run that version)"};
  }
  uint32_t length = get_be32(bytes, 8);
  if (length != bytes.size() - kHeaderSize) {
    return corrupt("truncated or extended (header says " + std::to_string(length) + " payload bytes, the file has " +
                   std::to_string(bytes.size() - kHeaderSize) + ")");
  }
  std::string_view payload = bytes.substr(kHeaderSize);
  if (crc32c(bytes_of(payload)) != get_be32(bytes, 12)) {
    return corrupt("checksum mismatch (the file was damaged)");
  }
  proto::StateRecord record;
  if (!record.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return corrupt("the record does not parse");
  }
  State s = from_proto(record.state());
  s.revision = record.revision();
  if (s.revision == 0) {
    return corrupt("revision 0 (never written by haes)");
  }
  return s;
}

std::string encode_event_record(const Event& e) {
  proto::Event p;
  p.set_seq(e.seq);
  p.set_at_ms(to_unix_ms(e.at));
  p.set_epoch(e.epoch);
  p.set_kind(std::string(to_string(e.kind)));
  p.set_actor(text(e.actor));
  p.set_message(text(e.message));
  std::string payload = p.SerializeAsString();
  std::string out;
  put_be32(out, static_cast<uint32_t>(payload.size()));
  put_be32(out, crc32c(bytes_of(payload)));
  return out + payload;
}

Result<JournalScan> scan_journal(std::string_view bytes, const std::string& name) {
  JournalScan scan;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t left = bytes.size() - pos;
    bool complete = left >= kRecordHeader;
    uint32_t length = complete ? get_be32(bytes, pos) : 0;
    bool valid = false;
    proto::Event p;
    if (complete && length <= kMaxRecord && left - kRecordHeader >= length) {
      std::string_view payload = bytes.substr(pos + kRecordHeader, length);
      valid = crc32c(bytes_of(payload)) == get_be32(bytes, pos + 4) &&
              p.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
    }
    // A crash mid-append leaves a prefix of the last write: an incomplete
    // header, a record cut short, or (the final record only) a bad checksum.
    // A wild length is never a torn append: the length is written first.
    bool is_last = !complete || (length <= kMaxRecord && left - kRecordHeader <= length);
    if (!valid) {
      if (is_last) {
        scan.torn_bytes = left;  // a crash mid-append: the tail is incomplete
        break;
      }
      return Error{ErrorCode::kCorrupt, "event journal " + name + " is damaged at byte " + std::to_string(pos) +
                                            " (a record before the last one fails its checksum). Move it "
                                            "aside to start a new journal; the state file is not affected."};
    }
    Event e;
    e.seq = p.seq();
    e.at = from_unix_ms(p.at_ms());
    e.epoch = p.epoch();
    if (auto k = enum_from_name<EventKind>(p.kind())) {
      e.kind = *k;
    } else {
      e.kind = EventKind::kOther;  // written by a newer agent: keep what it said
      e.message = "[" + p.kind() + "] ";
    }
    e.actor = p.actor();
    e.message += p.message();
    scan.events.push_back(std::move(e));
    pos += kRecordHeader + length;
    scan.good_bytes = pos;
  }
  return scan;
}

}  // namespace haes::store
