#include "admin/admin_server.hpp"

#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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

}  // namespace

AdminServer::AdminServer(asio::io_context& ctx, std::string path, unsigned mode, const CommandTable& table)
    : ctx_(ctx), path_(std::move(path)), mode_(mode), table_(table), acceptor_(ctx) {}

AdminServer::~AdminServer() { stop(); }

Result<void> AdminServer::start() {
  namespace fs = std::filesystem;
  std::error_code fec;
  if (fs::is_socket(path_, fec)) {
    stream::socket probe(ctx_);
    boost::system::error_code ec;
    probe.connect(stream::endpoint(path_), ec);
    if (!ec) {
      return Error{"in_use", "admin socket " + path_ + " is in use by a running process (another agent?)"};
    }
    fs::remove(path_, fec);
  } else if (fs::exists(path_, fec)) {
    return Error{"exists", "admin.socket " + path_ + " exists and is not a socket; refusing to replace it"};
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
    return Error{"listen", "cannot listen on admin socket " + path_ + ": " + ec.message()};
  }
  bound_ = true;
  if (::chmod(path_.c_str(), mode_) != 0) {
    return Error{"listen", "cannot chmod admin socket " + path_ + ": " + std::strerror(errno)};
  }
  asio::co_spawn(ctx_, accept_loop(), asio::detached);
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
}

asio::awaitable<void> AdminServer::accept_loop() {
  while (acceptor_.is_open()) {
    boost::system::error_code ec;
    stream::socket s = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) {
        co_return;
      }
      continue;
    }
    asio::co_spawn(ctx_, serve(std::move(s)), asio::detached);
  }
}

asio::awaitable<void> AdminServer::serve(stream::socket socket) {
  Peer peer = peer_of(socket);
  asio::streambuf buf(4096);
  asio::steady_timer deadline(ctx_);
  // Every read and write gets 30 s; past it the socket is closed, which ends
  // the pending operation. (Not while a command runs: it may wait on a sync.)
  auto arm = [&] {
    deadline.expires_after(std::chrono::seconds(30));
    deadline.async_wait([&socket](const boost::system::error_code& e) {
      if (!e) {
        boost::system::error_code ignored;
        socket.close(ignored);
      }
    });
  };
  for (;;) {
    boost::system::error_code ec;
    arm();
    co_await asio::async_read_until(socket, buf, '\n', asio::redirect_error(asio::use_awaitable, ec));
    deadline.cancel();
    std::string line;
    if (ec == asio::error::not_found) {
      std::string reply = render_reply(Reply::error("usage", "request line longer than 4096 bytes"), false);
      arm();
      co_await asio::async_write(socket, asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
      deadline.cancel();
      co_return;
    }
    if (ec && buf.size() == 0) {
      co_return;  // EOF (or deadline) between requests: done
    }
    std::istream in(&buf);
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.find_first_not_of(" \t") == std::string::npos && !ec) {
      continue;
    }
    Reply r = co_await table_.run_async(line, peer);
    std::string out = render_reply(r, r.as_json);
    boost::system::error_code wec;
    arm();
    co_await asio::async_write(socket, asio::buffer(out), asio::redirect_error(asio::use_awaitable, wec));
    deadline.cancel();
    if (wec || ec) {
      co_return;
    }
  }
}

}  // namespace haes::admin
