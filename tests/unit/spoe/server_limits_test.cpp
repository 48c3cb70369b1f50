// The SPOP server under load and abuse: many clients and threads, malformed
// frames, a peer that never reads, connection limits, stop, running out of
// descriptors.
#include "server_fixture.hpp"

#include <gtest/gtest.h>

#include "malformed_messages.hpp"

namespace spoe {
namespace {

using namespace std::chrono_literals;
using namespace spoe::test_server;
using test::SpopClient;

TEST_F(ServerTest, ManyClientsOnManyThreads) {
  start(echo_handler, 4);
  constexpr int kClients = 16;
  constexpr int kFrames = 200;
  std::atomic<int> bad{0};
  std::vector<std::thread> clients;
  clients.reserve(kClients);
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      SpopClient c(server_->port());
      c.hello();
      std::string cluster = "dc" + std::to_string(t);
      for (int i = 0; i < kFrames; i += 4) {
        Bytes batch;
        for (int k = 0; k < 4; ++k) {
          Bytes one = test::notify_frame(static_cast<uint64_t>(i) + static_cast<uint64_t>(k), 1, cluster);
          batch.insert(batch.end(), one.begin(), one.end());
        }
        c.send(batch);
        for (int k = 0; k < 4; ++k) {
          auto f = c.recv_frame();
          Action a;
          if (!f || f->view.stream_id != static_cast<uint64_t>(i) + static_cast<uint64_t>(k) ||
              ActionReader(f->view.payload).next(a) != Next::kItem || a.value.bytes != cluster) {
            bad++;
          }
        }
      }
    });
  }
  for (auto& t : clients) {
    t.join();
  }
  EXPECT_EQ(bad.load(), 0);
  Stats s = server_->stats();
  EXPECT_EQ(s.notify_frames, uint64_t{kClients} * kFrames);
  EXPECT_EQ(s.acks, uint64_t{kClients} * kFrames);
  EXPECT_EQ(s.latency_count, uint64_t{kClients} * kFrames);
}

// ---- strict payloads (SPOE.txt: a payload that does not decode is an invalid frame)

Bytes notify_with_raw(uint64_t sid, uint64_t fid, const Bytes& raw_messages, bool good_first = true) {
  Bytes b;
  FrameBuilder f(b, FrameType::kNotify, sid, fid);
  if (good_first) {
    f.message("haes-route", 1).arg("cluster", Value::string("dc1"));
  }
  f.raw(raw_messages);
  f.finish();
  return b;
}

// The malformed LIST-OF-MESSAGES cases of the codec test, after a message
// that decodes: every one is DISCONNECT 4, never an ACK for the good part.
TEST_F(ServerTest, MalformedNotifyIsDisconnect4NeverAnAck) {
  start();
  uint64_t n = 0;
  for (const char* b : kMalformedMessages) {
    SCOPED_TRACE(b);
    expect_disconnect(notify_with_raw(1, 1, hex(b)), Status::kInvalid, true);
    expect_disconnect(notify_with_raw(1, 1, hex(b), false), Status::kInvalid, true);
    n += 2;
  }
  EXPECT_TRUE(wait_stats([&](const Stats& s) { return s.invalid_notifies == n && s.acks == 0; }));
  EXPECT_TRUE(log_.contains("NOTIFY stream 1 frame 1: message 2, argument 1: unknown data type"));
}

// The same invalid frame split at every byte offset: still DISCONNECT 4.
TEST_F(ServerTest, MalformedNotifySplitAtEveryOffset) {
  start();
  const Bytes frame = notify_with_raw(3, 4, hex("01 6d 01 01 61 08 05 61 62"));
  for (size_t split = 1; split < frame.size(); ++split) {
    SCOPED_TRACE(split);
    SpopClient c(server_->port());
    c.hello();
    c.send(frame.data(), split);
    c.send(frame.data() + split, frame.size() - split);
    auto f = c.recv_frame();
    ASSERT_TRUE(f);
    Disconnect d = disconnect_of(*f);
    EXPECT_EQ(d.status_code, 4u) << d.message;
    EXPECT_TRUE(c.wait_closed());
  }
}

