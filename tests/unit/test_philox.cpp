// Philox-4x32-10 (host/core/philox.hpp) and the random fills (host/ops/random.hpp) on the CPU:
// Random123 known-answer vectors, the documented (seed, stream, index) mapping, offset
// splitting, and the accuracy of the deterministic log/cos helpers.
#include <gtest/gtest.h>

#include <cmath>

#include "host/core/philox.hpp"
#include "host/ops/random.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;

namespace {
void expect_block(const PhiloxBlock& got, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  EXPECT_EQ(got.w[0], a);
  EXPECT_EQ(got.w[1], b);
  EXPECT_EQ(got.w[2], c);
  EXPECT_EQ(got.w[3], d);
}
}  // namespace

// Random123 kat_vectors, lines "philox4x32 10 <ctr x4> <key x2> <expected x4>".
TEST(Philox, KnownAnswerVectors) {
  expect_block(philox4x32_10(PhiloxBlock{{0, 0, 0, 0}}, 0, 0),  //
               0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u);
  const uint32_t f = 0xffffffffu;
  expect_block(philox4x32_10(PhiloxBlock{{f, f, f, f}}, f, f),  //
               0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu);
  expect_block(philox4x32_10(PhiloxBlock{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
                             0xa4093822u, 0x299f31d0u),
               0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u);
}

// key = (seed lo, seed hi); counter = (stream lo, stream hi, index lo, index hi).
TEST(Philox, SeedStreamIndexMapping) {
  const uint64_t seed = 0x299f31d0a4093822ull;
  const uint64_t stream = 0x85a308d3243f6a88ull;
  const uint64_t index = 0x0370734413198a2eull;
  expect_block(philox_block(seed, stream, index), 0xd16cfe09u, 0x94fdccebu, 0x5001e420u,
               0x24126ea1u);
  expect_block(philox_block(0, 0, 0), 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u);
}

TEST(Philox, UniformConversions) {
  EXPECT_EQ(uniform_f32_from(0), 0.0f);
  EXPECT_EQ(uniform_f32_from(0xffffffffu), 1.0f - 0x1p-24f);  // largest value < 1
  EXPECT_EQ(uniform_f32_from(0x80000000u), 0.5f);
  EXPECT_EQ(uniform_f64_from(0, 0), 0.0);
  EXPECT_EQ(uniform_f64_from(0xffffffffu, 0xffffffffu), 1.0 - 0x1p-53);
  EXPECT_EQ(uniform_f64_from(0x80000000u, 0), 0.5);
  EXPECT_EQ(uniform_f64_from(0, 0x40u), 0x1p-53);  // the lowest bit used of w1
  // the f32 value of an index is the f64 value rounded down to 24 bits (same leading bits)
  for (uint64_t i = 0; i < 100; ++i) {
    const double d = philox_uniform_f64(7, 3, i);
    EXPECT_EQ(static_cast<double>(philox_uniform_f32(7, 3, i)), std::floor(d * 0x1p24) * 0x1p-24);
  }
}

// Against long-double references (x86: 64-bit mantissa, so their own error is ~1e-19).
TEST(Philox, DeterministicLogAndCosAreAccurate) {
  const long double two_pi = 6.283185307179586476925286766559L;
  double worst_log = 0, worst_cos = 0;
  for (int i = 1; i <= 20000; ++i) {
    const double x = philox_uniform_f64(1, 0, i) + 1e-300;  // (0, 1)
    const long double log_ref = std::log(static_cast<long double>(x));
    const long double cos_ref = std::cos(two_pi * x);
    worst_log = std::max(worst_log, static_cast<double>(std::abs((hd_log(x) - log_ref) / log_ref)));
    worst_cos = std::max(worst_cos, static_cast<double>(std::abs(hd_cos_2pi(x) - cos_ref)));
  }
  for (double x : {1e-300, 0x1p-53, 0.5, 0.7071, 0.70711, 1.0 - 0x1p-53, 2.0, 1e10}) {
    const long double ref = std::log(static_cast<long double>(x));
    EXPECT_LT(std::abs((hd_log(x) - ref) / ref), 3e-16L) << x;
  }
  EXPECT_EQ(hd_log(1.0), 0.0);
  EXPECT_EQ(hd_cos_2pi(0.0), 1.0);
  EXPECT_EQ(hd_cos_2pi(0.5), -1.0);
  EXPECT_EQ(hd_cos_2pi(0.25), 0.0);
  // The series are exact to 1e-18; what remains is rounding in the last few operations:
  // log within 3e-16 relative (~2.5 ulp) ...
  EXPECT_LT(worst_log, 3e-16);
  // ... cos within 4e-16 absolute: y = f * pi/2 is rounded once (<= 0.9e-16 for |y| <= pi/4)
  // plus ~1 ulp from the Horner steps.
  EXPECT_LT(worst_cos, 4e-16);
}

TEST(Random, ValuesDependOnlyOnSeedStreamIndex) {
  for (DType dtype : {DType::f32, DType::f64}) {
    Tensor whole = Tensor::empty({5, 7}, dtype);
    ops::fill_uniform(whole, 42, 9, 1000);
    Tensor a = Tensor::empty({13}, dtype), b = Tensor::empty({22}, dtype);
    ops::fill_uniform(a, 42, 9, 1000);
    ops::fill_uniform(b, 42, 9, 1013);
    Tensor joined = Tensor::empty({35}, dtype);
    joined.narrow(0, 13).copy_from(a);
    joined.narrow(13, 22).copy_from(b);
    EXPECT_TRUE(naqs::testing::all_close(joined, whole.reshape({35}), 0, 0));

    Tensor n_whole = Tensor::empty({35}, dtype), n_a = Tensor::empty({20}, dtype),
           n_b = Tensor::empty({15}, dtype);
    ops::fill_normal(n_whole, 42, 9, 0, 0.5, 2.0);
    ops::fill_normal(n_a, 42, 9, 0, 0.5, 2.0);
    ops::fill_normal(n_b, 42, 9, 20, 0.5, 2.0);
    EXPECT_TRUE(naqs::testing::all_close(n_whole.narrow(0, 20), n_a, 0, 0));
    EXPECT_TRUE(naqs::testing::all_close(n_whole.narrow(20, 15), n_b, 0, 0));
  }
  // element i is the scalar helper at index offset + i
  Tensor x = Tensor::empty({4}, DType::f64);
  ops::fill_uniform(x, 5, 6, 70);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(x.to_vector<double>()[i], ops::philox_uniform(5, 6, 70 + i));
  ops::fill_normal(x, 5, 6, 70, 1.0, 3.0);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(x.to_vector<double>()[i], std::fma(3.0, ops::philox_normal(5, 6, 70 + i), 1.0));
}

TEST(Random, SeedsAndStreamsGiveDifferentNumbers) {
  Tensor a = Tensor::empty({64}, DType::f64), b = Tensor::empty({64}, DType::f64),
         c = Tensor::empty({64}, DType::f64);
  ops::fill_uniform(a, 1, 0, 0);
  ops::fill_uniform(b, 2, 0, 0);
  ops::fill_uniform(c, 1, 1, 0);
  int same_ab = 0, same_ac = 0;
  for (int i = 0; i < 64; ++i) {
    same_ab += a.to_vector<double>()[i] == b.to_vector<double>()[i];
    same_ac += a.to_vector<double>()[i] == c.to_vector<double>()[i];
  }
  EXPECT_EQ(same_ab, 0);
  EXPECT_EQ(same_ac, 0);
  for (double v : a.to_vector<double>()) {
    EXPECT_GE(v, 0.0);
    EXPECT_LT(v, 1.0);
  }
}

TEST(Random, RejectsIntegerTensors) {
  Tensor x = Tensor::empty({3}, DType::i32);
  EXPECT_THROW(ops::fill_uniform(x, 1, 0, 0), Error);
  EXPECT_THROW(ops::fill_normal(x, 1, 0, 0), Error);
}
