#include "metrics/metrics.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>

namespace haes {

std::string_view to_string(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void MetricsText::family(std::string_view name, MetricType type, std::string_view help) {
  current_ = std::string(name);
  auto it = std::find_if(families_.begin(), families_.end(), [&](const MetricFamily& f) { return f.name == name; });
  if (it != families_.end()) {
    return;
  }
  assert(type != MetricType::kCounter || name.ends_with("_total"));
  families_.push_back(MetricFamily{std::string(name), type, std::string(help)});
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += help;
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += to_string(type);
  out_ += '\n';
}

void MetricsText::single(std::string_view name, MetricType type, std::string_view help, double value) {
  family(name, type, help);
  sample({}, value);
}

void MetricsText::sample(Labels labels, double value, std::string_view suffix) {
  write_sample(nullptr, labels, value, suffix);
}

void MetricsText::sample(const LabelSet& base, Labels extra, double value, std::string_view suffix) {
  write_sample(&base, extra, value, suffix);
}

void MetricsText::write_sample(const LabelSet* base, Labels extra, double value, std::string_view suffix) {
  assert(!current_.empty());
  out_ += current_;
  out_ += suffix;
  const size_t n = (base ? base->size() : 0) + extra.size();
  if (n > 0) {
    out_ += '{';
    bool first = true;
    auto label = [&](std::string_view k, std::string_view v) {
      if (!first) {
        out_ += ',';
      }
      first = false;
      out_ += k;
      out_ += "=\"";
      out_ += escape_label_value(v);
      out_ += '"';
    };
    if (base) {
      for (const auto& [k, v] : *base) {
        label(k, v);
      }
    }
    for (const auto& [k, v] : extra) {
      label(k, v);
    }
    out_ += '}';
  }
  char buf[64];
  if (std::isinf(value)) {
    std::snprintf(buf, sizeof buf, " %s\n", value > 0 ? "+Inf" : "-Inf");
  } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, " %.0f\n", value);
  } else {
    std::snprintf(buf, sizeof buf, " %.9g\n", value);
  }
  out_ += buf;
}

}  // namespace haes
