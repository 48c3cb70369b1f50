// spoe-load: a SPOP load generator for the verdict path (docs/benchmarks.md).
//
//   spoe-load --port P [--host 127.0.0.1] [--connections K] [--inflight N]
//             [--seconds S] [--args cluster|none]
//
// Opens K connections, completes the HELLO handshake on each (as HAProxy 2.6
// does: "2.0", pipelining), then keeps N haes-route NOTIFYs in flight per
// connection for S seconds, one thread per connection. Prints messages/s and
// the p50/p99/p99.9 NOTIFY→ACK latency seen by the client. Exits 1 on any
// protocol error (an ACK for an unknown stream, a DISCONNECT).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "spoe/builder.hpp"
#include "spoe/frame.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int connections = 4;
  int inflight = 16;
  double seconds = 5;
  bool with_args = true;
};

struct Result {
  uint64_t messages = 0;
  std::vector<uint32_t> latencies_ns;  // sampled: every message
  std::string error;
};

bool send_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) {
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

void run_connection(const Options& o, Clock::time_point end, Result& r) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(o.port));
  ::inet_pton(AF_INET, o.host.c_str(), &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    r.error = std::string("connect: ") + std::strerror(errno);
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  spoe::Bytes out;
  spoe::build_haproxy_hello(out, "2.0", 16380, "pipelining", "spoe-load", false);
  send_all(fd, out.data(), out.size());
  std::vector<uint8_t> in;
  in.reserve(1 << 16);
  uint8_t buf[1 << 16];
  bool hello = false;
  std::vector<Clock::time_point> sent(static_cast<size_t>(o.inflight));
  std::vector<bool> busy(static_cast<size_t>(o.inflight), false);
  uint64_t next_stream = 0;
  auto send_notify = [&](size_t slot) {
    // stream-id encodes the slot: slot + k * inflight.
    uint64_t sid = slot + static_cast<uint64_t>(o.inflight) * (next_stream++ + 1);
    out.clear();
    spoe::FrameBuilder f(out, spoe::FrameType::kNotify, sid, 1);
    if (o.with_args) {
      f.message("haes-route", 1).arg("cluster", spoe::Value::string("dc1"));
    } else {
      f.message("haes-route", 0);
    }
    f.finish();
    sent[slot] = Clock::now();
    busy[slot] = true;
    return send_all(fd, out.data(), out.size());
  };
  r.latencies_ns.reserve(1 << 20);
  bool stopping = false;
  size_t outstanding = 0;
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      r.error = "connection closed by the agent";
      break;
    }
    in.insert(in.end(), buf, buf + n);
    size_t off = 0;
    while (true) {
      auto d = spoe::decode_frame(std::span<const uint8_t>(in.data() + off, in.size() - off), 16380);
      if (d.state == spoe::DecodeState::kNeedMore) {
        break;
      }
      if (d.state == spoe::DecodeState::kError) {
        r.error = "undecodable frame from the agent";
        ::close(fd);
        return;
      }
      off += d.consumed;
      if (d.frame.type == spoe::FrameType::kAgentHello) {
        hello = true;
        for (size_t s = 0; s < busy.size(); ++s) {
          send_notify(s);
          ++outstanding;
        }
      } else if (d.frame.type == spoe::FrameType::kAck) {
        size_t slot = static_cast<size_t>(d.frame.stream_id % static_cast<uint64_t>(o.inflight));
        if (!busy[slot]) {
          r.error = "ACK for a stream not in flight";
          ::close(fd);
          return;
        }
        busy[slot] = false;
        --outstanding;
        auto now = Clock::now();
        r.latencies_ns.push_back(static_cast<uint32_t>(std::min<int64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent[slot]).count(), UINT32_MAX)));
        ++r.messages;
        if (now >= end) {
          stopping = true;
        }
        if (!stopping) {
          send_notify(slot);
          ++outstanding;
        }
      } else if (d.frame.type == spoe::FrameType::kAgentDisconnect) {
        r.error = "AGENT-DISCONNECT received";
        ::close(fd);
        return;
      }
    }
    in.erase(in.begin(), in.begin() + static_cast<long>(off));
    if (stopping && outstanding == 0) {
      break;
    }
  }
  (void)hello;
  out.clear();
  spoe::build_haproxy_disconnect(out, spoe::Status::kNormal, "done");
  send_all(fd, out.data(), out.size());
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host")
      o.host = v;
    else if (k == "--port")
      o.port = std::atoi(v.c_str());
    else if (k == "--connections")
      o.connections = std::atoi(v.c_str());
    else if (k == "--inflight")
      o.inflight = std::atoi(v.c_str());
    else if (k == "--seconds")
      o.seconds = std::atof(v.c_str());
    else if (k == "--args")
      o.with_args = v != "none";
    else {
      std::fprintf(stderr, "spoe-load: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.port <= 0 || o.connections <= 0 || o.inflight <= 0 || o.seconds <= 0) {
    std::fprintf(
        stderr,
        "usage: spoe-load --port P [--host H] [--connections K] [--inflight N] [--seconds S] [--args cluster|none]\n");
    return 2;
  }
  std::vector<Result> results(static_cast<size_t>(o.connections));
  auto start = Clock::now();
  auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> threads;
  for (auto& r : results) {
    threads.emplace_back([&o, end, &r] { run_connection(o, end, r); });
  }
  for (auto& t : threads) {
    t.join();
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  uint64_t total = 0;
  std::vector<uint32_t> all;
  for (auto& r : results) {
    if (!r.error.empty()) {
      std::fprintf(stderr, "spoe-load: error: %s\n", r.error.c_str());
      return 1;
    }
    total += r.messages;
    all.insert(all.end(), r.latencies_ns.begin(), r.latencies_ns.end());
  }
  if (all.empty()) {
    std::fprintf(stderr, "spoe-load: no message answered\n");
    return 1;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))] / 1000.0; };
  std::printf("connections=%d inflight=%d seconds=%.1f messages=%llu\n", o.connections, o.inflight, elapsed,
              static_cast<unsigned long long>(total));
  std::printf("throughput: %.0f messages/s\n", static_cast<double>(total) / elapsed);
  std::printf("latency (client-side, us): p50=%.1f p99=%.1f p99.9=%.1f max=%.1f\n", pct(0.50), pct(0.99), pct(0.999),
              all.back() / 1000.0);
  return 0;
}