// HELLO and DISCONNECT KV-lists that do not decode: DISCONNECT 4.
TEST_F(ServerTest, MalformedHelloAndDisconnectKvListsAreInvalid) {
  start();
  // HAPROXY-HELLO whose second item's value is cut short.
  Bytes hello;
  {
    FrameBuilder f(hello, FrameType::kHaproxyHello, 0, 0);
    f.kv("supported-versions", Value::string("2.0"));
    f.raw(hex("0e 6d 61 78 2d 66 72 61 6d 65 2d 73 69 7a 65 03"));  // max-frame-size, UINT32 without its varint
    f.finish();
  }
  expect_disconnect(hello, Status::kInvalid, false);
  EXPECT_TRUE(log_.contains("HAPROXY-HELLO: item 2: payload ends inside a varint"));
  // HAPROXY-DISCONNECT with a reserved data type.
  Bytes bye;
  {
    FrameBuilder f(bye, FrameType::kHaproxyDisconnect, 0, 0);
    f.raw(hex("0b 73 74 61 74 75 73 2d 63 6f 64 65 0c 00"));
    f.finish();
  }
  expect_disconnect(bye, Status::kInvalid, true);
  EXPECT_TRUE(log_.contains("HAPROXY-DISCONNECT: item 1: unknown data type"));
}

// ---- bounded output, back-pressure

std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

// A peer that sends NOTIFYs and never reads its ACKs: the server stops
// reading once the output queue is full, then disconnects it at
// write_timeout with a logged reason and a counter; memory stays flat.
TEST_F(ServerTest, APeerThatNeverReadsIsCutOffAndMemoryStaysFlat) {
  static const std::string kBlob(1000, 'x');  // 1 KB per ACK: 1 GB if all were buffered
  start([](const NotifyView&, AckWriter& ack) { ack.set_var(Scope::kTxn, "blob", Value::binary(kBlob)); }, 1,
        [](ServerOptions& o) { o.write_timeout = 300ms; });
  const size_t rss_before = rss_bytes();
  SpopClient c(server_->port());
  c.hello();
  // 1,000 NOTIFYs per chunk, offered 1,000 times: 1,000,000 NOTIFYs.
  Bytes chunk;
  for (uint64_t i = 1; i <= 1000; ++i) {
    Bytes one = test::notify_frame(i, 1);
    chunk.insert(chunk.end(), one.begin(), one.end());
  }
  size_t chunks_sent = 0;
  bool cut = false;
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  for (; chunks_sent < 1000 && !cut && std::chrono::steady_clock::now() < give_up; ++chunks_sent) {
    size_t off = 0;
    while (off < chunk.size() && std::chrono::steady_clock::now() < give_up) {
      ssize_t w = c.send_some(chunk.data() + off, chunk.size() - off, 100ms);
      if (w < 0) {
        cut = true;
        break;
      }
      off += static_cast<size_t>(w);
    }
  }
  EXPECT_TRUE(cut) << "the server took all " << chunks_sent << "k NOTIFYs without anyone reading";
  ASSERT_TRUE(wait_stats([](const Stats& s) { return s.slow_reader_disconnects == 1 && s.connections_current == 0; }));
  const Stats s = server_->stats();
  EXPECT_GE(s.read_pauses, 1u);
  EXPECT_LT(s.notify_frames, 1'000'000u);
  // The queue never grew past the bound by more than one ACK.
  EXPECT_LE(s.output_queue_peak, server_->max_output_bytes() + 4 + kDefaultMaxFrameSize);
  EXPECT_GT(s.output_queue_peak, 0u);
  EXPECT_TRUE(log_.contains("the peer took none of its ACKs for 300 ms"));
  const size_t rss_after = rss_bytes();
  EXPECT_LT(rss_after, rss_before + 16UL * 1024 * 1024) << "RSS grew from " << rss_before << " to " << rss_after;
  std::printf("offered %zuk NOTIFYs, server read %llu, queue peak %llu bytes, RSS %zu -> %zu KiB\n", chunks_sent,
              static_cast<unsigned long long>(s.notify_frames), static_cast<unsigned long long>(s.output_queue_peak),
              rss_before / 1024, rss_after / 1024);
}

// ---- connection limit, stop

