#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/sync_wait.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "store/codec.hpp"
#include "store/state_store.hpp"

namespace haes {
namespace {

// Synchronous wrappers: the local store completes every call at once.
Result<std::optional<State>> load(StateStore& s) { return test::sync_wait(s.load()); }
Result<uint64_t> cas(StateStore& s, uint64_t expected, const State& next) {
  return test::sync_wait(s.compare_and_swap(expected, next));
}
Result<void> append(StateStore& s, std::vector<Event>& events) {
  auto r = test::sync_wait(s.append_events(events));
  if (!r) {
    return r.error();
  }
  events = *r;
  return Ok{};
}
std::vector<Event> events_of(StateStore& s, size_t n) { return *test::sync_wait(s.events(n)); }

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() {
    dir_ = fs::path(::testing::TempDir()) / ("haes-store-" + std::to_string(::getpid()) + "-" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    path_ = dir_ / "state.pb";
  }
  ~StoreTest() override { fs::remove_all(dir_); }

  std::unique_ptr<StateStore> open(size_t journal = 100) {
    auto r = open_local_store(path_, journal);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r.ok()) {
      return nullptr;
    }
    warnings_ = r->warnings;
    return std::move(r->store);
  }

  static State sample(uint64_t epoch = 7) {
    State s;
    s.epoch = epoch;
    s.active = "dc2";
    s.fenced = {"dc1"};
    s.reason = "dc1 reports red for 3 rounds";
    s.changed_at = from_unix_ms(1'795'000'000'000);
    s.changed_by = "controller";
    s.pause = {true, "operator alice@host", "disk swap", from_unix_ms(1'795'000'001'000),
               from_unix_ms(1'795'000'601'000)};
    s.hold_down_until = from_unix_ms(1'795'000'300'000);
    s.last_sync = {
        "haes-7-20261122", "dc1", "dc2", 6, from_unix_ms(1'794'999'000'000), from_unix_ms(1'794'999'100'000)};
    s.write_block = {"dc2", from_unix_ms(1'795'000'002'000), "sync", true};
    s.sync_hold = {true, "operator carol", "rescue dc1's writes", from_unix_ms(1'795'000'003'000)};
    return s;
  }

  std::string file_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void write_bytes(const fs::path& p, const std::string& data) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
  }

  fs::path dir_;
  fs::path path_;
  std::vector<std::string> warnings_;
};

TEST_F(StoreTest, AMissingFileIsNeverInitialised) {
  auto store = open();
  auto loaded = load(*store);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
}

TEST_F(StoreTest, WhatIsStoredComesBackWholeAfterAReopen) {
  {
    auto store = open();
    ASSERT_TRUE(load(*store).ok());
    auto rev = cas(*store, 0, sample());
    ASSERT_TRUE(rev.ok());
    EXPECT_EQ(*rev, 1u);
  }
  auto store = open();
  auto loaded = load(*store);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_TRUE(same_logical_state(**loaded, sample()));
  EXPECT_EQ((*loaded)->revision, 1u);
}

TEST_F(StoreTest, CompareAndSwapRefusesAStaleRevision) {
  auto store = open();
  ASSERT_TRUE(load(*store).ok());
  ASSERT_TRUE(cas(*store, 0, sample(1)).ok());
  auto again = cas(*store, 0, sample(2));  // create-only, but it exists
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  auto next = cas(*store, 1, sample(2));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 2u);
  auto stale = cas(*store, 1, sample(3));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_EQ((*load(*store))->epoch, 2u);
}

TEST_F(StoreTest, AnEmptyFileIsRefused) {
  fs::create_directories(dir_);
  write_bytes(path_, "");
  auto store = open();
  auto loaded = load(*store);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(loaded.error().message.find("truncated"), std::string::npos);
  EXPECT_NE(loaded.error().message.find("move it aside"), std::string::npos);
}

// Truncated at every byte offset: refused every time, never guessed around.
TEST_F(StoreTest, ATruncatedFileIsRefusedAtEveryOffset) {
  std::string whole = store::encode_state_file(5, sample());
  for (size_t cut = 0; cut < whole.size(); ++cut) {
    auto r = store::decode_state_file(std::string_view(whole).substr(0, cut), "s");
    ASSERT_FALSE(r.ok()) << "accepted a file cut at " << cut;
    EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  }
  EXPECT_TRUE(store::decode_state_file(whole, "s").ok());
}

