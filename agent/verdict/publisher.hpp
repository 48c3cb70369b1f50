#pragma once
// VerdictPublisher: builds the verdict from the stored state, the latest
// health round and the controller's streaks, pre-encodes its SPOE actions and
// publishes it whole (STYLE.md §5). Control thread only.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "verdict/builder.hpp"
#include "verdict/verdict.hpp"

namespace haes {

// Several agents: the window in which this agent may answer positive
// (cluster/rules.hpp), and why it may not outside it.
struct VerdictWindow {
  std::chrono::steady_clock::time_point from{};
  std::chrono::steady_clock::time_point until{};
  std::string closed_reason;
};

class VerdictPublisher {
 public:
  using Encode = std::function<std::vector<uint8_t>(const Verdict&)>;
  VerdictPublisher(const Config& config, VerdictView& view, Encode encode);
  void publish(const State& state, const HealthRound* round, std::vector<StreakInfo> streaks, SysTime now,
               const std::optional<VerdictWindow>& window = std::nullopt);
  VerdictView& view() { return view_; }

 private:
  std::vector<ClusterNodes> clusters_;
  int fail_threshold_;
  VerdictView& view_;
  Encode encode_;
};

}  // namespace haes
