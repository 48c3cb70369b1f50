// The SPOP server: HELLO, NOTIFY and ACK, and the protocol pitfalls.
#include "server_fixture.hpp"

#include <gtest/gtest.h>

namespace spoe {
namespace {

using namespace std::chrono_literals;
using namespace spoe::test_server;
using test::SpopClient;

TEST_F(ServerTest, HelloWithHaproxy26GoldenFrame) {
  start();
  SpopClient c(server_->port());
  c.send(hex(golden::kHaproxyHello));
  auto f = c.recv_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->view.type, FrameType::kAgentHello);
  EXPECT_EQ(f->view.flags, kFlagFin);
  EXPECT_EQ(f->view.stream_id, 0u);
  EXPECT_EQ(f->view.frame_id, 0u);
  AgentHello h;
  ASSERT_EQ(parse_agent_hello(f->view.payload, h), Status::kNormal);
  EXPECT_EQ(h.version, "2.0");
  EXPECT_EQ(h.max_frame_size, 16380u);
  EXPECT_EQ(h.capabilities, "pipelining");
}

TEST_F(ServerTest, MaxFrameSizeIsTheSmallerOfBoth) {
  start(echo_handler, 1, [](ServerOptions& o) { o.max_frame_size = 4096; });
  SpopClient a(server_->port());
  AgentHello h;
  auto f = a.hello(16380);
  parse_agent_hello(f.view.payload, h);
  EXPECT_EQ(h.max_frame_size, 4096u);
  SpopClient b(server_->port());
  f = b.hello(1024);
  parse_agent_hello(f.view.payload, h);
  EXPECT_EQ(h.max_frame_size, 1024u);
  // The negotiated size binds HAProxy's frames too.
  Bytes big;
  FrameBuilder nb(big, FrameType::kNotify, 1, 1);
  nb.message("haes-route", 1).arg("cluster", Value::string(std::string(2000, 'x')));
  nb.finish();
  b.send(big);
  auto d = b.recv_frame();
  ASSERT_TRUE(d);
  EXPECT_EQ(disconnect_of(*d).status_code, 3u);
}

TEST_F(ServerTest, Pitfall6_VersionListsAndUnsupportedVersions) {
  start();
  {
    SpopClient c(server_->port());
    auto f = c.hello(16380, "pipelining", "2.0, 1.5");
    EXPECT_EQ(f.view.type, FrameType::kAgentHello);
  }
  Bytes b;
  build_haproxy_hello(b, "1.0", 16380, "", "e", false);
  expect_disconnect(b, Status::kBadVersion, false);
  b.clear();
  build_haproxy_hello(b, "2.0", 100, "", "e", false);
  expect_disconnect(b, Status::kBadFrameSize, false);
  b.clear();
  FrameBuilder nf(b, FrameType::kHaproxyHello, 0, 0);
  nf.kv("supported-versions", Value::string("2.0")).kv("capabilities", Value::string(""));
  nf.finish();
  expect_disconnect(b, Status::kNoFrameSize, false);
}

TEST_F(ServerTest, Pitfall5_HealthcheckHelloIsAnsweredThenClosedQuietly) {
  start();
  for (const char* g : {golden::kHealthcheckHello, golden::kHealthcheckHello31}) {
    SpopClient c(server_->port());
    c.send(hex(g));
    auto f = c.recv_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->view.type, FrameType::kAgentHello);
    EXPECT_EQ(f->view.flags, kFlagFin);
    EXPECT_TRUE(c.wait_closed());
  }
  EXPECT_TRUE(wait_stats([](const Stats& s) { return s.healthchecks == 2; }));
  EXPECT_EQ(log_.above_debug(), 1u);  // only the "listening" line
}

TEST_F(ServerTest, NotifyIsAckedWithTheSameIdsAndTheHandlersActions) {
  start();
  SpopClient c(server_->port());
  c.hello();
  c.send(hex(golden::kNotify));  // sid 0, fid 1, cluster=dc1
  c.send(test::notify_frame(2288, 300, "dc2"));
  auto a1 = c.recv_frame();
  auto a2 = c.recv_frame();
  ASSERT_TRUE(a1 && a2);
  EXPECT_EQ(a1->view.type, FrameType::kAck);
  EXPECT_EQ(a1->view.stream_id, 0u);
  EXPECT_EQ(a1->view.frame_id, 1u);
  ActionReader r1(a1->view.payload);
  Action a;
  ASSERT_EQ(r1.next(a), Next::kItem);
  EXPECT_EQ(a.name, "cluster");
  EXPECT_EQ(a.value.bytes, "dc1");
  EXPECT_EQ(a2->view.stream_id, 2288u);
  EXPECT_EQ(a2->view.frame_id, 300u);
  ActionReader r2(a2->view.payload);
  ASSERT_EQ(r2.next(a), Next::kItem);
  EXPECT_EQ(a.value.bytes, "dc2");
}

