#pragma once
// Runs a program (no shell) as a child of the agent without blocking the
// io_context: its stdout and stderr come through one pipe read with an
// Asio stream_descriptor; its exit is polled (waitpid WNOHANG) on a timer.
// Used for rsync (repository_copy.cpp).
//
// The child runs in its own process group with an empty signal mask, stdin
// on /dev/null, and gets SIGKILL if the agent's thread that started it dies
// (PR_SET_PDEATHSIG: an agent killed with -9 leaves no rsync writing behind
// it). Past `timeout`, or at Children::kill_all() (the agent stopping), the
// whole group gets SIGTERM, then SIGKILL 2 s later.
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <string>
#include <vector>

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/time.hpp"

namespace haes::sync {

struct ChildOutcome {
  bool started = false;  // false: could not be run (output says why)
  int exit_code = -1;    // -1: did not exit normally
  int signal = 0;        // the signal that ended it
  bool timed_out = false;
  std::string output;  // stdout + stderr: the last 32 KiB
  Duration took{0};
  bool ok() const { return started && exit_code == 0 && signal == 0 && !timed_out; }
};

// The children running now, so that stopping the agent ends them.
class Children {
 public:
  void add(pid_t pid) { pids_.push_back(pid); }
  void remove(pid_t pid) { std::erase(pids_, pid); }
  // SIGTERM to each group (its run_child then escalates to SIGKILL).
  void kill_all() const;

 private:
  std::vector<pid_t> pids_;
};

// argv[0]: a program name looked up in PATH, or a path. Runs on the
// executor's thread; returns when the child has exited and was reaped.
boost::asio::awaitable<ChildOutcome> run_child(boost::asio::any_io_executor ex, std::vector<std::string> argv,
                                               Duration timeout, Children* children);

}  // namespace haes::sync
