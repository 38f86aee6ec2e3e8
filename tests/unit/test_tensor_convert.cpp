// Host float64 conversions and ensure_tensor (host/core/tensor_convert.hpp): values, rounding
// of f32 (one static_cast, exact comparison), buffer reuse, and the dtype error.
#include <gtest/gtest.h>

#include "host/core/error.hpp"
#include "host/core/tensor_convert.hpp"

using namespace naqs;

TEST(TensorConvert, RoundTripF64AndF32) {
  const std::vector<double> v{1.0, -0.1, 1e-300, 3.0};
  const Tensor d = from_host_f64(v, {2, 2}, DType::f64, Device::cpu());
  EXPECT_EQ(d.str(), "f64[2,2]@cpu");
  EXPECT_EQ(to_host_f64(d), v);
  const Tensor f = from_host_f64(v, {4}, DType::f32, Device::cpu());
  const std::vector<double> back = to_host_f64(f);
  for (std::size_t i = 0; i < v.size(); ++i)
    EXPECT_EQ(back[i], static_cast<double>(static_cast<float>(v[i])));
  EXPECT_THROW(from_host_f64(v, {4}, DType::i32, Device::cpu()), Error);
  EXPECT_THROW(to_host_f64(Tensor::zeros({2}, DType::i32)), Error);
}

TEST(TensorConvert, EnsureTensorReusesOnlyAMatchingBuffer) {
  Tensor t;
  ensure_tensor(t, {3, 2}, DType::f32, Device::cpu());
  ASSERT_TRUE(t.defined());
  const void* first = t.raw_data();
  ensure_tensor(t, {3, 2}, DType::f32, Device::cpu());
  EXPECT_EQ(t.raw_data(), first);
  ensure_tensor(t, {3, 2}, DType::f64, Device::cpu());
  EXPECT_EQ(t.str(), "f64[3,2]@cpu");
  ensure_tensor(t, {6}, DType::f64, Device::cpu());
  EXPECT_EQ(t.str(), "f64[6]@cpu");
}
