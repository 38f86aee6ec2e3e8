// parallel_chunks (host/core/parallel.hpp): every chunk runs exactly once, slots stay below the
// limit, a nested call runs serially on its caller, the helpers really take chunks when there is
// a free core to run them, and calls back to back (the naive sampler's pattern) stay correct.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "host/core/parallel.hpp"

using namespace naqs;

TEST(ParallelChunks, EveryChunkOnceWithSlotsBelowTheLimit) {
  for (int slots : {1, 2, 3}) {
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> runs(static_cast<std::size_t>(n));
      std::atomic<int> bad_slot{0};
      parallel_chunks(n, slots, [&](int64_t i, int slot) {
        if (slot < 0 || slot >= slots) bad_slot.fetch_add(1);
        runs[static_cast<std::size_t>(i)].fetch_add(1);
      });
      EXPECT_EQ(bad_slot.load(), 0) << "slots " << slots << " n " << n;
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(runs[static_cast<std::size_t>(i)].load(), 1)
            << "chunk " << i << " slots " << slots << " n " << n;
    }
  }
}

TEST(ParallelChunks, OneSlotRunsInOrderOnTheCaller) {
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<int64_t> order;
  bool other_thread = false;
  parallel_chunks(5, 1, [&](int64_t i, int slot) {
    order.push_back(i);
    other_thread |= std::this_thread::get_id() != caller || slot != 0;
  });
  EXPECT_EQ(order, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(other_thread);
}

TEST(ParallelChunks, NestedCallRunsSeriallyOnItsCaller) {
  std::atomic<int> inner_total{0}, inner_off_thread{0};
  parallel_chunks(4, 2, [&](int64_t, int) {
    const std::thread::id me = std::this_thread::get_id();
    parallel_chunks(3, 2, [&](int64_t, int slot) {
      inner_total.fetch_add(1);
      if (std::this_thread::get_id() != me || slot != 0) inner_off_thread.fetch_add(1);
    });
  });
  EXPECT_EQ(inner_total.load(), 12);
  EXPECT_EQ(inner_off_thread.load(), 0);
}

// A helper takes chunks while the caller is busy: chunk 0 (claimed first, by the caller) waits
// until another chunk has run on a helper slot, for up to 10 s. Cannot pass if no helper ever
// works (a serial implementation, or helpers never woken).
TEST(ParallelChunks, HelpersTakeChunks) {
  std::atomic<int> on_helper{0};
  parallel_chunks(8, 2, [&](int64_t i, int slot) {
    if (slot != 0) on_helper.fetch_add(1);
    if (i == 0) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (on_helper.load() == 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::yield();
    }
  });
  EXPECT_GT(on_helper.load(), 0);
}

TEST(ParallelChunks, ManyCallsBackToBack) {
  int64_t total = 0;
  for (int call = 0; call < 2000; ++call) {
    std::vector<int64_t> partial(16, 0);
    parallel_chunks(16, 2,
                    [&](int64_t i, int) { partial[static_cast<std::size_t>(i)] = i + call; });
    for (int64_t v : partial) total += v;
  }
  EXPECT_EQ(total, 2000 * (15 * 16 / 2) + 16 * (1999 * 2000 / 2));
}
