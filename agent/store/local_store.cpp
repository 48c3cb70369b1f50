// The local state store: one state file and a journal beside it.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

#include "common/lock_guarded.hpp"
#include "store/codec.hpp"
#include "store/state_store.hpp"

namespace haes {
namespace {

namespace fs = std::filesystem;

std::string errno_text() { return std::strerror(errno); }

Error io_error(const std::string& what) { return Error{ErrorCode::kIoError, what + ": " + errno_text()}; }

// A file descriptor that closes itself.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset();
    fd_ = std::exchange(o.fd_, -1);
    return *this;
  }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_;
};

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

Result<std::optional<std::string>> read_file(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return std::optional<std::string>();
    }
    return io_error("cannot read " + path.string());
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return io_error("cannot read " + path.string());
    }
    if (n == 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return std::optional<std::string>(std::move(out));
}

Result<void> fsync_dir(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
    return io_error("cannot fsync directory " + dir.string());
  }
  return Ok{};
}

// Writes path atomically: temp file in the same directory, fsync, rename,
// fsync of the directory. On failure the old file is untouched.
Result<void> write_atomically(const fs::path& path, std::string_view data) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (fd.get() < 0) {
    return io_error("cannot create " + tmp.string());
  }
  if (!write_all(fd.get(), data) || ::fsync(fd.get()) != 0) {
    Error e = io_error("cannot write " + tmp.string());
    ::unlink(tmp.c_str());
    return e;
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = io_error("cannot rename " + tmp.string() + " to " + path.string());
    ::unlink(tmp.c_str());
    return e;
  }
  return fsync_dir(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

class LocalStateStore : public StateStore {
 public:
  LocalStateStore(fs::path path, size_t journal_size, Fd lock, Fd journal, std::deque<Event> events, uint64_t next_seq)
      : path_(std::move(path)),
        journal_path_(path_.string() + ".events"),
        journal_size_(journal_size),
        lock_(std::move(lock)),
        inner_(Inner{std::move(journal), std::move(events), next_seq, 0, false}) {}

  boost::asio::awaitable<Result<std::optional<State>>> load() override { co_return load_now(); }
  boost::asio::awaitable<Result<uint64_t>> compare_and_swap(uint64_t expected, State next) override {
    co_return cas_now(expected, next);
  }
  boost::asio::awaitable<Result<std::vector<Event>>> append_events(std::vector<Event> events) override {
    auto r = append_now(events);
    if (!r) {
      co_return r.error();
    }
    co_return events;
  }
  boost::asio::awaitable<Result<std::vector<Event>>> events(size_t last_n) override { co_return events_now(last_n); }

  boost::asio::awaitable<Result<std::optional<std::string>>> load_document(std::string name) override {
    co_return read_file(path_.string() + "." + name);
  }
  boost::asio::awaitable<Result<void>> store_document(std::string name, std::string data) override {
    co_return write_atomically(path_.string() + "." + name, data);
  }

  std::string document_location(const std::string& name) const override { return path_.string() + "." + name; }
  std::string describe() const override { return "local " + path_.string(); }

 private:
  Result<std::optional<State>> load_now() {
    auto in = inner_.lock();
    auto bytes = read_file(path_);
    if (!bytes.ok()) {
      return bytes.error();
    }
    if (!bytes->has_value()) {
      in->revision = 0;
      in->loaded = true;
      return std::optional<State>();
    }
    auto state = store::decode_state_file(**bytes, path_.string());
    if (!state.ok()) {
      return state.error();
    }
    in->revision = state->revision;
    in->loaded = true;
    return std::optional<State>(std::move(state).value());
  }

  Result<uint64_t> cas_now(uint64_t expected, const State& next) {
    auto in = inner_.lock();
    if (!in->loaded) {
      return Error{ErrorCode::kConflict, "compare_and_swap before load()"};
    }
    if (expected != in->revision) {
      return Error{ErrorCode::kConflict, "state changed under us: expected revision " + std::to_string(expected) +
                                             ", stored revision is " + std::to_string(in->revision)};
    }
    uint64_t revision = in->revision + 1;
    auto w = write_atomically(path_, store::encode_state_file(revision, next));
    if (!w.ok()) {
      return w.error();
    }
    in->revision = revision;
    return revision;
  }

  Result<void> append_now(std::vector<Event>& events) {
    auto in = inner_.lock();
    std::string data;
    for (auto& e : events) {
      e.seq = in->next_seq++;
      data += store::encode_event_record(e);
    }
    if (!write_all(in->journal.get(), data) || ::fdatasync(in->journal.get()) != 0) {
      return io_error("cannot append to the event journal " + journal_path_);
    }
    for (const auto& e : events) {
      in->events.push_back(e);
    }
    if (in->events.size() > 2 * journal_size_) {
      return compact(*in);
    }
    return Ok{};
  }

  std::vector<Event> events_now(size_t last_n) {
    auto in = inner_.lock();
    size_t n = std::min(last_n, in->events.size());
    return std::vector<Event>(in->events.end() - static_cast<std::ptrdiff_t>(n), in->events.end());
  }

  struct Inner {
    Fd journal;
    std::deque<Event> events;
    uint64_t next_seq;
    uint64_t revision;
    bool loaded;
  };

  // Rewrites the journal with its newest journal_size events (atomically).
  Result<void> compact(Inner& in) {
    while (in.events.size() > journal_size_) {
      in.events.pop_front();
    }
    std::string data;
    for (const auto& e : in.events) {
      data += store::encode_event_record(e);
    }
    auto w = write_atomically(journal_path_, data);
    if (!w.ok()) {
      return w;
    }
    Fd fd(::open(journal_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (fd.get() < 0) {
      return io_error("cannot reopen the event journal " + journal_path_);
    }
    in.journal = std::move(fd);
    return Ok{};
  }

  fs::path path_;
  std::string journal_path_;
  size_t journal_size_;
  Fd lock_;
  LockGuarded<Inner> inner_;
};

}  // namespace

Result<OpenedStore> open_local_store(const fs::path& path, size_t journal_size) {
  std::error_code ec;
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  fs::create_directories(dir, ec);
  if (ec) {
    return Error{ErrorCode::kIoError, "cannot create the state directory " + dir.string() + ": " + ec.message()};
  }
  // One agent per state file: an exclusive lock held for the process's life.
  std::string lock_path = path.string() + ".lock";
  Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
  if (lock.get() < 0) {
    return io_error("cannot open the lock file " + lock_path);
  }
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    std::string holder;
    if (auto bytes = read_file(lock_path); bytes.ok() && bytes->has_value()) {
      holder = **bytes;
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) {
        holder.pop_back();
      }
    }
    return Error{ErrorCode::kLocked, "state file " + path.string() + " is in use by another haes-agent" +
                                         (holder.empty() ? "" : " (pid " + holder + ")") +
                                         "; one agent per state file"};
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock.get(), 0) != 0 || ::pwrite(lock.get(), pid.data(), pid.size(), 0) < 0) {
    return io_error("cannot write the lock file " + lock_path);
  }

  OpenedStore opened;
  std::string journal_path = path.string() + ".events";
  auto bytes = read_file(journal_path);
  if (!bytes.ok()) {
    return bytes.error();
  }
  std::deque<Event> events;
  uint64_t next_seq = 1;
  if (bytes->has_value()) {
    auto scan = store::scan_journal(**bytes, journal_path);
    if (!scan.ok()) {
      return scan.error();
    }
    if (scan->torn_bytes > 0) {
      if (::truncate(journal_path.c_str(), static_cast<off_t>(scan->good_bytes)) != 0) {
        return io_error("cannot truncate the torn tail of " + journal_path);
      }
      opened.warnings.push_back("event journal " + journal_path + ": dropped an incomplete final record (" +
                                std::to_string(scan->torn_bytes) + " bytes) left by a stop in the middle of a write");
    }
    for (auto& e : scan->events) {
      next_seq = e.seq + 1;
      events.push_back(std::move(e));
    }
    while (events.size() > journal_size) {
      events.pop_front();
    }
  }
  Fd journal(::open(journal_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (journal.get() < 0) {
    return io_error("cannot open the event journal " + journal_path);
  }
  opened.store = std::make_unique<LocalStateStore>(path, journal_size, std::move(lock), std::move(journal),
                                                   std::move(events), next_seq);
  return opened;
}

}  // namespace haes