TEST_F(StoreTest, EveryFlippedBitIsRefused) {
  std::string whole = store::encode_state_file(5, sample());
  for (size_t byte = 0; byte < whole.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = whole;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      auto r = store::decode_state_file(bad, "s");
      ASSERT_FALSE(r.ok()) << "accepted a flip of bit " << bit << " of byte " << byte;
    }
  }
}

TEST_F(StoreTest, BadMagicAndFutureVersionsAreNamed) {
  std::string whole = store::encode_state_file(5, sample());
  std::string magic = whole;
  magic[0] = 'X';
  EXPECT_NE(store::decode_state_file(magic, "s").error().message.find("not a haes state file"), std::string::npos);
  std::string future = whole;
  future[7] = 2;
  EXPECT_NE(store::decode_state_file(future, "s").error().message.find("format version 2"), std::string::npos);
  // A valid protobuf is not enough: without the header it is refused.
  EXPECT_FALSE(store::decode_state_file(whole.substr(store::kHeaderSize), "s").ok());
}

TEST_F(StoreTest, ASecondStoreOnTheSameFileIsLockedOut) {
  auto first = open();
  auto second = open_local_store(path_, 100);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kLocked);
  EXPECT_NE(second.error().message.find("pid " + std::to_string(::getpid())), std::string::npos)
      << second.error().message;
}

TEST_F(StoreTest, AnotherProcessIsLockedOutToo) {
  auto first = open();
  pid_t child = fork();
  if (child == 0) {
    auto r = open_local_store(path_, 100);
    _exit(!r.ok() && r.error().code == ErrorCode::kLocked ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(StoreTest, AFailedWriteLeavesThePreviousStateIntact) {
  auto store = open();
  ASSERT_TRUE(load(*store).ok());
  ASSERT_TRUE(cas(*store, 0, sample(1)).ok());
  // Pull the directory away (root ignores permissions, so break the path).
  fs::path moved = dir_.string() + ".moved";
  fs::rename(dir_, moved);
  write_bytes(dir_, "not a directory");
  auto w = cas(*store, 1, sample(2));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, ErrorCode::kIoError);
  fs::remove(dir_);
  fs::rename(moved, dir_);
  auto loaded = load(*store);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((*loaded)->epoch, 1u);
  EXPECT_TRUE(cas(*store, 1, sample(2)).ok());  // and it works again
  fs::remove_all(moved);
}

TEST_F(StoreTest, DocumentsLiveBesideTheStateAndAreReplacedWhole) {
  auto store = open();
  auto none = test::sync_wait(store->load_document("drills"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(test::sync_wait(store->store_document("drills", "[1]")).ok());
  ASSERT_TRUE(test::sync_wait(store->store_document("drills", "[1,2]")).ok());
  EXPECT_EQ(file_bytes(path_.string() + ".drills"), "[1,2]");
  EXPECT_EQ(store->document_location("drills"), path_.string() + ".drills");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 3);  // state lock, journal, drills
  // Another store on the same path (a restart) reads it back; the state is untouched.
  store.reset();
  auto again = open();
  auto back = test::sync_wait(again->load_document("drills"));
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ(**back, "[1,2]");
  EXPECT_FALSE(load(*again)->has_value());
}

TEST_F(StoreTest, ADocumentThatCannotBeWrittenKeepsItsLastVersion) {
  auto store = open();
  ASSERT_TRUE(test::sync_wait(store->store_document("drills", "old")).ok());
  fs::path moved = dir_.string() + ".moved";
  fs::rename(dir_, moved);
  write_bytes(dir_, "not a directory");
  auto w = test::sync_wait(store->store_document("drills", "new"));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, ErrorCode::kIoError);
  EXPECT_NE(w.error().message.find("drills"), std::string::npos) << w.error().message;
  fs::remove(dir_);
  fs::rename(moved, dir_);
  EXPECT_EQ(**test::sync_wait(store->load_document("drills")), "old");
  fs::remove_all(moved);
}

// Events told apart by their message (`name`).
Event event(const std::string& name) {
  return Event{0, from_unix_ms(1'795'000'000'000), 3, EventKind::kPause, "controller", name};
}

TEST_F(StoreTest, EventsGetIncreasingSeqAndSurviveAReopen) {
  {
    auto store = open();
    std::vector<Event> batch = {event("a"), event("b"), event("c")};
    ASSERT_TRUE(append(*store, batch).ok());
    EXPECT_EQ(batch[2].seq, 3u);
  }
  auto store = open();
  auto events = events_of(*store, 10);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].message, "a");
  EXPECT_EQ(events[0].kind, EventKind::kPause);
  EXPECT_EQ(events[2].message, "c");
  std::vector<Event> more = {event("d")};
  ASSERT_TRUE(append(*store, more).ok());
  EXPECT_EQ(more[0].seq, 4u);
  EXPECT_EQ(events_of(*store, 2).front().message, "c");
}

