// Reductions along one axis. x is viewed as (outer, n, inner) around `axis` (negative counts
// from the end); out has x's shape with `axis` removed (a rank-1 x gives out of shape (1)).
//   reduce(kind, x, axis, out)      out[o,i] = sum_j x[o,j,i] | mean | max | logsumexp
//                                   (logsumexp is max-shifted: m + log sum_j exp(x - m))
//   reduce_backward(kind, x, out, dout, axis, dx)   dx (x's shape) = d(out)/dx * dout:
//       sum: dout; mean: dout/n; max: dout at the first position equal to the max (NaN is
//       skipped as the forward skips it; an all-NaN row gets no gradient), 0 elsewhere;
//       logsumexp: exp(x - out) * dout.
// Sums are accumulated in double for f32 and f64 alike (on both backends). n = 0 is allowed
// only for sum (out = 0). CUDA twin (one block per output row) in cuda/reduce.cu.
// Tests: tests/unit/test_ops_dense_axis.cpp (hand values for axis 0/middle/last; f64 central
// differences of every backward, 1e-8 + 1e-7|g|: O(h^2) truncation + eps|f|/h rounding);
// tests/op_cases/reduce.cpp (CUDA vs CPU: double accumulation in a different order
// leaves only the final rounding, a few eps of the dtype).
#pragma once
#include "host/core/tensor.hpp"
#include "host/ops/elementwise.hpp"

namespace naqs::ops {

enum class Reduce { sum, mean, max, logsumexp };
void reduce(Reduce kind, const Tensor& x, int axis, Tensor& out);
void reduce_backward(Reduce kind, const Tensor& x, const Tensor& out, const Tensor& dout, int axis,
                     Tensor& dx);
const char* reduce_name(Reduce kind);

// x's shape with `axis` removed; (1) when x has rank 1. The shape `out` must have.
Shape reduced_shape(const Tensor& x, int axis);

namespace detail {
void reduce_cuda(Reduce kind, const Tensor& x, const AxisSplit& s, Tensor& out);
void reduce_backward_cuda(Reduce kind, const Tensor& x, const Tensor& out, const Tensor& dout,
                          const AxisSplit& s, Tensor& dx);
}  // namespace detail

}  // namespace naqs::ops
