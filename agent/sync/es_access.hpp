#pragma once
// The sync's only way to Elasticsearch. Reads (GET) go through SyncEs::read;
// writes (PUT, POST, DELETE) only through a WriteGuard, which checks each
// one against the roles its operation was planned in (sync/guard.hpp)
// before sending it: SyncEs's sending function is private to WriteGuard, so
// no sync code can write without the check.
//
// Control thread only. shutdown() ends every request in flight at once and
// makes later ones fail (kCancelled): the agent stops without waiting for a
// restore's sync.timeout.
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "config/config.hpp"
#include "es/cluster_client.hpp"
#include "sync/answers.hpp"
#include "sync/guard.hpp"
#include "sync/status.hpp"
#include "transitions/pipeline.hpp"

namespace haes::sync {

enum class Method { kPut, kPost, kDelete };

class WriteGuard;

class SyncEs {
 public:
  // One ClusterClient per configured cluster. `timeout` bounds a call that
  // passes none (snapshot and restore calls pass their own).
  SyncEs(boost::asio::any_io_executor executor, const Config& config, Duration timeout);
  // GET `path` on `cluster`.
  boost::asio::awaitable<Answer> read(std::string cluster, std::string path,
                                      std::optional<Duration> timeout = std::nullopt);
  void shutdown();
  bool shut() const { return shut_; }

 private:
  friend class WriteGuard;
  boost::asio::awaitable<Answer> send(Method method, std::string cluster, std::string path, std::string body,
                                      std::optional<Duration> timeout);
  std::map<std::string, std::unique_ptr<es::ClusterClient>> clients_;
  bool shut_ = false;
};

// One write as a step asks for it.
struct Write {
  WriteIntent intent;  // kind, cluster, what (for the guard and the messages)
  Method method = Method::kPut;
  std::string path;
  std::string body;
  std::optional<Duration> timeout;
};

inline Write make_write(SyncWrite kind, std::string cluster, std::string what, Method method, std::string path,
                        std::string body = {}, std::optional<Duration> timeout = std::nullopt) {
  Write w;
  w.intent.kind = kind;
  w.intent.cluster = std::move(cluster);
  w.intent.what = std::move(what);
  w.method = method;
  w.path = std::move(path);
  w.body = std::move(body);
  w.timeout = timeout;
  return w;
}

// One read as a step asks for it. Passed to the coroutines as a named
// object, never built in the call (no temporaries into coroutines: GCC 12
// destroys them twice).
struct Read {
  std::string cluster;
  std::string what;  // "counting orders" (for the refusal message)
  std::string path;
  std::optional<Duration> timeout;
};

// The guard of one operation (one sync, planned move, verification or
// write-block recovery), made from its plan; lives as long as the operation.
// Stopping is SyncEs::shut(); `may_run` is asked for automatic plans only.
class WriteGuard {
 public:
  WriteGuard(SyncEs& es, const TransitionPipeline& pipeline, SyncStats& stats, Plan plan, MayRunNow may_run = {});

  const Plan& plan() const { return plan_; }
  // What guard_check says now about `w`, against the stored state; nothing
  // is counted (for a step that wants to stop before its reads too).
  std::optional<Error> check(const WriteIntent& w) const;
  // Checks, then sends. A refusal (kCancelled, kRolesChanged, kSyncHeld,
  // kNotPermitted, ...) is logged, counted in SyncStats::guard_refusals and
  // returned: nothing was sent. Otherwise ES's answer, whatever it is.
  boost::asio::awaitable<Result<Answer>> write(Write w);
  // A GET of this operation, checked first by read_check: a refusal is
  // returned as an Answer with no HTTP answer (transport = the refusal, its
  // code kept), logged at debug and not counted; nothing was sent.
  boost::asio::awaitable<Answer> read(Read r);
  // Every write sent so far (what the refusal messages list).
  const std::vector<WriteIntent>& sent() const { return sent_; }

 private:
  SyncEs& es_;
  const TransitionPipeline& pipeline_;
  SyncStats& stats_;
  Plan plan_;
  MayRunNow may_run_;
  std::vector<WriteIntent> sent_;
  GuardContext context() const { return GuardContext{es_.shut(), may_run_}; }
};

// An es::ClusterClient result as the pure layer reads it.
Answer answer_of(const Result<es::Response>& r);

}  // namespace haes::sync
