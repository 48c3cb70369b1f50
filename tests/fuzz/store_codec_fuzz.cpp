// libFuzzer target: the state store's byte formats (agent/store/codec.hpp),
// which the agent reads back from its state file, its journal, and from
// etcd keys (agent/etcd/store.cpp stores the same records).
//  - decode_state_file and scan_journal on arbitrary bytes;
//  - encode_state_file / encode_event_record of a state and an event whose
//    texts come from the input (reasons hold what Elasticsearch answered and
//    what operators typed: any bytes).
// Input: the bytes of a file or key value; the same bytes, split at NUL
// bytes, give the texts of the encoded state and event.
//
// Invariants:
//  - decoding never crashes; a refusal is ErrorCode::kCorrupt with a message;
//  - a decoded state re-encodes to a file that decodes to the same state;
//  - journal scans account for every byte: good + torn == size;
//  - whatever the texts, a state and an event that were written read back,
//    equal but for bytes that are not UTF-8 (U+FFFD): the agent must never
//    write a record it cannot read.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/utf8.hpp"
#include "fuzz_check.hpp"
#include "store/codec.hpp"

namespace {

using haes::ErrorCode;
using haes::State;

std::vector<std::string> texts(std::string_view in) {
  std::vector<std::string> out;
  size_t start = 0;
  while (out.size() < 16) {
    const size_t nul = in.find('\0', start);
    out.emplace_back(in.substr(start, nul == std::string_view::npos ? std::string_view::npos : nul - start));
    if (nul == std::string_view::npos) {
      break;
    }
    start = nul + 1;
  }
  out.resize(16);
  return out;
}

State make_state(const std::vector<std::string>& t) {
  State st;
  st.epoch = 3;
  st.active = t[0];
  st.fenced = {t[1], t[2]};
  st.reason = t[3];
  st.changed_by = t[4];
  st.pause = {true, t[5], t[6], haes::from_unix_ms(1000), haes::from_unix_ms(2000)};
  st.last_sync = {t[7], t[8], t[9], 2, haes::from_unix_ms(3000), haes::from_unix_ms(4000)};
  st.write_block = {t[10].empty() ? "dc1" : t[10], haes::from_unix_ms(5000), t[11]};
  st.sync_hold = {true, t[12], t[13], haes::from_unix_ms(6000)};
  return st;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  auto s = haes::store::decode_state_file(in, "fuzz.state");
  if (s.ok()) {
    const std::string again = haes::store::encode_state_file(s->revision, *s);
    auto back = haes::store::decode_state_file(again, "again.state");
    FUZZ_CHECK(back.ok() && back->revision == s->revision && haes::same_logical_state(*back, *s));
  } else {
    FUZZ_CHECK(s.error().code == ErrorCode::kCorrupt && !s.error().message.empty());
  }

  auto scan = haes::store::scan_journal(in, "fuzz.journal");
  if (scan.ok()) {
    FUZZ_CHECK(scan->good_bytes + scan->torn_bytes == in.size());
    std::string again;
    for (const auto& e : scan->events) {
      again += haes::store::encode_event_record(e);
    }
    auto back = haes::store::scan_journal(again, "again.journal");
    FUZZ_CHECK(back.ok() && back->torn_bytes == 0 && back->events.size() == scan->events.size());
  } else {
    FUZZ_CHECK(scan.error().code == ErrorCode::kCorrupt && !scan.error().message.empty());
  }

  // Written with any texts, read back with the same texts made valid UTF-8
  // (unchanged when they were).
  const std::vector<std::string> raw = texts(in);
  std::vector<std::string> valid;
  for (const auto& t : raw) {
    valid.push_back(haes::valid_utf8(t));
  }
  const State st = make_state(raw);
  const std::string file = haes::store::encode_state_file(42, st);
  auto read = haes::store::decode_state_file(file, "written.state");
  FUZZ_CHECK(read.ok(), read.ok() ? "" : read.error().message);
  FUZZ_CHECK(read->revision == 42 && haes::same_logical_state(*read, make_state(valid)));

  haes::Event e{7, haes::from_unix_ms(7000), 3, haes::EventKind::kFailover, raw[14], raw[15]};
  auto journal = haes::store::scan_journal(haes::store::encode_event_record(e), "written.journal");
  FUZZ_CHECK(journal.ok() && journal->events.size() == 1 && journal->torn_bytes == 0, raw[15]);
  FUZZ_CHECK(journal->events[0].actor == valid[14] && journal->events[0].message == valid[15], raw[15]);
  return 0;
}