// A crash in the middle of an append leaves a prefix of the last record: it
// is dropped with a warning, and everything before it is kept.
TEST_F(StoreTest, ATornJournalTailIsDroppedAtEveryOffset) {
  {
    auto store = open();
    std::vector<Event> batch = {event("a"), event("b"), event("c")};
    ASSERT_TRUE(append(*store, batch).ok());
  }
  fs::path journal = path_.string() + ".events";
  std::string whole = file_bytes(journal);
  size_t last = store::encode_event_record(event("c")).size();
  last = whole.size() - last;  // start of the last record (same length: same fields)
  for (size_t cut = last + 1; cut < whole.size(); ++cut) {
    write_bytes(journal, whole.substr(0, cut));
    auto store = open();
    ASSERT_TRUE(store) << cut;
    ASSERT_EQ(warnings_.size(), 1u) << cut;
    EXPECT_NE(warnings_[0].find("dropped an incomplete final record"), std::string::npos);
    auto events = events_of(*store, 10);
    ASSERT_EQ(events.size(), 2u) << cut;
    std::vector<Event> next = {event("d")};
    ASSERT_TRUE(append(*store, next).ok());
    EXPECT_EQ(next[0].seq, 3u);
  }
}

TEST_F(StoreTest, CorruptionBeforeTheJournalTailIsRefused) {
  {
    auto store = open();
    std::vector<Event> batch = {event("a"), event("b"), event("c")};
    ASSERT_TRUE(append(*store, batch).ok());
  }
  fs::path journal = path_.string() + ".events";
  std::string bytes = file_bytes(journal);
  bytes[store::kRecordHeader + 3] ^= 0x40;  // inside the first record's payload
  write_bytes(journal, bytes);
  auto r = open_local_store(path_, 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(r.error().message.find("damaged at byte 0"), std::string::npos) << r.error().message;
}

TEST_F(StoreTest, TheJournalIsBoundedToItsSize) {
  auto store = open(10);
  for (int i = 0; i < 35; ++i) {
    std::vector<Event> one = {event("e" + std::to_string(i))};
    ASSERT_TRUE(append(*store, one).ok());
  }
  auto all = events_of(*store, 1000);
  EXPECT_LE(all.size(), 20u);
  EXPECT_EQ(all.back().message, "e34");
  store.reset();
  auto reopened = open(10);
  auto kept = events_of(*reopened, 1000);
  EXPECT_EQ(kept.size(), 10u);
  EXPECT_EQ(kept.front().message, "e25");
  EXPECT_EQ(kept.back().seq, 35u);
}

// Found by tests/fuzz/store_codec_fuzz.cpp: a reason holding bytes that are
// not UTF-8 (typed on the admin socket, answered by a node) was written as a
// proto3 string, which does not parse back: the agent wrote a state file and
// a journal record it then refused as unusable. Texts are written as valid
// UTF-8 now (U+FFFD for such bytes); valid texts are kept as they are.
TEST_F(StoreTest, TextsThatAreNotUtf8StillReadBack) {
  State s = sample();
  s.reason = "pause \xff\xfe by hand";
  s.pause.reason = "caf\xc3\xa9 \xc3";  // a valid é, then half of one
  std::string file = store::encode_state_file(3, s);
  auto back = store::decode_state_file(file, "s");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->reason, "pause \xef\xbf\xbd\xef\xbf\xbd by hand");
  EXPECT_EQ(back->pause.reason, "caf\xc3\xa9 \xef\xbf\xbd");
  EXPECT_EQ(back->active, s.active);

  Event e{1, from_unix_ms(1000), 3, EventKind::kPause, "operator \x80", "reason \xc0\xaf"};
  auto scan = store::scan_journal(store::encode_event_record(e), "j");
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  ASSERT_EQ(scan->events.size(), 1u);
  EXPECT_EQ(scan->torn_bytes, 0u);
  EXPECT_EQ(scan->events[0].actor, "operator \xef\xbf\xbd");
  EXPECT_EQ(scan->events[0].message, "reason \xef\xbf\xbd\xef\xbf\xbd");
}

}  // namespace
}  // namespace haes
