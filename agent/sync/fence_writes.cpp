// Fencing beyond HAProxy: the I/O side of sync/fence.hpp.
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include "sync/fence.hpp"
#include "sync/internal.hpp"

namespace haes {

namespace asio = boost::asio;

namespace {
// A fence that failed (the cluster answers health checks but refuses the
// settings update) is tried again after this, not every round.
constexpr std::chrono::seconds kFenceRetry{5};
}  // namespace

void SnapshotSync::fence_if_needed() {
  if (fencing_ || lifting_ || busy_ || stopping_ || !waiting_.empty()) {
    return;
  }
  const auto target = sync::fence_target(state(), ctx_.latest_round());
  if (!target || std::chrono::steady_clock::now() < next_fence_try_) {
    return;
  }
  if (automatic_refused()) {
    return;  // another agent (the leader) fences
  }
  fencing_ = true;
  asio::co_spawn(
      io_,
      [this, cluster = *target]() -> asio::awaitable<void> {
        co_await fence(cluster);
        fencing_ = false;
      },
      asio::detached);
}

asio::awaitable<void> SnapshotSync::fence(std::string cluster) {
  if (busy_ || stopping_) {
    co_return;
  }
  Busy busy(*this, SyncOperation::kFence);
  const uint64_t epoch = state().epoch;
  sync::Plan p;
  p.epoch = epoch;
  p.source = state().active;
  p.target = cluster;
  p.automatic = true;
  guard_for(p);
  step("blocking writes on the fenced cluster " + cluster);
  // The block first, then the marker: a crash between the two leaves a
  // block without a marker, which the next start puts again (idempotent);
  // never a marker without a block.
  auto r = co_await set_write_block(cluster, true);
  if (!r) {
    next_fence_try_ = std::chrono::steady_clock::now() + kFenceRetry;
    if (r.error().message != last_fence_error_) {
      last_fence_error_ = r.error().message;
      spdlog::error(
          "fencing: {} lost the active role but answers; blocking writes on its synced indices failed: {} — "
          "clients that bypass HAProxy can still write there; retried every {}s",
          cluster, r.error().message, kFenceRetry.count());
    }
    co_return;
  }
  const WriteBlock block{cluster, now_sys(), "sync", true};
  if (auto m = co_await mark_write_block(block); !m) {
    next_fence_try_ = std::chrono::steady_clock::now() + kFenceRetry;
    spdlog::error("fencing: writes on {} are blocked but recording the marker failed: {} — retried", cluster,
                  m.error().message);
    co_return;
  }
  last_fence_error_.clear();
  const std::string msg = "writes blocked on the synced indices of " + cluster +
                          " (fenced: it lost the active role); lifted when a sync replaces them, or at once if " +
                          cluster + " becomes active again";
  spdlog::warn("fencing: {}", msg);
  const std::string actor = "sync";
  co_await journal(EventKind::kFenceWrites, epoch, actor, msg);
}

}  // namespace haes
