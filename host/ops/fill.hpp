// Filling and casting whole tensors (copy, strided and across devices, is in host/ops/copy.hpp,
// included here for the callers that found it in this header).
//   fill(x, value)    every element of x = value converted to x's dtype (all dtypes)
//   cast(src, dst)    dst = static_cast<dst dtype>(src); same shape and device, any dtypes
//                     (float -> integer truncates toward zero, as C++ does)
// Strides: contiguous tensors only (check_contiguous).
// CPU loops here; CUDA twins (fill, cast kernels) in cuda/fill.cu. Tests:
// tests/unit/test_ops_dense.cpp (exact values); tests/op_cases/fill.cpp (exact: a conversion
// has one correctly rounded result on both sides).
#pragma once
#include "host/core/tensor.hpp"
#include "host/ops/copy.hpp"

namespace naqs::ops {

void fill(Tensor& x, double value);
void cast(const Tensor& src, Tensor& dst);

namespace detail {
void fill_cuda(Tensor& x, double value);
void cast_cuda(const Tensor& src, Tensor& dst);
}  // namespace detail

}  // namespace naqs::ops
