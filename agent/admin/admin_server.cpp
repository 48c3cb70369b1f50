#include "admin/admin_server.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

namespace haes::admin {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

Peer peer_of(stream::socket& s) {
  Peer p;
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    p.pid = cred.pid;
    p.uid = static_cast<int>(cred.uid);
    passwd pw{};
    passwd* found = nullptr;
    char buf[1024];
    if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &found) == 0 && found) {
      p.user = found->pw_name;
    } else {
      p.user = "uid " + std::to_string(cred.uid);
    }
  } else {
    p.user = "unknown";
  }
  return p;
}

PeerIds peer_ids_of(stream::socket& s) {
  PeerIds ids;
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    ids.uid = static_cast<uid_t>(-1);
    ids.gid = static_cast<gid_t>(-1);
    return ids;
  }
  ids.uid = cred.uid;
  ids.gid = cred.gid;
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &found) == 0 && found) {
    int n = 64;
    ids.groups.resize(static_cast<size_t>(n));
    if (getgrouplist(found->pw_name, found->pw_gid, ids.groups.data(), &n) < 0 && n > 64) {
      ids.groups.resize(static_cast<size_t>(n));
      getgrouplist(found->pw_name, found->pw_gid, ids.groups.data(), &n);
    }
    ids.groups.resize(static_cast<size_t>(std::max(n, 0)));
  }
  return ids;
}

}  // namespace

bool peer_allowed(const PeerIds& peer, uid_t owner, gid_t group, unsigned mode) {
  if (peer.uid == 0 || peer.uid == owner) {
    return true;
  }
  if ((mode & 0002U) != 0) {
    return true;
  }
  if ((mode & 0020U) != 0) {
    return peer.gid == group || std::find(peer.groups.begin(), peer.groups.end(), group) != peer.groups.end();
  }
  return false;
}

struct AdminServer::Shared {
  const CommandTable& table;
  AdminServerOptions options;
};

// One operator connection: request lines, one reply each.
class AdminServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(stream::socket socket, std::shared_ptr<Shared> shared)
      : socket_(std::move(socket)), deadline_(socket_.get_executor()), shared_(std::move(shared)) {}
  asio::any_io_executor executor() { return socket_.get_executor(); }
  void start() {
    auto self = shared_from_this();
    spoe::net::spawn(self, &Session::run);
    spoe::net::spawn_watchdog(self, deadline_);
  }
  void on_deadline() {
    spdlog::debug("admin socket: {} (pid {}) cut after {} ms without a whole line or taking its reply", peer_.user,
                  peer_.pid, shared_->options.io_timeout.count());
    close();
  }
  void close() {
    boost::system::error_code ec;
    socket_.close(ec);
    deadline_.stop();
  }

 private:
  asio::awaitable<void> run() {
    peer_ = peer_of(socket_);
    const AdminServerOptions& o = shared_->options;
    asio::streambuf buf(o.max_line);
    for (;;) {
      boost::system::error_code ec;
      {
        auto armed = deadline_.arm_for(o.io_timeout);
        co_await asio::async_read_until(socket_, buf, '\n', asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec == asio::error::not_found) {
        std::string reply = render_reply(
            Reply::error(ErrorCode::kUsage, "request line longer than " + std::to_string(o.max_line) + " bytes"),
            false);
        auto armed = deadline_.arm_for(o.io_timeout);
        co_await asio::async_write(socket_, asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
        break;
      }
      if (ec && (buf.size() == 0 || deadline_.expired())) {
        break;  // EOF between requests, or cut at the deadline: a partial line never runs
      }
      std::string line;
      std::istream in(&buf);
      std::getline(in, line);
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      if (line.find_first_not_of(" \t") == std::string::npos && !ec) {
        continue;
      }
      Reply r = co_await shared_->table.run_async(line, peer_);
      std::string out = render_reply(r, r.as_json);
      boost::system::error_code wec;
      {
        auto armed = deadline_.arm_for(o.io_timeout);
        co_await asio::async_write(socket_, asio::buffer(out), asio::redirect_error(asio::use_awaitable, wec));
      }
      if (wec || ec) {
        break;
      }
    }
    close();
  }

  stream::socket socket_;
  spoe::net::Deadline deadline_;
  std::shared_ptr<Shared> shared_;
  Peer peer_;
};

AdminServer::AdminServer(asio::io_context& ctx, std::string path, unsigned mode, const CommandTable& table,
                         AdminServerOptions options)
    : ctx_(ctx),
      path_(std::move(path)),
      mode_(mode),
      shared_(std::make_shared<Shared>(Shared{table, std::move(options)})),
      acceptor_(ctx) {}

AdminServer::~AdminServer() { stop(); }

Result<void> AdminServer::start() {
  namespace fs = std::filesystem;
  std::error_code fec;
  if (fs::is_socket(path_, fec)) {
    stream::socket probe(ctx_);
    boost::system::error_code ec;
    probe.connect(stream::endpoint(path_), ec);
    if (!ec) {
      return Error{ErrorCode::kInUse, "admin socket " + path_ + " is in use by a running process (another agent?)"};
    }
    fs::remove(path_, fec);
  } else if (fs::exists(path_, fec)) {
    return Error{ErrorCode::kExists, "admin.socket " + path_ + " exists and is not a socket; refusing to replace it"};
  }
  boost::system::error_code ec;
  acceptor_.open(stream(), ec);
  if (!ec) {
    // Create with restricted permissions from the start, then set the mode.
    mode_t old = ::umask(0177);
    acceptor_.bind(stream::endpoint(path_), ec);
    ::umask(old);
  }
  if (!ec) {
    acceptor_.listen(16, ec);
  }
  if (ec) {
    return Error{ErrorCode::kListen, "cannot listen on admin socket " + path_ + ": " + ec.message()};
  }
  bound_ = true;
  if (::chmod(path_.c_str(), mode_) != 0) {
    return Error{ErrorCode::kListen, "cannot chmod admin socket " + path_ + ": " + std::strerror(errno)};
  }
  struct stat st {};
  owner_ = ::geteuid();
  group_ = ::stat(path_.c_str(), &st) == 0 ? st.st_gid : ::getegid();
  asio::co_spawn(
      ctx_, [this] { return accept_loop(); }, asio::detached);
  return Ok{};
}

void AdminServer::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  if (bound_) {
    std::error_code fec;
    std::filesystem::remove(path_, fec);
    bound_ = false;
  }
  sessions_.close_all();
}

