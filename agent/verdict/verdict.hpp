#pragma once
// The verdict: what every asker (SPOE, health port, agent-check, status) is
// told, computed once per change by the control thread and published whole
// as an immutable snapshot (STYLE.md §5). Readers never wait on anything.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/health.hpp"
#include "common/time.hpp"

namespace haes {

struct NodeVerdict {
  std::string name;
  bool may_take_traffic = false;
  std::string reason;  // one line; why not (or "active" when it may)
};

struct ClusterVerdict {
  std::string name;
  bool active = false;            // holds the active role in this epoch
  bool fenced = false;            // lost the role; out until an operator brings it back
  bool may_take_traffic = false;  // active and not confirmed bad
  Health health = Health::kUnknown;
  std::string reason;  // one line
  std::vector<NodeVerdict> nodes;

  const NodeVerdict* find_node(std::string_view node) const;
};

struct Verdict {
  uint64_t epoch = 0;
  std::string cluster;  // the cluster that may take traffic; empty: none may
  bool allow = false;   // == !cluster.empty()
  std::string reason;   // one line: why allow is false, or a summary
  std::vector<ClusterVerdict> clusters;
  uint64_t round_seq = 0;  // health round it was computed from (0: none yet)
  SysTime built_at{};

  // Pre-encoded SPOP actions for the request-independent part of the ACK
  // (set-var cluster/epoch/allow, or unset-var cluster), so the SPOE handler
  // copies bytes instead of encoding per request.
  std::vector<uint8_t> spoe_actions;

  // Several agents (etcd store): this verdict holds only inside
  // [valid_from, valid_until) of this process's steady clock — the view
  // window of cluster/rules.hpp; outside it every reader gets `outside`
  // instead (the same clusters, none may take traffic, with the reason).
  // Null `outside`: always valid (one agent, the local store), and no clock
  // is read on the verdict path.
  std::chrono::steady_clock::time_point valid_from{};
  std::chrono::steady_clock::time_point valid_until{};
  std::shared_ptr<const Verdict> outside;

  // The verdict to answer at `now`: this one, or `outside`.
  const Verdict& at(std::chrono::steady_clock::time_point now) const {
    return outside && (now < valid_from || now >= valid_until) ? *outside : *this;
  }

  const ClusterVerdict* find_cluster(std::string_view cluster) const;
  const NodeVerdict* find_node(std::string_view cluster, std::string_view node) const;
};

// Holds the current Verdict. publish() is called by the control thread only;
// current() is safe from any thread. The verdict path uses a Reader, which
// keeps a thread-local copy of the pointer and refreshes it only when the
// generation changed: one relaxed atomic load per request, no shared
// reference-count traffic.
class VerdictView {
 public:
  VerdictView();
  void publish(std::shared_ptr<const Verdict> verdict);
  // The verdict in force now (outside its window: its `outside`).
  std::shared_ptr<const Verdict> current() const;
  // As published, whatever its window (status shows both).
  std::shared_ptr<const Verdict> published() const;
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // One per thread (or per connection); not shareable between threads.
  class Reader {
   public:
    explicit Reader(const VerdictView& view) : view_(&view) {}
    const Verdict& get();

   private:
    const VerdictView* view_;
    uint64_t seen_ = 0;
    std::shared_ptr<const Verdict> cached_;
  };

 private:
  std::atomic<uint64_t> generation_{0};
  std::shared_ptr<const Verdict> current_;  // guarded by the atomic free functions
};

}  // namespace haes
