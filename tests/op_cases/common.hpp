// What the op-case files share (tests/op_cases/*.cpp; harness: tests/support/op_case.hpp).
#pragma once
#include <cfloat>
#include <functional>
#include <string>
#include <vector>

#include "host/core/error.hpp"
#include "tests/support/op_case.hpp"
#include "tests/support/testing.hpp"

namespace naqs::testing::op_cases_common {

inline const DType kFloatTypes[] = {DType::f32, DType::f64};
inline const int64_t kSizes[] = {1, 17, 1025};
// Shapes for the ops along an axis; every axis of each is a case.
inline const char* const kAxisShapes[] = {"1",       "1025",     "17x1025",
                                          "5x17x3", "1x1025x1", "1025x1x17"};

// Case c run in place (y aliasing x) as op `op`: output 0 starts as a copy of input 0, then
// op_in_place(in, y) runs with y as both source and destination. No gradient (c's covers it).
inline OpCase in_place_case(
    const OpCase& c, const std::string& op,
    std::function<void(const std::vector<Tensor>& in, Tensor& y)> op_in_place) {
  OpCase in_place = c;
  in_place.op = op;
  in_place.grad_of.clear();
  in_place.backward = nullptr;
  in_place.run = [op_in_place](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    out[0].copy_from(in[0]);
    op_in_place(in, out[0]);
  };
  return in_place;
}

inline double eps(DType t) { return t == DType::f32 ? FLT_EPSILON : DBL_EPSILON; }
inline Tensor zeros_like(const Tensor& t) {
  return Tensor::zeros(t.shape(), t.dtype(), t.device());
}

// Both backends accumulate in double, in different orders (CPU sequential, CUDA block trees /
// chunks, nvcc contracting a*b + c into FMAs): a sum of n terms of size <= `scale` differs by at
// most ~ n eps64 scale between them (sum_atol), then each side rounds once to the dtype
// (sum_rtol: FLT_EPSILON for f32, two close doubles may round to neighbouring floats; 8 eps64
// for f64, a few ulp of exp/log).
inline double sum_atol(int64_t n, double scale) {
  return 8.0 * double(n + 1) * DBL_EPSILON * scale;
}
inline double sum_rtol(DType t) { return t == DType::f32 ? FLT_EPSILON : 8 * DBL_EPSILON; }

// The ops along an axis of n elements (softmax, reduce): double sums of values <= e.
inline void set_axis_tolerance(OpCase& c, int64_t n) {
  c.atol = sum_atol(n, 1);
  c.rtol = sum_rtol(c.dtype);
  c.why = "double row sums in different orders (8 (n+1) eps64), exp/log ulps, f32 rounding";
}

}  // namespace naqs::testing::op_cases_common
