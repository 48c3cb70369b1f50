#pragma once
// Metrics (STYLE.md §11): every family is declared once in metrics.cpp with
// its type and help; MetricsText writes samples of declared families only,
// each family's HELP/TYPE once, in the Prometheus text format 0.0.4.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace haes {

struct MetricFamily {
  std::string_view name;
  std::string_view type;  // counter, gauge, histogram
  std::string_view help;
};

// The catalogue, in render order (docs/metrics.md lists it).
const std::vector<MetricFamily>& metric_families();

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class MetricsText {
 public:
  // `family` must be declared in the catalogue (asserted; unknown names are
  // a programming error, not input). `suffix` is "_bucket", "_sum", "_count"
  // for histograms.
  void sample(std::string_view family, Labels labels, double value, std::string_view suffix = {});
  std::string take() { return std::move(out_); }

 private:
  std::vector<std::string_view> started_;
  std::string out_;
};

std::string escape_label_value(std::string_view v);

}  // namespace haes