// Pitfall 9: an empty NOTIFY, an unknown message, a handler that writes
// nothing: still an ACK, always with at least one action.
TEST_F(ServerTest, Pitfall9_EveryAckCarriesAnAction) {
  start([](const NotifyView&, AckWriter&) {});
  SpopClient c(server_->port());
  c.hello();
  Bytes empty;
  FrameBuilder(empty, FrameType::kNotify, 1, 1).finish();
  c.send(empty);
  auto f = c.recv_frame();
  ASSERT_TRUE(f);
  ActionReader r(f->view.payload);
  Action a;
  ASSERT_EQ(r.next(a), Next::kItem);
  EXPECT_EQ(a.type, ActionType::kUnsetVar);
  EXPECT_EQ(a.name, kNoopVarName);
}

// Pitfall 8: 20 pipelined NOTIFYs answered out of order, each matched by ids.
TEST_F(ServerTest, Pitfall8_PipelinedNotifiesAnsweredOutOfOrder) {
  std::mutex m;
  std::vector<DeferredAck> pending;
  std::promise<void> all_in;
  start([&](const NotifyView& n, AckWriter& ack) {
    DeferredAck d = ack.defer();
    std::lock_guard lock(m);
    pending.push_back(std::move(d));
    if (pending.size() == 20) {
      all_in.set_value();
    }
  });
  SpopClient c(server_->port());
  c.hello();
  Bytes batch;
  for (uint64_t i = 1; i <= 20; ++i) {
    Bytes one = test::notify_frame(1000 + i, i);
    batch.insert(batch.end(), one.begin(), one.end());
  }
  c.send(batch);
  ASSERT_EQ(all_in.get_future().wait_for(10s), std::future_status::ready);
  // Complete in reverse order, from this (non-server) thread.
  {
    std::lock_guard lock(m);
    for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
      it->set_var(Scope::kTxn, "fid", Value::uint64(it->frame_id()));
      it->complete();
    }
  }
  for (uint64_t i = 20; i >= 1; --i) {
    auto f = c.recv_frame();
    ASSERT_TRUE(f) << i;
    EXPECT_EQ(f->view.stream_id, 1000 + i);
    EXPECT_EQ(f->view.frame_id, i);
    ActionReader r(f->view.payload);
    Action a;
    ASSERT_EQ(r.next(a), Next::kItem);
    EXPECT_EQ(a.value.integer, i);
  }
  EXPECT_TRUE(wait_stats([](const Stats& s) { return s.acks_deferred == 20 && s.acks == 20; }));
}

// Pitfall 3: a frame split at every byte position, and one byte per send.
TEST_F(ServerTest, Pitfall3_DribbledBytesAndEverySplit) {
  start();
  Bytes stream = hex(golden::kHaproxyHello);
  Bytes notify = hex(golden::kNotify);
  for (size_t split = 1; split < notify.size(); split += 7) {
    SpopClient c(server_->port());
    c.send(stream);
    ASSERT_TRUE(c.recv_frame());
    c.send(notify.data(), split);
    c.send(notify.data() + split, notify.size() - split);
    auto f = c.recv_frame();
    ASSERT_TRUE(f) << split;
    EXPECT_EQ(f->view.type, FrameType::kAck);
  }
  SpopClient d(server_->port());
  Bytes all = stream;
  all.insert(all.end(), notify.begin(), notify.end());
  for (uint8_t byte : all) {
    d.send(&byte, 1);
  }
  auto hello = d.recv_frame();
  auto ack = d.recv_frame();
  ASSERT_TRUE(hello && ack);
  EXPECT_EQ(ack->view.type, FrameType::kAck);
}

TEST_F(ServerTest, ManyFramesInOneWrite) {
  start();
  SpopClient c(server_->port());
  Bytes all = hex(golden::kHaproxyHello);
  for (uint64_t i = 1; i <= 200; ++i) {
    Bytes one = test::notify_frame(i, 1);
    all.insert(all.end(), one.begin(), one.end());
  }
  c.send(all);
  ASSERT_TRUE(c.recv_frame());
  for (uint64_t i = 1; i <= 200; ++i) {
    auto f = c.recv_frame();
    ASSERT_TRUE(f) << i;
    EXPECT_EQ(f->view.stream_id, i);  // synchronous handlers answer in order
  }
}

// Pitfall 1: HTTP or TLS bytes on the SPOP port: DISCONNECT 3, no allocation.
TEST_F(ServerTest, Pitfall1_HttpAndTlsBytesAreTooBig) {
  start();
  Bytes http = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '0', '\r', '\n', '\r', '\n'};
  expect_disconnect(http, Status::kTooBig, false);
  expect_disconnect(hex("16 03 01 06 00 01 00"), Status::kTooBig, false);
  expect_disconnect(http, Status::kTooBig, true);
}

// Pitfall 2: a length too short for a header.
TEST_F(ServerTest, Pitfall2_GarbageIsInvalid) {
  start();
  expect_disconnect(hex("00 00 00 05 01 00 00 00 01"), Status::kInvalid, false);
  expect_disconnect(hex("00 00 00 00"), Status::kInvalid, true);
}

