#pragma once
// Typed stats (STYLE.md §13, Envoy's ALL_*_STATS). A component keeps its
// counters as typed fields of one struct and lists each field once, with its
// metric name and help, in a visit() member template:
//
//   struct HookStats {
//     EnumCounter<HookResult> runs;
//     template <class V> void visit(V& v) const {
//       v(runs, "haes_hook_runs_total", "on_role_change hook runs by result.");
//     }
//   };
//
// export_stats(MetricsText&, stats) renders any such struct, so a counter
// cannot be counted and never exported; an enum-labelled counter exports one
// sample per value of the enum's name table, so a label can never be missing
// or misspelt. Counters are relaxed atomics: written by the component's
// thread, read by whichever thread renders /metrics.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/enum_names.hpp"
#include "metrics/metrics.hpp"

namespace haes {

// Whether an enum value is a metric label value. Overload (found by ADL) for
// enums with a "no value" member (ProbeFailure::kNone, SyncResult::kNever)
// that is never counted.
template <NamedEnum E>
constexpr bool exported(E) {
  return true;
}

class Counter {
 public:
  void inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// A gauge the component sets (current connections, a duration).
class Gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double d) {
    double cur = v_.load(std::memory_order_relaxed);
    while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
    }
  }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// One counter per value of E, labelled with label_of<E>().
template <NamedEnum E>
class EnumCounter {
 public:
  void inc(E e, uint64_t n = 1) { by_[enum_index(e)].inc(n); }
  uint64_t value(E e) const { return by_[enum_index(e)].value(); }
  uint64_t total() const {
    uint64_t t = 0;
    for (const auto& c : by_) {
      t += c.value();
    }
    return t;
  }

 private:
  std::array<Counter, enum_count<E>()> by_{};
};

// One T per runtime label set (a node, a cluster, a command), fixed at
// construction (the config is sealed), so no lock is needed to count.
template <class T>
class PerLabel {
 public:
  struct Entry {
    LabelSet labels;
    T value;
  };
  PerLabel() = default;
  explicit PerLabel(const std::vector<LabelSet>& keys) {
    for (const auto& k : keys) {
      entries_.push_back(std::make_unique<Entry>());
      entries_.back()->labels = k;
    }
  }
  size_t size() const { return entries_.size(); }
  T& at(size_t i) { return entries_.at(i)->value; }
  const T& at(size_t i) const { return entries_.at(i)->value; }
  // The entry whose labels equal `labels`, or nullptr.
  T* find(const LabelSet& labels) {
    for (auto& e : entries_) {
      if (e->labels == labels) {
        return &e->value;
      }
    }
    return nullptr;
  }
  template <class F>
  void each(F&& f) const {
    for (const auto& e : entries_) {
      f(e->labels, e->value);
    }
  }

 private:
  std::vector<std::unique_ptr<Entry>> entries_;
};

// The generic exporter: a visitor of stats structs that writes MetricsText.
class StatsExporter {
 public:
  explicit StatsExporter(MetricsText& out) : out_(out) {}

  void operator()(const Counter& c, std::string_view name, std::string_view help) {
    out_.family(name, MetricType::kCounter, help);
    out_.sample({}, static_cast<double>(c.value()));
  }
  void operator()(const Gauge& g, std::string_view name, std::string_view help) {
    out_.family(name, MetricType::kGauge, help);
    out_.sample({}, g.value());
  }
  template <NamedEnum E>
  void operator()(const EnumCounter<E>& c, std::string_view name, std::string_view help) {
    out_.family(name, MetricType::kCounter, help);
    for (E e : enum_values<E>()) {
      if (exported(e)) {
        out_.sample({{label_of<E>(), to_string(e)}}, static_cast<double>(c.value(e)));
      }
    }
  }
  void operator()(const PerLabel<Counter>& p, std::string_view name, std::string_view help) {
    out_.family(name, MetricType::kCounter, help);
    p.each([&](const LabelSet& l, const Counter& c) { out_.sample(l, {}, static_cast<double>(c.value())); });
  }
  void operator()(const PerLabel<Gauge>& p, std::string_view name, std::string_view help) {
    out_.family(name, MetricType::kGauge, help);
    p.each([&](const LabelSet& l, const Gauge& g) { out_.sample(l, {}, g.value()); });
  }
  template <NamedEnum E>
  void operator()(const PerLabel<EnumCounter<E>>& p, std::string_view name, std::string_view help) {
    out_.family(name, MetricType::kCounter, help);
    p.each([&](const LabelSet& l, const EnumCounter<E>& c) {
      for (E e : enum_values<E>()) {
        if (exported(e)) {
          out_.sample(l, {{label_of<E>(), to_string(e)}}, static_cast<double>(c.value(e)));
        }
      }
    });
  }

 private:
  MetricsText& out_;
};

template <class S>
void export_stats(MetricsText& out, const S& stats) {
  StatsExporter v(out);
  stats.visit(v);
}

// The stats() of each component, in order; a null component (not
// configured) is skipped.
template <class... C>
void export_components(MetricsText& out, const C*... components) {
  ((components != nullptr ? export_stats(out, components->stats()) : void()), ...);
}

}  // namespace haes
