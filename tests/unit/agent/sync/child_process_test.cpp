// run_child with real programs (/bin/sh): output, exit status, the timeout
// (SIGTERM to the whole group), a program that does not exist, and
// Children::kill_all (the agent stopping).
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include "sync/child_process.hpp"

namespace haes::sync {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

ChildOutcome run(std::vector<std::string> argv, Duration timeout, Children* children = nullptr,
                 asio::io_context* shared = nullptr) {
  asio::io_context own;
  asio::io_context& ctx = shared ? *shared : own;
  std::optional<ChildOutcome> out;
  asio::any_io_executor ex = ctx.get_executor();
  asio::co_spawn(ctx, run_child(ex, std::move(argv), timeout, children),
                 [&](const std::exception_ptr& e, ChildOutcome o) {
                   EXPECT_FALSE(e);
                   out = std::move(o);
                 });
  ctx.run();
  return out.value_or(ChildOutcome{});
}

TEST(RunChild, OutputAndExitStatus) {
  auto o = run({"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"}, 10s);
  EXPECT_TRUE(o.started);
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(o.signal, 0);
  EXPECT_FALSE(o.timed_out);
  EXPECT_FALSE(o.ok());
  EXPECT_NE(o.output.find("to-stdout\n"), std::string::npos);
  EXPECT_NE(o.output.find("to-stderr\n"), std::string::npos);
  EXPECT_TRUE(run({"true"}, 10s).ok());  // looked up in PATH
}

TEST(RunChild, PastTheTimeoutTheWholeGroupIsTerminated) {
  const auto t0 = std::chrono::steady_clock::now();
  // The grandchild (sleep) holds the pipe too: only a group kill ends both.
  auto o = run({"/bin/sh", "-c", "sleep 30 & sleep 30; echo never"}, 300ms);
  EXPECT_TRUE(o.timed_out);
  EXPECT_EQ(o.signal, SIGTERM);
  EXPECT_EQ(o.output.find("never"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(RunChild, AMissingProgramIsNotStartedAndSaysWhy) {
  auto o = run({"/nonexistent/rsync", "-a"}, 10s);
  EXPECT_FALSE(o.started);
  EXPECT_NE(o.output.find("cannot run \"/nonexistent/rsync\": No such file or directory"), std::string::npos)
      << o.output;
  auto p = run({"no-such-program-haes"}, 10s);
  EXPECT_FALSE(p.started);
  EXPECT_NE(p.output.find("not found in PATH"), std::string::npos) << p.output;
}

TEST(RunChild, KillAllEndsTheRunningChildren) {
  asio::io_context ctx;
  Children children;
  asio::steady_timer later(ctx, 200ms);
  later.async_wait([&](const boost::system::error_code&) { children.kill_all(); });
  const auto t0 = std::chrono::steady_clock::now();
  auto o = run({"/bin/sh", "-c", "sleep 30"}, 60s, &children, &ctx);
  EXPECT_EQ(o.signal, SIGTERM);
  EXPECT_FALSE(o.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

}  // namespace
}  // namespace haes::sync
