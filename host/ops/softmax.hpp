// Softmax and log-softmax along one axis (x viewed as (outer, n, inner); all tensors x's shape).
//   softmax(x, axis, y)               y = exp(x - m) / sum_j exp(x - m),   m = max_j x
//   log_softmax(x, axis, y)           y = x - m - log sum_j exp(x - m)
//   softmax_backward(y, dy, axis, dx)      dx = y * (dy - sum_j dy*y)          (y = softmax)
//   log_softmax_backward(y, dy, axis, dx)  dx = dy - exp(y) * sum_j dy        (y = log_softmax)
// y may alias x and dx may alias dy. Row sums are accumulated in double on both backends.
// CUDA twin (one block per row) in cuda/softmax.cu.
// Tests: tests/unit/test_ops_dense_axis.cpp (hand values on axis 0/middle/last; f64 central
// differences of both backwards, 1e-8 + 1e-7|g|: O(h^2) truncation + eps|f|/h rounding);
// tests/gpu/test_parity_dense.cpp (a few eps: exp differs by <= 2 ulp, sums differ in order).
#pragma once
#include "host/core/tensor.hpp"
#include "host/ops/elementwise.hpp"

namespace naqs::ops {

void softmax(const Tensor& x, int axis, Tensor& y);
void log_softmax(const Tensor& x, int axis, Tensor& y);
void softmax_backward(const Tensor& y, const Tensor& dy, int axis, Tensor& dx);
void log_softmax_backward(const Tensor& y, const Tensor& dy, int axis, Tensor& dx);

namespace detail {
void softmax_cuda(const Tensor& x, const AxisSplit& s, bool log, Tensor& y);
void softmax_backward_cuda(const Tensor& y, const Tensor& dy, const AxisSplit& s, bool log,
                           Tensor& dx);
}  // namespace detail

}  // namespace naqs::ops
