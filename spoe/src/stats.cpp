#include "spoe/stats.hpp"

#include <algorithm>

namespace spoe {

Status slot_status(size_t slot) { return slot <= 13 ? static_cast<Status>(slot) : Status::kUnknown; }

void ThreadStats::observe_latency(uint64_t ns) {
  size_t i = 0;
  while (i < kLatencyBoundsNs.size() && ns > kLatencyBoundsNs[i]) {
    ++i;
  }
  inc(latency_buckets[i]);
  inc(latency_count);
  inc(latency_sum_ns, ns);
}

void ThreadStats::add_to(Stats& s) const {
  auto get = [](const Counter& c) { return c.load(std::memory_order_relaxed); };
  s.connections_current += get(connections_current);
  s.connections_total += get(connections_total);
  s.connections_refused += get(connections_refused);
  s.hellos += get(hellos);
  s.healthchecks += get(healthchecks);
  s.notify_frames += get(notify_frames);
  s.acks += get(acks);
  s.acks_deferred += get(acks_deferred);
  s.handler_errors += get(handler_errors);
  s.bytes_in += get(bytes_in);
  s.bytes_out += get(bytes_out);
  s.read_pauses += get(read_pauses);
  s.slow_reader_disconnects += get(slow_reader_disconnects);
  s.invalid_notifies += get(invalid_notifies);
  s.output_queue_peak = std::max(s.output_queue_peak, get(output_queue_peak));
  for (size_t i = 0; i < kStatusSlots; ++i) {
    s.disconnects_received[i] += get(disconnects_received[i]);
    s.disconnects_sent[i] += get(disconnects_sent[i]);
  }
  for (size_t i = 0; i < latency_buckets.size(); ++i) {
    s.latency_buckets[i] += get(latency_buckets[i]);
  }
  s.latency_count += get(latency_count);
  s.latency_sum_ns += get(latency_sum_ns);
}

}  // namespace spoe
