#pragma once
// Test helpers for the edge ports: blocking loopback clients and a way to run
// an io_context until a condition holds (never a bare sleep).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <boost/asio/io_context.hpp>

namespace haes::test {

// A plain blocking socket (TCP on 127.0.0.1 or a Unix socket path).
class RawClient {
 public:
  static RawClient tcp(uint16_t port) {
    RawClient c;
    c.fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(c.fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw std::runtime_error("connect failed");
    }
    return c;
  }
  static RawClient unix_socket(const std::string& path) {
    RawClient c;
    c.fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, sizeof(a.sun_path) - 1);
    if (::connect(c.fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw std::runtime_error("connect failed");
    }
    return c;
  }
  RawClient(RawClient&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient() { close(); }
  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  // False if the peer has closed.
  bool send(const std::string& s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Everything until EOF or the timeout; eof() says which.
  std::string read_all(std::chrono::milliseconds timeout) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0) {
        return out;
      }
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = true;
        return out;
      }
      out.append(buf, static_cast<size_t>(n));
    }
  }
  bool eof() const { return eof_; }

 private:
  RawClient() = default;
  int fd_ = -1;
  bool eof_ = false;
};

// Runs ctx (on this thread) until pred() holds or the timeout passes.
template <class Pred>
bool run_until(boost::asio::io_context& ctx, Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    ctx.restart();
    ctx.run_for(std::chrono::milliseconds(20));
  }
  return true;
}

// After a server's stop(): runs ctx like the agent's shutdown does
// (restart, then run until nothing is left) and says whether it ran dry
// within `within` — i.e. no coroutine was left waiting on anything.
inline bool runs_dry(boost::asio::io_context& ctx, std::chrono::milliseconds within = std::chrono::seconds(3)) {
  ctx.restart();
  ctx.run_for(within);
  return ctx.stopped();
}

}  // namespace haes::test
