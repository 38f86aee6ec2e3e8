// Filling, copying and casting whole tensors.
//   fill(x, value)    every element of x = value converted to x's dtype (all dtypes)
//   copy(src, dst)    dst = src; same shape and dtype, any devices (host<->device included)
//   cast(src, dst)    dst = static_cast<dst dtype>(src); same shape and device, any dtypes
//                     (float -> integer truncates toward zero, as C++ does)
// CPU loops here; CUDA twins (fill, cast kernels) in cuda/fill.cu; copy uses the runtime's
// memcpy. Tests: tests/unit/test_ops_dense.cpp (exact values); tests/gpu/
// test_parity_dense.cpp (exact: a conversion has one correctly rounded result on both sides).
#pragma once
#include "host/core/tensor.hpp"

namespace naqs::ops {

void fill(Tensor& x, double value);
void copy(const Tensor& src, Tensor& dst);
void cast(const Tensor& src, Tensor& dst);

namespace detail {
void fill_cuda(Tensor& x, double value);
void cast_cuda(const Tensor& src, Tensor& dst);
}  // namespace detail

}  // namespace naqs::ops
