#pragma once
// Test support: a StateStore in memory (unit tests of what sits on top of the
// store; the real stores have their own tests against real files and etcd).
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/state_store.hpp"

namespace haes::test {

// A StateStore in memory that writes every call into a shared log, and can
// be told to refuse the next write.
class RecordingStore : public StateStore {
 public:
  explicit RecordingStore(std::vector<std::string>& log) : log_(&log) {}
  RecordingStore() : log_(&own_log_) {}

  boost::asio::awaitable<Result<std::optional<State>>> load() override {
    log_->push_back("load");
    if (!load_failures.empty()) {
      Error e = load_failures.front();
      load_failures.pop_front();
      co_return e;
    }
    if (!stored_) {
      co_return std::optional<State>();
    }
    co_return std::optional<State>(*stored_);
  }
  boost::asio::awaitable<Result<uint64_t>> compare_and_swap(uint64_t expected, State next) override {
    log_->push_back("cas " + std::to_string(expected) + " epoch " + std::to_string(next.epoch));
    if (auto before = std::exchange(before_cas, nullptr)) {
      before();
    }
    if (fail_next_) {
      auto e = *fail_next_;
      fail_next_.reset();
      co_return e;
    }
    if ((stored_ ? stored_->revision : 0) != expected) {
      co_return Error{ErrorCode::kConflict, "expected revision " + std::to_string(expected)};
    }
    stored_ = next;
    stored_->revision = expected + 1;
    co_return stored_->revision;
  }
  boost::asio::awaitable<Result<std::vector<Event>>> append_events(std::vector<Event> events) override {
    for (auto& e : events) {
      e.seq = ++seq_;
      log_->push_back("journal " + std::string(to_string(e.kind)));
      journal_.push_back(e);
    }
    co_return events;
  }
  boost::asio::awaitable<Result<std::vector<Event>>> events(size_t) override { co_return journal_; }
  boost::asio::awaitable<Result<std::optional<std::string>>> load_document(std::string name) override {
    auto it = documents_.find(name);
    co_return it == documents_.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
  }
  boost::asio::awaitable<Result<void>> store_document(std::string name, std::string data) override {
    log_->push_back("document " + name);
    documents_[name] = std::move(data);
    co_return Ok{};
  }
  std::string document_location(const std::string& name) const override { return "memory " + name; }
  std::string describe() const override { return "memory"; }

  // Someone else (another agent) writes.
  void write_behind_our_back(State s) {
    s.revision = (stored_ ? stored_->revision : 0) + 1;
    stored_ = s;
  }

  std::optional<Error> fail_next_;
  std::deque<Error> load_failures;   // the next loads fail with these, in order
  std::function<void()> before_cas;  // runs once, at the next compare-and-swap (another writer races us)
  std::optional<State> stored_;
  std::vector<Event> journal_;

 private:
  std::map<std::string, std::string> documents_;
  std::vector<std::string> own_log_;
  std::vector<std::string>* log_;
  uint64_t seq_ = 0;
};

}  // namespace haes::test
