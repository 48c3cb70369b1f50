// The admin socket server: its session idiom (stop, deadlines, limits).
#include "admin/admin_server.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>

#include "../http/edge_test_util.hpp"

namespace haes::admin {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::RawClient;

struct AdminFixture {
  asio::io_context ctx;
  CommandTable table;
  std::string path;
  int refused = 0;
  std::unique_ptr<AdminServer> server;
  explicit AdminFixture(std::function<void(AdminServerOptions&)> tweak = {}) {
    table.add(CommandSpec{{"ping"}, "ping", "answers pong", {}, 0, false, [](const Args&, const Peer&) {
                            Reply r;
                            r.text = "pong";
                            return r;
                          }});
    table.seal();
    path = (std::filesystem::temp_directory_path() /
            ("haes-admin-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sock"))
               .string();
    AdminServerOptions o;
    o.on_refused = [this] { ++refused; };
    if (tweak) {
      tweak(o);
    }
    server = std::make_unique<AdminServer>(ctx, path, 0600, table, o);
    auto started = server->start();
    EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.error().message);
  }
  ~AdminFixture() {
    server->stop();
    test::runs_dry(ctx);
  }
  std::string exchange(RawClient& c, const std::string& request) {
    c.send(request);
    std::string answer;
    test::run_until(ctx, [&] {
      answer += c.read_all(5ms);
      return c.eof() || answer.find("\n\n") != std::string::npos;
    });
    return answer;
  }
};

TEST(AdminServer, StopWithLiveIdleSessionsRunsTheIoContextDry) {
  AdminFixture f([](AdminServerOptions& o) { o.io_timeout = 60s; });
  auto a = RawClient::unix_socket(f.path);
  auto b = RawClient::unix_socket(f.path);
  EXPECT_EQ(f.exchange(b, "ping\n"), "pong\n\n");  // b stays open, idle between requests
  auto c = RawClient::unix_socket(f.path);
  c.send("pi");  // half a line
  ASSERT_TRUE(test::run_until(f.ctx, [&] { return f.server->sessions() == 3; }));
  f.server->stop();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(test::runs_dry(f.ctx));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(f.server->sessions(), 0u);
  EXPECT_FALSE(std::filesystem::exists(f.path));
  for (RawClient* r : {&a, &b, &c}) {
    r->read_all(1s);
    EXPECT_TRUE(r->eof());
  }
}

// Slow-loris: a line that never ends is cut at io_timeout.
TEST(AdminServer, ALineThatNeverEndsIsCutAtItsDeadline) {
  AdminFixture f([](AdminServerOptions& o) { o.io_timeout = 300ms; });
  auto c = RawClient::unix_socket(f.path);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(test::run_until(
      f.ctx,
      [&] {
        c.send("p");
        c.read_all(1ms);
        return c.eof();
      },
      5s));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(f.table.stats().unparsed.value(), 0u);  // the partial line was never run
}

TEST(AdminServer, AnOversizedLineGetsAUsageErrorAndTheConnectionCloses) {
  AdminFixture f;
  auto c = RawClient::unix_socket(f.path);
  std::string answer = f.exchange(c, std::string(5000, 'x') + "\n");
  EXPECT_EQ(answer, "error: bad command: request line longer than 4096 bytes\n\n");
  test::run_until(f.ctx, [&] {
    c.read_all(5ms);
    return c.eof();
  });
  EXPECT_TRUE(c.eof());
}

TEST(AdminServer, ConnectionsOverTheLimitAreClosedCountedAndTheRestServed) {
  AdminFixture f([](AdminServerOptions& o) { o.max_connections = 1; });
  auto a = RawClient::unix_socket(f.path);
  ASSERT_TRUE(test::run_until(f.ctx, [&] { return f.server->sessions() == 1; }));
  auto b = RawClient::unix_socket(f.path);
  ASSERT_TRUE(test::run_until(f.ctx, [&] { return f.refused == 1; }));
  EXPECT_EQ(b.read_all(1s), "");
  EXPECT_TRUE(b.eof());
  EXPECT_EQ(f.exchange(a, "ping\n"), "pong\n\n");
}

// The peer-credential check, rule by rule (admin.mode against the peer's
// uid and groups, whatever the socket file's mode has become).
TEST(AdminServer, PeerAllowedFollowsTheConfiguredModeByUidAndGroups) {
  const uid_t owner = 998;  // the agent's user (haes)
  const gid_t group = 997;  // the socket's group (haes)
  const PeerIds root{0, 0, {}};
  const PeerIds agent_user{owner, 500, {}};
  const PeerIds member{1001, 1001, {1001, group}};  // haes is a supplementary group
  const PeerIds primary{1002, group, {}};
  const PeerIds stranger{65534, 65534, {65534}};
  for (unsigned mode : {0600U, 0660U, 0666U}) {
    EXPECT_TRUE(peer_allowed(root, owner, group, mode)) << std::oct << mode;
    EXPECT_TRUE(peer_allowed(agent_user, owner, group, mode)) << std::oct << mode;
  }
  EXPECT_FALSE(peer_allowed(member, owner, group, 0600));
  EXPECT_FALSE(peer_allowed(primary, owner, group, 0600));
  EXPECT_FALSE(peer_allowed(stranger, owner, group, 0600));
  EXPECT_TRUE(peer_allowed(member, owner, group, 0660));
  EXPECT_TRUE(peer_allowed(primary, owner, group, 0660));
  EXPECT_FALSE(peer_allowed(stranger, owner, group, 0660));
  EXPECT_FALSE(peer_allowed(member, owner, group, 0640));  // read without write: connect() needs write
  EXPECT_TRUE(peer_allowed(stranger, owner, group, 0666));
}

}  // namespace
}  // namespace haes::admin