asio::awaitable<void> AdminServer::accept_loop() {
  spoe::net::LogLimiter accept_log;
  while (acceptor_.is_open()) {
    boost::system::error_code ec;
    stream::socket s = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
        co_return;
      }
      size_t suppressed = 0;
      if (accept_log.allow(suppressed)) {
        spdlog::warn("admin socket: accept failed: {}{}", ec.message(), spoe::net::LogLimiter::more(suppressed));
      }
      co_await spoe::net::accept_backoff(ec);
      continue;
    }
    const AdminServerOptions& o = shared_->options;
    if (sessions_.live() >= o.max_connections) {
      if (o.on_refused) {
        o.on_refused();
      }
      size_t suppressed = 0;
      if (refused_log_.allow(suppressed)) {
        Peer p = peer_of(s);
        spdlog::warn("admin socket: connection from {} (pid {}) refused: admin.max_connections ({}) reached{}", p.user,
                     p.pid, o.max_connections, spoe::net::LogLimiter::more(suppressed));
      }
      s.close(ec);
      continue;
    }
    if (PeerIds ids = peer_ids_of(s); !peer_allowed(ids, owner_, group_, mode_)) {
      if (o.on_refused) {
        o.on_refused();
      }
      Peer p = peer_of(s);
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", mode_);
      const std::string why = "uid " + std::to_string(ids.uid) + " (" + p.user + ") may not use the admin socket " +
                              path_ + ": admin.mode " + mode + " lets in root, uid " + std::to_string(owner_) +
                              ((mode_ & 0020U) != 0 ? " and group " + std::to_string(group_) : std::string());
      size_t suppressed = 0;
      if (forbidden_log_.allow(suppressed)) {
        spdlog::warn("admin socket: connection from pid {} refused: {}{}", p.pid, why,
                     spoe::net::LogLimiter::more(suppressed));
      }
      // One reply line, best effort and without waiting: the socket's buffer is empty.
      std::string reply = render_reply(Reply::error(ErrorCode::kForbidden, why), false);
      s.non_blocking(true, ec);
      s.write_some(asio::buffer(reply), ec);
      s.close(ec);
      continue;
    }
    auto session = std::make_shared<Session>(std::move(s), shared_);
    sessions_.add(session);
    session->start();
  }
}

}  // namespace haes::admin
