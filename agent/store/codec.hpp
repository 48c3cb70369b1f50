#pragma once
// Byte formats of the local store (docs/state-store.md): the state file's
// checksummed header and the journal's records; State/Event <-> protobuf.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/state.hpp"

namespace haes::store {

uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc = 0);

inline constexpr char kMagic[4] = {'H', 'A', 'E', 'S'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kHeaderSize = 16;   // magic, version, payload length, crc32c
inline constexpr size_t kRecordHeader = 8;  // journal: length, crc32c
inline constexpr uint32_t kMaxRecord = 1 << 20;

// The whole state file for (revision, state).
std::string encode_state_file(uint64_t revision, const State& state);
// Parses a state file; `name` is used in messages. Error code: corrupt.
Result<State> decode_state_file(std::string_view bytes, const std::string& name);

// One journal record.
std::string encode_event_record(const Event& e);

// Result of scanning a journal.
struct JournalScan {
  std::vector<Event> events;
  size_t good_bytes = 0;  // end of the last complete, valid record
  size_t torn_bytes = 0;  // bytes after it that form an incomplete final record
};
// Error code corrupt: a bad record that is not the final one.
Result<JournalScan> scan_journal(std::string_view bytes, const std::string& name);

}  // namespace haes::store
