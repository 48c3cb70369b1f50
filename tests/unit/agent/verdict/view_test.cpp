#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "verdict/verdict.hpp"

namespace haes {
namespace {

TEST(VerdictView, ReaderSeesEachPublishedVerdict) {
  VerdictView view;
  VerdictView::Reader reader(view);
  EXPECT_EQ(reader.get().epoch, 0u);
  auto v = std::make_shared<Verdict>();
  v->epoch = 3;
  v->cluster = "dc1";
  view.publish(v);
  EXPECT_EQ(reader.get().epoch, 3u);
  EXPECT_EQ(reader.get().cluster, "dc1");
  EXPECT_EQ(view.current()->epoch, 3u);
}

// Readers on several threads while the writer publishes: every verdict a
// reader sees is whole (epoch and cluster from the same publish), and epochs
// never go backwards for one reader.
TEST(VerdictView, ConcurrentReadersSeeWholeVerdictsInOrder) {
  VerdictView view;
  constexpr uint64_t kPublishes = 2000;
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      VerdictView::Reader reader(view);
      uint64_t last = 0;
      while (!done.load()) {
        const Verdict& v = reader.get();
        if (v.epoch < last || v.cluster != "dc" + std::to_string(v.epoch % 2)) {
          if (v.epoch != 0) {
            failures++;
          }
        }
        last = v.epoch;
      }
    });
  }
  for (uint64_t e = 1; e <= kPublishes; ++e) {
    auto v = std::make_shared<Verdict>();
    v->epoch = e;
    v->cluster = "dc" + std::to_string(e % 2);
    view.publish(v);
  }
  done = true;
  for (auto& t : readers) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  VerdictView::Reader late(view);
  EXPECT_EQ(late.get().epoch, kPublishes);
}

}  // namespace
}  // namespace haes
