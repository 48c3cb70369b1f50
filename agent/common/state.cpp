#include "common/state.hpp"

#include <algorithm>

namespace haes {

bool State::is_fenced(std::string_view cluster) const {
  return std::find(fenced.begin(), fenced.end(), cluster) != fenced.end();
}

EventKind event_kind_of(Transition t) {
  switch (t) {
    case Transition::kFailover: return EventKind::kFailover;
    case Transition::kForcedFailover: return EventKind::kForcedFailover;
    case Transition::kFailback: return EventKind::kFailback;
    case Transition::kSwitchover: return EventKind::kSwitchover;
  }
  return EventKind::kOther;
}

namespace {
bool same_sync(const SyncPoint& a, const SyncPoint& b) {
  return a.snapshot == b.snapshot && a.source == b.source && a.target == b.target && a.epoch == b.epoch &&
         a.started_at == b.started_at && a.finished_at == b.finished_at;
}
bool same_pause(const PauseInfo& a, const PauseInfo& b) {
  return a.paused == b.paused && a.by == b.by && a.reason == b.reason && a.since == b.since && a.until == b.until;
}
}  // namespace

bool same_logical_state(const State& a, const State& b) {
  return a.epoch == b.epoch && a.active == b.active && a.fenced == b.fenced && a.reason == b.reason &&
         a.changed_at == b.changed_at && a.changed_by == b.changed_by && same_pause(a.pause, b.pause) &&
         a.hold_down_until == b.hold_down_until && same_sync(a.last_sync, b.last_sync) &&
         a.write_block.cluster == b.write_block.cluster && a.write_block.since == b.write_block.since &&
         a.write_block.by == b.write_block.by && a.write_block.fence == b.write_block.fence &&
         a.sync_hold.held == b.sync_hold.held && a.sync_hold.by == b.sync_hold.by &&
         a.sync_hold.reason == b.sync_hold.reason && a.sync_hold.since == b.sync_hold.since;
}

}  // namespace haes
