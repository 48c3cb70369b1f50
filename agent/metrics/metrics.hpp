#pragma once
// Prometheus text format 0.0.4 (STYLE.md §11). MetricsText writes families:
// each family's HELP and TYPE once, then its samples. Who declares what:
//  - counters of a component are typed fields of its stats struct, declared
//    once with name and help in its visit() (metrics/stats.hpp);
//  - gauges that describe the state are rendered from the status model
//    (status/metrics.cpp), declared once there.
// docs/metrics.md lists every family; a unit test keeps it complete.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace haes {

enum class MetricType { kCounter, kGauge, kHistogram };
std::string_view to_string(MetricType t);

struct MetricFamily {
  std::string name;
  MetricType type = MetricType::kGauge;
  std::string help;
};

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;
using LabelSet = std::vector<std::pair<std::string, std::string>>;

class MetricsText {
 public:
  // Starts a family: writes HELP and TYPE (once per name; a second call with
  // the same name continues it). Counter names end in _total.
  void family(std::string_view name, MetricType type, std::string_view help);
  // A sample of the family started last. `suffix` is "_bucket", "_sum",
  // "_count" for histograms.
  void sample(Labels labels, double value, std::string_view suffix = {});
  void sample(const LabelSet& base, Labels extra, double value, std::string_view suffix = {});
  // family() + sample() for a one-sample family.
  void single(std::string_view name, MetricType type, std::string_view help, double value);
  std::string take() { return std::move(out_); }
  // Every family started so far (for the catalogue test).
  const std::vector<MetricFamily>& families() const { return families_; }

 private:
  void write_sample(const LabelSet* base, Labels extra, double value, std::string_view suffix);
  std::vector<MetricFamily> families_;
  std::string current_;
  std::string out_;
};

std::string escape_label_value(std::string_view v);

}  // namespace haes
