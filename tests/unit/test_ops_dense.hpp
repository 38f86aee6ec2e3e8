// Helpers shared by the dense-op unit tests (tests/unit/test_ops_dense*.cpp).
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "host/core/tensor.hpp"
#include "tests/support/testing.hpp"

namespace naqs::testing {

// Expects fn() to throw naqs::Error whose message contains every one of `parts`.
inline void expect_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' missing from: " << msg;
    return;
  }
  ADD_FAILURE() << "expected a naqs::Error";
}

inline Tensor f64(const std::vector<double>& v, const Shape& s) {
  return Tensor::from_vector<double>(v, s);
}
inline Tensor f32(const std::vector<float>& v, const Shape& s) {
  return Tensor::from_vector<float>(v, s);
}

// Sum of w * y over all elements (f64 cpu): the scalar whose gradient a backward computes.
inline double weighted_sum(const Tensor& w, const Tensor& y) {
  const double* pw = w.data<double>();
  const double* py = y.data<double>();
  double s = 0;
  for (int64_t i = 0; i < y.numel(); ++i) s += pw[i] * py[i];
  return s;
}

}  // namespace naqs::testing
