// Filling and casting whole tensors (copy, strided and across devices, is in host/ops/copy.hpp,
// included here for the callers that found it in this header).
//   fill(x, value)    every element of x = value converted to x's dtype (all dtypes)
//   cast(src, dst)    dst = src converted to dst's dtype by convert_value (below); same shape
//                     and device, any dtypes
// Strides: contiguous tensors only (check_contiguous).
// CPU loops here; CUDA twins (fill, cast kernels) in cuda/fill.cu. Tests:
// tests/unit/test_ops_dense.cpp (exact values), tests/unit/test_cast_saturate.cpp (NaN and
// out-of-range values); tests/op_cases/fill.cpp (exact: a conversion has one correctly rounded
// result on both sides; the cast_saturate cases include NaN and out-of-range values).
#pragma once
#include <limits>
#include <type_traits>
#include <utility>

#include "host/core/hd.hpp"
#include "host/core/tensor.hpp"
#include "host/ops/copy.hpp"

namespace naqs::ops {

// The one conversion of cast() and fill(), on the CPU and in the CUDA kernels alike. To an
// integer dtype: NaN becomes 0, a value beyond the dtype's range saturates to its lowest / max,
// any other truncates toward zero. (A plain static_cast of an out-of-range float is undefined in
// C++: x86 gave INT_MIN where a GPU saturates.) To a float dtype: static_cast.
template <class D, class S>
NAQS_HD D convert_value(S v) {
  if constexpr (std::is_integral_v<D>) {
    constexpr D lo = std::numeric_limits<D>::lowest(), hi = std::numeric_limits<D>::max();
    if constexpr (std::is_floating_point_v<S>) {
      if (v != v) return D(0);
      if (v <= static_cast<S>(lo)) return lo;
      if (v >= static_cast<S>(hi)) return hi;  // float(INT_MAX) rounds up to 2^31: still right
      return static_cast<D>(v);
    } else {
      if (std::cmp_less(v, lo)) return lo;
      if (std::cmp_greater(v, hi)) return hi;
      return static_cast<D>(v);
    }
  } else {
    return static_cast<D>(v);
  }
}

void fill(Tensor& x, double value);
void cast(const Tensor& src, Tensor& dst);

namespace detail {
void fill_cuda(Tensor& x, double value);
void cast_cuda(const Tensor& src, Tensor& dst);
}  // namespace detail

}  // namespace naqs::ops
