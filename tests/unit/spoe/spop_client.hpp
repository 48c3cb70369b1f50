#pragma once
// A blocking SPOP client for the server tests: it plays HAProxy, including
// what a real HAProxy never sends (split frames, garbage, oversized lengths).

#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "spoe/builder.hpp"
#include "spoe/frame.hpp"
#include "spoe/payload.hpp"

namespace spoe::test {

// One frame read back, owning its bytes.
struct OwnedFrame {
  std::vector<uint8_t> bytes;  // LENGTH included
  FrameView view;              // into bytes; re-derived on copy and move

  OwnedFrame() = default;
  explicit OwnedFrame(std::vector<uint8_t> b) : bytes(std::move(b)) { redecode(); }
  OwnedFrame(const OwnedFrame& o) : bytes(o.bytes) { redecode(); }
  OwnedFrame(OwnedFrame&& o) noexcept : bytes(std::move(o.bytes)) { redecode(); }
  OwnedFrame& operator=(const OwnedFrame& o) {
    bytes = o.bytes;
    redecode();
    return *this;
  }
  OwnedFrame& operator=(OwnedFrame&& o) noexcept {
    bytes = std::move(o.bytes);
    redecode();
    return *this;
  }

 private:
  void redecode() {
    if (bytes.empty()) {
      return;
    }
    DecodeResult r = decode_frame(bytes, UINT32_MAX);
    if (r.state != DecodeState::kFrame) {
      throw std::runtime_error("server sent an undecodable frame");
    }
    view = r.frame;
  }
};

class SpopClient {
 public:
  explicit SpopClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect failed");
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~SpopClient() { close(); }
  SpopClient(const SpopClient&) = delete;
  SpopClient& operator=(const SpopClient&) = delete;

  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  void send(const std::vector<uint8_t>& bytes) { send(bytes.data(), bytes.size()); }
  void send(const uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (w <= 0) {
        throw std::runtime_error("send failed");
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  }

  // The next frame, or nullopt on EOF or timeout.
  std::optional<OwnedFrame> recv_frame(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (buf_.size() >= 4) {
        uint32_t len = read_be32(buf_.data());
        if (buf_.size() >= 4 + size_t{len}) {
          OwnedFrame f(std::vector<uint8_t>(buf_.begin(), buf_.begin() + 4 + len));
          buf_.erase(buf_.begin(), buf_.begin() + 4 + len);
          return f;
        }
      }
      if (!fill(deadline)) {
        return std::nullopt;
      }
    }
  }

  // True if the server closes the connection (EOF) before the timeout, with
  // no further bytes.
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t before = buf_.size();
    while (fill(deadline)) {
    }
    return eof_ && buf_.size() == before;
  }

  bool eof() const { return eof_; }
  int fd() const { return fd_; }

  // Sends what the socket takes within `timeout` without ever blocking
  // longer; returns the bytes sent, or -1 once the peer has closed/reset.
  ssize_t send_some(const uint8_t* p, size_t n, std::chrono::milliseconds timeout) {
    pollfd pf{fd_, POLLOUT, 0};
    if (::poll(&pf, 1, static_cast<int>(timeout.count())) <= 0) {
      return 0;
    }
    if ((pf.revents & (POLLERR | POLLHUP)) != 0) {
      return -1;
    }
    ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    }
    return w;
  }

  // HELLO as HAProxy 2.6 sends it; returns the AGENT-HELLO.
  OwnedFrame hello(uint32_t max_frame_size = kDefaultMaxFrameSize, std::string_view caps = "pipelining,async",
                   std::string_view versions = "2.0") {
    Bytes b;
    build_haproxy_hello(b, versions, max_frame_size, caps, "engine-1", false);
    send(b);
    auto f = recv_frame();
    if (!f) {
      throw std::runtime_error("no AGENT-HELLO");
    }
    return *f;
  }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline) {
    if (eof_) {
      return false;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      return false;
    }
    uint8_t tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.insert(buf_.end(), tmp, tmp + n);
    return true;
  }

  int fd_ = -1;
  std::vector<uint8_t> buf_;
  bool eof_ = false;
};

inline Bytes notify_frame(uint64_t sid, uint64_t fid, std::string_view cluster = "") {
  Bytes b;
  FrameBuilder f(b, FrameType::kNotify, sid, fid);
  if (cluster.empty()) {
    f.message("haes-route", 0);
  } else {
    f.message("haes-route", 1).arg("cluster", Value::string(cluster));
  }
  f.finish();
  return b;
}

}  // namespace spoe::test
