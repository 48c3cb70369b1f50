#pragma once
// The SPOP server tests' fixture (server_test.cpp, server_limits_test.cpp):
// a real spoe::Server on a loopback port, its log collected, and a client
// that speaks SPOP from the test (spop_client.hpp).
#include "spoe/server.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "golden_frames.hpp"
#include "hex.hpp"
#include "spoe/session.hpp"
#include "spop_client.hpp"

namespace spoe::test_server {

using namespace std::chrono_literals;
using test::SpopClient;

// Collects the server's log lines, so tests can check what was (not) said.
struct LogSink {
  std::mutex m;
  std::vector<std::pair<LogLevel, std::string>> lines;
  LogFn fn() {
    return [this](LogLevel l, std::string_view s) {
      std::lock_guard lock(m);
      lines.emplace_back(l, std::string(s));
    };
  }
  size_t above_debug() {
    std::lock_guard lock(m);
    size_t n = 0;
    for (auto& [l, s] : lines) {
      n += l != LogLevel::kDebug ? 1 : 0;
    }
    return n;
  }
  bool contains(std::string_view needle) {
    std::lock_guard lock(m);
    for (auto& [l, s] : lines) {
      if (s.find(needle) != std::string::npos) {
        return true;
      }
    }
    return false;
  }
};

// Sets txn.cluster = the "cluster" argument (or "dc1"), like the agent would.
inline void echo_handler(const NotifyView& n, AckWriter& ack) {
  MessageReader messages = n.messages();
  Message m;
  while (messages.next(m) == Next::kItem) {
    Value cluster;
    if (m.find_arg("cluster", cluster)) {
      ack.set_var(Scope::kTxn, "cluster", Value::string(cluster.bytes));
      return;
    }
  }
  ack.set_var(Scope::kTxn, "cluster", Value::string("dc1"));
}

class ServerTest : public ::testing::Test {
 protected:
  void start(NotifyHandler handler = echo_handler, unsigned threads = 2,
             const std::function<void(ServerOptions&)>& tweak = {}) {
    ServerOptions o;
    o.threads = threads;
    o.log = log_.fn();
    if (tweak) {
      tweak(o);
    }
    server_ = std::make_unique<Server>(o, std::move(handler));
    server_->start();
  }

  // Waits until the server's stats satisfy pred (counters, not sleeps).
  template <class Pred>
  bool wait_stats(Pred pred, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred(server_->stats())) {
        return true;
      }
      std::this_thread::yield();
    }
    return false;
  }

  static Disconnect disconnect_of(const test::OwnedFrame& f) {
    EXPECT_EQ(f.view.type, FrameType::kAgentDisconnect);
    Disconnect d;
    EXPECT_EQ(parse_disconnect(f.view.payload, d), Status::kNormal);
    return d;
  }

  // Sends bytes on a fresh connection (after HELLO if asked) and expects an
  // AGENT-DISCONNECT with `status`, then the close.
  void expect_disconnect(const Bytes& bytes, Status status, bool after_hello) {
    SpopClient c(server_->port());
    if (after_hello) {
      c.hello();
    }
    c.send(bytes);
    auto f = c.recv_frame();
    ASSERT_TRUE(f.has_value()) << "no DISCONNECT for status " << static_cast<int>(status);
    Disconnect d = disconnect_of(*f);
    EXPECT_EQ(d.status_code, static_cast<uint32_t>(status)) << d.message;
    EXPECT_TRUE(c.wait_closed());
  }

  LogSink log_;
  std::unique_ptr<Server> server_;
};

}  // namespace spoe::test_server
