// nn::RingCache (nn/ring_cache.hpp): slot order, held range, wrap-around windows, the
// append-buffer (KV cache) mode and the refusals. Values are exact (copies only).
#include <gtest/gtest.h>

#include "host/core/error.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/fill.hpp"
#include "nn/ring_cache.hpp"

namespace naqs::nn {
namespace {

// Step t's row (2,3) filled with the value t.
void push(RingCache& c, int64_t t) {
  Tensor row = c.append();
  ops::fill(row, static_cast<double>(t));
}

double first_value(const Tensor& t) { return to_host_f64(t)[0]; }

TEST(RingCache, RingKeepsTheLastCapacitySteps) {
  RingCache c;
  c.allocate(3, {2, 3}, DType::f64, Device::cpu());
  EXPECT_EQ(c.data().str(), "f64[3,2,3]@cpu");
  EXPECT_EQ(c.steps(), 0);
  for (int64_t t = 0; t < 5; ++t) push(c, t);
  EXPECT_EQ(c.steps(), 5);
  EXPECT_EQ(c.slot(4), 1);
  EXPECT_EQ(c.at(4).shape(), Shape({2, 3}));
  for (int64_t t = 2; t < 5; ++t) EXPECT_EQ(first_value(c.at(t)), static_cast<double>(t));
  EXPECT_THROW(c.at(1), Error);  // overwritten by step 4
  EXPECT_THROW(c.at(5), Error);  // not yet written
  // write(t): a held step is rewritten in place, the next one appended, a gap refused.
  Tensor again = c.write(3);
  ops::fill(again, 33.0);
  EXPECT_EQ(first_value(c.at(3)), 33.0);
  EXPECT_EQ(c.steps(), 5);
  Tensor next = c.write(5);
  ops::fill(next, 5.0);
  EXPECT_EQ(c.steps(), 6);
  EXPECT_THROW(c.write(7), Error);
}

TEST(RingCache, LastStepsInTimeOrderAcrossTheWrap) {
  RingCache c;
  c.allocate(4, {1}, DType::f32, Device::cpu());
  for (int64_t t = 0; t < 6; ++t) push(c, t);  // slots hold 4 5 2 3
  const RingCache::Window w = c.last(3);       // steps 3, 4, 5: slot 3, then slots 0..1
  ASSERT_TRUE(w.first.defined());
  ASSERT_TRUE(w.second.defined());
  EXPECT_EQ(w.first.to_vector<float>(), (std::vector<float>{3}));
  EXPECT_EQ(w.second.to_vector<float>(), (std::vector<float>{4, 5}));
  const RingCache::Window one = c.last(2);  // steps 4, 5: slots 0..1, one piece
  EXPECT_EQ(one.first.to_vector<float>(), (std::vector<float>{4, 5}));
  EXPECT_FALSE(one.second.defined());
  EXPECT_FALSE(c.last(0).first.defined());
  EXPECT_THROW(c.last(5), Error);
}

TEST(RingCache, AppendBufferModeIsOnePieceAlways) {
  // A KV cache: row (B, H, Dh) = (2, 2, 4), capacity = the longest sequence.
  RingCache kv;
  kv.allocate(8, {2, 2, 4}, DType::f32, Device::cpu());
  for (int64_t t = 0; t < 8; ++t) {
    push(kv, t);
    const RingCache::Window w = kv.last(t + 1);
    EXPECT_EQ(w.first.shape(), Shape({t + 1, 2, 2, 4}));
    EXPECT_FALSE(w.second.defined());
    EXPECT_EQ(first_value(w.first.select(t)), static_cast<double>(t));
  }
  kv.clear();
  EXPECT_EQ(kv.steps(), 0);
  EXPECT_THROW(kv.at(0), Error);
}

TEST(RingCache, ZerosBeforeWritingAndRefusals) {
  RingCache c;
  EXPECT_THROW(c.append(), Error);
  EXPECT_THROW(c.allocate(0, {2}, DType::f64, Device::cpu()), Error);
  EXPECT_THROW(c.allocate(2, {2, 2, 2, 2, 2, 2}, DType::f64, Device::cpu()), Error);  // rank kMaxRank
  c.allocate(2, {3}, DType::f64, Device::cpu());
  EXPECT_EQ(c.data().to_vector<double>(), std::vector<double>(6, 0.0));
}

}  // namespace
}  // namespace naqs::nn