TEST_F(ServerTest, ConnectionsOverTheLimitAreRefusedCountedAndLogged) {
  std::atomic<int> refused{0};
  start(echo_handler, 2, [&](ServerOptions& o) {
    o.max_connections = 2;
    o.on_refused = [&] { ++refused; };
  });
  SpopClient a(server_->port()), b(server_->port());
  a.hello();
  b.hello();
  SpopClient c(server_->port());
  EXPECT_TRUE(c.wait_closed(5s));
  SpopClient d(server_->port());
  EXPECT_TRUE(d.wait_closed(5s));
  EXPECT_TRUE(wait_stats([](const Stats& s) { return s.connections_refused == 2; }));
  EXPECT_TRUE(log_.contains("refused: spoe.max_connections (2) reached"));
  EXPECT_EQ(refused.load(), 2);
  a.close();
  ASSERT_TRUE(wait_stats([](const Stats& s) { return s.connections_current == 1; }));
  SpopClient e(server_->port());
  EXPECT_EQ(e.hello().view.type, FrameType::kAgentHello);
}

// stop() with live idle connections (after HELLO, and one still awaiting
// it): every connection is closed and every thread's io_context runs dry on
// its own (no forced stop), so no coroutine frame is left suspended.
TEST_F(ServerTest, StopWithLiveIdleConnectionsRunsEveryThreadDry) {
  start(echo_handler, 2, [](ServerOptions& o) { o.hello_timeout = 60s; });
  SpopClient a(server_->port()), b(server_->port()), c(server_->port());
  a.hello();
  b.hello();
  ASSERT_TRUE(wait_stats([](const Stats& s) { return s.connections_current == 3 && s.hellos == 2; }));
  const auto t0 = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(server_->stats().connections_current, 0u);  // every Connection destroyed
  EXPECT_FALSE(log_.contains("still busy"));
  EXPECT_TRUE(a.wait_closed(1s));
  EXPECT_TRUE(c.wait_closed(1s));
}

TEST(AcceptBackoff, OnlyForRunningOutOfDescriptorsOrMemory) {
  using boost::system::error_code;
  using boost::system::system_category;
  EXPECT_TRUE(net::accept_should_back_off(error_code(EMFILE, system_category())));
  EXPECT_TRUE(net::accept_should_back_off(error_code(ENFILE, system_category())));
  EXPECT_TRUE(net::accept_should_back_off(error_code(ENOBUFS, system_category())));
  EXPECT_TRUE(net::accept_should_back_off(error_code(ENOMEM, system_category())));
  EXPECT_FALSE(net::accept_should_back_off(error_code(ECONNABORTED, system_category())));
  EXPECT_FALSE(net::accept_should_back_off(error_code()));
}

// Out of file descriptors (RLIMIT_NOFILE below spoe.max_connections): the
// accept loop neither spins a core nor floods the log, and serves again as
// soon as descriptors are free. Before the back-off, accept() failed with
// EMFILE in a tight loop: a core at 100% and one log line per failure.
TEST_F(ServerTest, RunningOutOfDescriptorsNeitherSpinsNorFloodsTheLog) {
  start(echo_handler, 1);
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  std::vector<std::unique_ptr<SpopClient>> clients;
  {
    rlimit low = old;
    low.rlim_cur = 64;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    // Each client takes a descriptor here and, once accepted, one in the
    // server (same process): connect until socket() fails, keep 4 spare.
    for (int i = 0; i < 200; ++i) {
      try {
        clients.push_back(std::make_unique<SpopClient>(server_->port()));
      } catch (const std::exception&) {
        break;
      }
    }
    for (int i = 0; i < 4 && !clients.empty(); ++i) {
      clients.pop_back();  // frees descriptors the server takes, then EMFILE on the rest
    }
    for (int i = 0; i < 8; ++i) {
      try {
        clients.push_back(std::make_unique<SpopClient>(server_->port()));  // left in the backlog
      } catch (const std::exception&) {
        break;
      }
    }
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    std::this_thread::sleep_for(1s);  // a measured interval, not a wait for a condition
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    auto cpu_us = [](const rusage& r) {
      return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1'000'000L + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
    };
    EXPECT_LT(cpu_us(after) - cpu_us(before), 300'000) << "the accept loop spins on EMFILE";
    clients.clear();
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  }
  EXPECT_TRUE(log_.contains("spoe accept failed: Too many open files"));
  size_t failed_lines = 0;
  {
    std::lock_guard lock(log_.m);
    for (auto& [l, s] : log_.lines) {
      failed_lines += s.find("accept failed") != std::string::npos ? 1 : 0;
    }
  }
  EXPECT_LE(failed_lines, 2u);
  // Descriptors free again: a new connection is served.
  SpopClient c(server_->port());
  auto f = c.hello();
  EXPECT_EQ(f.view.type, FrameType::kAgentHello);
}

}  // namespace
}  // namespace spoe
