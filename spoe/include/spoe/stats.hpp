#pragma once
/// @file
/// Counters of the SPOP server. Each server thread owns one ThreadStats
/// (relaxed atomics on its own cache lines, so the hot path never contends);
/// Server::stats() adds them up into a plain Stats on demand.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "spoe/status.hpp"

namespace spoe {

/// Index of a DISCONNECT status in the per-status arrays (0-13, then 99).
inline constexpr size_t kStatusSlots = 15;
constexpr size_t status_slot(Status s) {
  auto v = static_cast<uint32_t>(s);
  return v <= 13 ? v : 14;
}
Status slot_status(size_t slot);

/// Upper bounds (in nanoseconds) of the NOTIFY-to-ACK latency buckets.
inline constexpr std::array<uint64_t, 16> kLatencyBoundsNs = {
    1'000,   2'500,     5'000,     10'000,    25'000,     50'000,     100'000,    250'000,
    500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 25'000'000, 50'000'000, 100'000'000};

struct Stats {
  uint64_t connections_current = 0;
  uint64_t connections_total = 0;
  uint64_t connections_refused = 0;  ///< over max_connections
  uint64_t hellos = 0;               ///< completed HELLO handshakes (not health checks)
  uint64_t healthchecks = 0;         ///< health-check HELLOs answered
  uint64_t notify_frames = 0;
  uint64_t acks = 0;
  uint64_t acks_deferred = 0;
  uint64_t handler_errors = 0;  ///< handler threw; connection closed
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t read_pauses = 0;              ///< reader stopped: output queue full (back-pressure)
  uint64_t slow_reader_disconnects = 0;  ///< closed: no write progress for write_timeout
  uint64_t invalid_notifies = 0;         ///< NOTIFY payloads that did not decode (DISCONNECT 4 sent)
  uint64_t output_queue_peak = 0;        ///< largest output queue of any connection (bytes; max, not sum)
  std::array<uint64_t, kStatusSlots> disconnects_received{};  ///< HAPROXY-DISCONNECT by status
  std::array<uint64_t, kStatusSlots> disconnects_sent{};      ///< AGENT-DISCONNECT by status
  /// NOTIFY decoded → ACK queued, cumulative per bucket is NOT applied here:
  /// latency_buckets[i] counts samples in (bound[i-1], bound[i]]; the last
  /// slot counts samples above every bound.
  std::array<uint64_t, kLatencyBoundsNs.size() + 1> latency_buckets{};
  uint64_t latency_count = 0;
  uint64_t latency_sum_ns = 0;

  /// Visits every field with a metric-style name (no prefix) and a help line,
  /// so an exporter renders all of them and none can be counted but never
  /// shown. V provides gauge(value, name, help), counter(value, name, help),
  /// by_status(array, name, help) and latency(stats, name, help).
  template <class V>
  void visit(V& v) const {
    v.gauge(connections_current, "connections", "Open SPOP connections.");
    v.counter(connections_total, "connections_total", "SPOP connections accepted.");
    v.counter(connections_refused, "connections_refused_total",
              "SPOP connections closed at once: the connection limit was reached.");
    v.counter(hellos, "hellos_total", "HELLO handshakes completed (not health checks).");
    v.counter(healthchecks, "healthchecks_total", "SPOP health-check HELLOs answered.");
    v.counter(notify_frames, "messages_total", "NOTIFY frames received.");
    v.counter(acks, "acks_total", "ACK frames sent.");
    v.counter(acks_deferred, "acks_deferred_total", "ACKs a handler completed later (deferred).");
    v.counter(handler_errors, "handler_errors_total", "NOTIFY handlers that failed (the connection was closed).");
    v.counter(bytes_in, "received_bytes_total", "Bytes read from HAProxy.");
    v.counter(bytes_out, "sent_bytes_total", "Bytes written to HAProxy.");
    v.counter(read_pauses, "read_pauses_total",
              "Times a connection stopped reading because its output queue was full (back-pressure).");
    v.counter(slow_reader_disconnects, "slow_reader_disconnects_total",
              "Connections closed because the peer took none of its ACKs for spoe.write_timeout.");
    v.counter(invalid_notifies, "invalid_notifies_total",
              "NOTIFY frames whose messages or arguments did not decode (answered with DISCONNECT 4).");
    v.gauge(output_queue_peak, "output_queue_peak_bytes",
            "Largest output queue (bytes) any SPOP connection reached since start.");
    v.by_status(disconnects_received, "disconnects_received_total",
                "HAPROXY-DISCONNECT frames received, by status code.");
    v.by_status(disconnects_sent, "disconnects_sent_total", "AGENT-DISCONNECT frames sent, by status code.");
    v.latency(*this, "latency_seconds", "NOTIFY decoded to ACK queued.");
  }
};

/// One thread's counters. Written by that thread only.
struct alignas(64) ThreadStats {
  using Counter = std::atomic<uint64_t>;
  Counter connections_current{0}, connections_total{0}, connections_refused{0};
  Counter hellos{0}, healthchecks{0}, notify_frames{0}, acks{0}, acks_deferred{0};
  Counter handler_errors{0}, bytes_in{0}, bytes_out{0};
  Counter read_pauses{0}, slow_reader_disconnects{0}, invalid_notifies{0}, output_queue_peak{0};
  std::array<Counter, kStatusSlots> disconnects_received{};
  std::array<Counter, kStatusSlots> disconnects_sent{};
  std::array<Counter, kLatencyBoundsNs.size() + 1> latency_buckets{};
  Counter latency_count{0}, latency_sum_ns{0};

  static void inc(Counter& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  /// Raises a maximum (written by this thread only, so load-compare-store).
  static void raise(Counter& c, uint64_t v) {
    if (v > c.load(std::memory_order_relaxed)) {
      c.store(v, std::memory_order_relaxed);
    }
  }
  void observe_latency(uint64_t ns);
  void add_to(Stats& s) const;
};

}  // namespace spoe
