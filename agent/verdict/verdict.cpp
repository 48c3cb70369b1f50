#include "verdict/verdict.hpp"

namespace haes {

const NodeVerdict* ClusterVerdict::find_node(std::string_view node) const {
  for (const auto& n : nodes) {
    if (n.name == node) {
      return &n;
    }
  }
  return nullptr;
}

const ClusterVerdict* Verdict::find_cluster(std::string_view cluster) const {
  for (const auto& c : clusters) {
    if (c.name == cluster) {
      return &c;
    }
  }
  return nullptr;
}

const NodeVerdict* Verdict::find_node(std::string_view cluster, std::string_view node) const {
  const ClusterVerdict* c = find_cluster(cluster);
  return c ? c->find_node(node) : nullptr;
}

VerdictView::VerdictView() : current_(std::make_shared<const Verdict>()) {}

void VerdictView::publish(std::shared_ptr<const Verdict> verdict) {
  std::atomic_store_explicit(&current_, std::move(verdict), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

std::shared_ptr<const Verdict> VerdictView::published() const {
  return std::atomic_load_explicit(&current_, std::memory_order_acquire);
}

std::shared_ptr<const Verdict> VerdictView::current() const {
  auto v = published();
  if (v && v->outside) {
    const auto now = std::chrono::steady_clock::now();
    if (now < v->valid_from || now >= v->valid_until) {
      return v->outside;
    }
  }
  return v;
}

const Verdict& VerdictView::Reader::get() {
  uint64_t gen = view_->generation();
  if (!cached_ || gen != seen_) {
    cached_ = view_->published();
    seen_ = gen;
  }
  if (cached_->outside) {
    return cached_->at(std::chrono::steady_clock::now());
  }
  return *cached_;
}

}  // namespace haes
