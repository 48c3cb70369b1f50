#include "hooks/hook_runner.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <future>
#include <mutex>
#include <vector>

namespace haes {
namespace {

using namespace std::chrono_literals;

struct Collected {
  std::mutex m;
  std::vector<std::pair<RoleChange, HookOutcome>> done;
  std::promise<void> all;
  size_t expect = 1;
};

HookRunner::DoneFn collect(Collected& c) {
  return [&c](const RoleChange& rc, const HookOutcome& out) {
    std::lock_guard lock(c.m);
    c.done.emplace_back(rc, out);
    if (c.done.size() == c.expect) {
      c.all.set_value();
    }
  };
}

RoleChange change(uint64_t epoch) {
  return RoleChange{Transition::kFailover, "dc1", "dc2", epoch, "dc1 red for 3 rounds", "controller"};
}

void wait_all(Collected& c) { ASSERT_EQ(c.all.get_future().wait_for(30s), std::future_status::ready); }

TEST(HookRunner, PassesTheRoleChangeInTheEnvironment) {
  Collected c;
  {
    HookRunner runner(
        "echo \"$HAES_EVENT|$HAES_OLD_ACTIVE|$HAES_NEW_ACTIVE|$HAES_EPOCH|$HAES_REASON|$HAES_CHANGED_BY\"", 10s,
        collect(c));
    runner.submit(change(8));
    wait_all(c);
  }
  ASSERT_EQ(c.done.size(), 1u);
  const HookOutcome& out = c.done[0].second;
  EXPECT_TRUE(out.started);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_FALSE(out.timed_out);
  EXPECT_EQ(out.output, "failover|dc1|dc2|8|dc1 red for 3 rounds|controller");
}

TEST(HookRunner, ReportsAFailingHookWithItsOutput) {
  Collected c;
  HookRunner runner("echo no route to pager >&2; exit 3", 10s, collect(c));
  runner.submit(change(2));
  wait_all(c);
  EXPECT_EQ(c.done[0].second.exit_code, 3);
  EXPECT_EQ(c.done[0].second.output, "no route to pager");
}

TEST(HookRunner, KillsAHookPastItsTimeout) {
  Collected c;
  HookRunner runner("echo started; exec sleep 60", 300ms, collect(c));
  runner.submit(change(2));
  wait_all(c);
  const HookOutcome& out = c.done[0].second;
  EXPECT_TRUE(out.timed_out);
  EXPECT_EQ(out.signal, SIGKILL);
  EXPECT_EQ(out.output, "started");
  EXPECT_LT(out.took, 10s);
}

TEST(HookRunner, KillsWhatAHookLeftRunningInItsGroup) {
  Collected c;
  std::string pidfile = ::testing::TempDir() + "/hook-leftover-" + std::to_string(getpid());
  HookRunner runner("sleep 60 >/dev/null 2>&1 & echo $! > " + pidfile, 10s, collect(c));
  runner.submit(change(2));
  wait_all(c);
  EXPECT_EQ(c.done[0].second.exit_code, 0);
  pid_t leftover = 0;
  std::ifstream(pidfile) >> leftover;
  ASSERT_GT(leftover, 0);
  // SIGKILL was sent to the group; the process is gone or a zombie awaiting init.
  auto gone = [&] {
    std::ifstream stat("/proc/" + std::to_string(leftover) + "/stat");
    std::string pid, comm, state;
    return !(stat >> pid >> comm >> state) || state == "Z";
  };
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!gone() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_TRUE(gone());
}

TEST(HookRunner, RunsHooksOneAtATimeInOrder) {
  Collected c;
  c.expect = 3;
  HookRunner runner("echo $HAES_EPOCH", 10s, collect(c));
  for (uint64_t e : {3, 4, 5}) {
    runner.submit(change(e));
  }
  wait_all(c);
  ASSERT_EQ(c.done.size(), 3u);
  EXPECT_EQ(c.done[0].second.output, "3");
  EXPECT_EQ(c.done[1].second.output, "4");
  EXPECT_EQ(c.done[2].second.output, "5");
}

TEST(HookRunner, NoCommandMeansNothingRuns) {
  bool called = false;
  {
    HookRunner runner("", 1s, [&](const RoleChange&, const HookOutcome&) { called = true; });
    runner.submit(change(2));
  }
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace haes
