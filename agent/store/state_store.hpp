#pragma once
// StateStore: the one source of truth for roles, epoch, pause, hold-down and
// the last sync point (DESIGN.md), with compare-and-swap so that several
// writers (an etcd store, later) can never both win; and the event journal.
//
// Contract for callers (the agent's control thread, through the
// TransitionPipeline): load() once at start; every change goes through
// compare_and_swap(revision the change was computed from, next state); a
// `conflict` error means someone else wrote first: reload and decide again.
// Only after a successful CAS may verdicts change.
//
// Every operation is a coroutine: a networked store (etcd) suspends instead
// of blocking the control thread; the local store completes at once.

#include <utility>  // before Asio 1.74 awaitable.hpp

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/result.hpp"
#include "common/state.hpp"
#include "config/config.hpp"

namespace haes {

class StateStore {
 public:
  virtual ~StateStore() = default;

  // The stored state with its revision, or nullopt if never initialised.
  // Error codes: corrupt, io_error.
  virtual boost::asio::awaitable<Result<std::optional<State>>> load() = 0;

  // Stores `next` iff the stored revision is `expected_revision` (0: only if
  // nothing is stored yet). Returns the new revision. Error codes: conflict,
  // io_error. On any error the stored state is unchanged.
  virtual boost::asio::awaitable<Result<uint64_t>> compare_and_swap(uint64_t expected_revision, State next) = 0;

  // Appends events durably, assigning their seq; returns them with it.
  // Error code: io_error.
  virtual boost::asio::awaitable<Result<std::vector<Event>>> append_events(std::vector<Event> events) = 0;

  // The newest `last_n` events, oldest first.
  virtual boost::asio::awaitable<Result<std::vector<Event>>> events(size_t last_n) = 0;

  // A named document kept beside the state (the drill reports): history for
  // operators, shared by every agent of the pair, never read by a verdict or
  // a transition, so outside the compare-and-swapped record. `name` is a
  // lower-case word chosen by the caller. nullopt: never written.
  // Error codes: io_error, store_unreachable.
  virtual boost::asio::awaitable<Result<std::optional<std::string>>> load_document(std::string name) = 0;
  // Replaces the document (atomically: a reader sees the old or the new).
  virtual boost::asio::awaitable<Result<void>> store_document(std::string name, std::string data) = 0;
  // Where that document is kept, for messages: "/var/lib/haes/state.pb.drills".
  virtual std::string document_location(const std::string& name) const = 0;

  // "local /var/lib/haes/state.pb" — for status and logs.
  virtual std::string describe() const = 0;
};

struct OpenedStore {
  std::unique_ptr<StateStore> store;
  std::vector<std::string> warnings;  // recoveries worth logging (a torn journal tail)
};

// The local store: one state file written atomically (temp file, fsync,
// rename, fsync of the directory) under an exclusive lock, and an append-only
// journal beside it (<path>.events) bounded to journal_size events;
// documents in <path>.<name>, written atomically.
// Errors: locked (another agent holds the file), corrupt, io_error.
Result<OpenedStore> open_local_store(const std::filesystem::path& path, size_t journal_size);

// The store the config names (state.store), its directory created if needed.
Result<OpenedStore> open_store(const StateConfig& config);

}  // namespace haes