// Pitfall 4: NOTIFY or DISCONNECT before HELLO, a second HELLO, agent or
// unknown frame types from HAProxy.
TEST_F(ServerTest, Pitfall4_FramesOutOfPlace) {
  start();
  expect_disconnect(test::notify_frame(1, 1), Status::kInvalid, false);
  Bytes disc;
  build_haproxy_disconnect(disc, Status::kNormal, "");
  expect_disconnect(disc, Status::kInvalid, false);
  expect_disconnect(hex(golden::kHaproxyHello), Status::kInvalid, true);
  expect_disconnect(hex("00 00 00 07 67 00 00 00 01 01 01"), Status::kInvalid, true);  // ACK
  expect_disconnect(hex("00 00 00 07 2a 00 00 00 01 01 01"), Status::kInvalid, true);  // type 42
}

// Pitfall 7: non-FIN frames and UNSET fragments: fragmentation is not ours.
TEST_F(ServerTest, Pitfall7_NonFinAndFragmentsAreRefused) {
  start();
  expect_disconnect(hex("00 00 00 07 03 00 00 00 00 01 01"), Status::kFragmentationNotSupported, true);
  expect_disconnect(hex("00 00 00 07 00 00 00 00 01 01 01"), Status::kFragmentationNotSupported, true);
}

// Pitfall 11: HAPROXY-DISCONNECT is answered with AGENT-DISCONNECT and a close.
TEST_F(ServerTest, Pitfall11_HaproxyDisconnectIsAnswered) {
  start();
  SpopClient c(server_->port());
  c.hello();
  c.send(hex(golden::kHaproxyDisconnect));
  auto f = c.recv_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(disconnect_of(*f).status_code, 0u);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(wait_stats([](const Stats& s) { return s.disconnects_received[status_slot(Status::kTimeout)] == 1; }));
}

// Pitfall 11: EOF mid-frame and a plain TCP connect-and-close are quiet.
TEST_F(ServerTest, Pitfall11_EofMidFrameAndPlainConnectAreQuiet) {
  start();
  {
    SpopClient c(server_->port());
    c.hello();
    Bytes n = test::notify_frame(1, 1);
    c.send(n.data(), n.size() / 2);
  }
  { SpopClient plain(server_->port()); }
  EXPECT_TRUE(wait_stats([](const Stats& s) { return s.connections_total == 2 && s.connections_current == 0; }));
  EXPECT_EQ(log_.above_debug(), 1u);  // only the "listening" line
}

TEST_F(ServerTest, OneConnectionsErrorNeverAffectsAnother) {
  start();
  SpopClient good(server_->port());
  good.hello();
  for (int round = 0; round < 5; ++round) {
    SpopClient bad(server_->port());
    bad.send(hex("47 45 54 20 2f"));
    good.send(test::notify_frame(round + 1, 1));
    auto f = good.recv_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->view.type, FrameType::kAck);
  }
}

TEST_F(ServerTest, AThrowingHandlerClosesOnlyItsConnection) {
  start([](const NotifyView& n, AckWriter& ack) {
    if (n.stream_id == 666) {
      throw std::runtime_error("boom");
    }
    ack.set_var(Scope::kTxn, "ok", Value::boolean_value(true));
  });
  SpopClient good(server_->port());
  good.hello();
  SpopClient bad(server_->port());
  bad.hello();
  bad.send(test::notify_frame(666, 1));
  auto f = bad.recv_frame();
  ASSERT_TRUE(f);
  Disconnect d = disconnect_of(*f);
  EXPECT_EQ(d.status_code, 99u);
  EXPECT_NE(d.message.find("boom"), std::string_view::npos);
  good.send(test::notify_frame(1, 1));
  ASSERT_TRUE(good.recv_frame());
  EXPECT_EQ(server_->stats().handler_errors, 1u);
}

TEST_F(ServerTest, AnAckOverTheFrameSizeIsSentWithoutActions) {
  start([](const NotifyView&, AckWriter& ack) {
    ack.set_var(Scope::kTxn, "huge", Value::string(std::string(600, 'x')));
  });
  SpopClient c(server_->port());
  c.hello(256);
  c.send(test::notify_frame(5, 6));
  auto f = c.recv_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->view.stream_id, 5u);
  ActionReader r(f->view.payload);
  Action a;
  ASSERT_EQ(r.next(a), Next::kItem);
  EXPECT_EQ(a.name, kNoopVarName);
  EXPECT_TRUE(log_.contains("over max-frame-size"));
}

TEST_F(ServerTest, SilentConnectionsAreClosedAtTheHelloDeadline) {
  start(echo_handler, 1, [](ServerOptions& o) { o.hello_timeout = 200ms; });
  SpopClient c(server_->port());
  EXPECT_TRUE(c.wait_closed(10s));
}

}  // namespace
}  // namespace spoe
