#pragma once
// Internal to SnapshotSync's translation units (snapshot_sync.cpp,
// es_steps.cpp, switchover.cpp, verify_restore.cpp): the Busy scope.
#include "sync/snapshot_sync.hpp"

namespace haes {

// One operation's scope, in its coroutine frame: marks the sync busy with
// `operation`; at the end clears the step and the operation's guard, and
// wakes the operations waiting for it. The frame always ends before the
// SnapshotSync is destroyed (stop() ends every wait and request; the agent
// runs the io_context dry before destroying components).
class SnapshotSync::Busy {
 public:
  Busy(SnapshotSync& s, SyncOperation operation) : s_(s) {
    s_.busy_ = true;
    s_.status_.operation = operation;
  }
  ~Busy() {
    s_.busy_ = false;
    s_.guard_.reset();
    s_.step_.clear();
    s_.status_.operation = SyncOperation::kNone;
    s_.refresh_step();
    for (auto& w : s_.waiting_) {
      w.timer->cancel();
    }
  }
  Busy(const Busy&) = delete;
  Busy& operator=(const Busy&) = delete;

 private:
  SnapshotSync& s_;
};

}  // namespace haes
