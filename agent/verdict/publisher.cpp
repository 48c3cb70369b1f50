#include "verdict/publisher.hpp"

#include <memory>

namespace haes {

VerdictPublisher::VerdictPublisher(const Config& config, VerdictView& view, Encode encode)
    : fail_threshold_(static_cast<int>(config.failover.fail_threshold)), view_(view), encode_(std::move(encode)) {
  for (const auto& c : config.clusters) {
    ClusterNodes cn{c.name, {}};
    for (const auto& n : c.nodes) {
      cn.nodes.push_back(n.name);
    }
    clusters_.push_back(std::move(cn));
  }
}

void VerdictPublisher::publish(const State& state, const HealthRound* round, std::vector<StreakInfo> streaks,
                               SysTime now, const std::optional<VerdictWindow>& window) {
  VerdictInputs in;
  in.state = &state;
  in.round = round;
  in.clusters = clusters_;
  in.streaks = std::move(streaks);
  in.fail_threshold = fail_threshold_;
  in.now = now;
  auto v = std::make_shared<Verdict>(build_verdict(in));
  if (encode_) {
    v->spoe_actions = encode_(*v);
  }
  if (window) {
    auto closed = std::make_shared<Verdict>(*v);
    closed->cluster.clear();
    closed->allow = false;
    closed->reason = window->closed_reason;
    for (auto& c : closed->clusters) {
      if (c.may_take_traffic) {
        c.may_take_traffic = false;
        c.reason = window->closed_reason;
        for (auto& n : c.nodes) {
          n.may_take_traffic = false;
          n.reason = window->closed_reason;
        }
      }
    }
    if (encode_) {
      closed->spoe_actions = encode_(*closed);
    }
    v->valid_from = window->from;
    v->valid_until = window->until;
    v->outside = std::move(closed);
  }
  view_.publish(std::move(v));
}

}  // namespace haes
