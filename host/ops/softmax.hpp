// Softmax and log-softmax along one axis (x viewed as (outer, n, inner); all tensors x's shape).
//   softmax(x, axis, y)               y = exp(x - m) / sum_j exp(x - m),   m = max_j x
//   log_softmax(x, axis, y)           y = x - m - log sum_j exp(x - m)
//   softmax_backward(y, dy, axis, dx)      dx = y * (dy - sum_j dy*y)          (y = softmax)
//   log_softmax_backward(y, dy, axis, dx)  dx = dy - exp(y) * sum_j dy        (y = log_softmax)
// Masked softmax over the last dim of attention scores x (..., Tq, Tk) (rank 1: one row, Tq = 1):
//   masked_softmax(x, mask, y)   z = x + mask.additive (if given, broadcast to x);
//       y[..., i, j] = exp(z_ij - m_i) / sum_{j' unmasked} exp(z_ij' - m_i) at unmasked (i, j),
//       y = 0 exactly at masked ones. (i, j) is masked when z_ij = -inf, or when mask.causal and
//       j > mask.query_offset + i: query row i sits at absolute position query_offset + i and
//       sees keys 0 .. query_offset + i (full forward: offset 0, Tq = Tk; KV-cache decode step:
//       Tq = 1, Tk = offset + 1; chunked prefill: Tk = offset + Tq).
//       A row whose entries are all masked is all zeros, not NaN (attention to no key gives a
//       zero output and zero gradients); callers that must know can test for it themselves.
//   Backward: softmax_backward(y, dy, -1, dx). y = 0 at masked entries makes dx = 0 there and on
//   fully masked rows, so no mask is needed.
//   mask.additive: undefined, or x's dtype and device with rank <= x's rank, each dim (aligned
//   from the right) equal to x's or 1 (numpy broadcasting): (Tq, Tk) shared by all heads,
//   (B, 1, 1, Tk) key padding, (H, Tq, Tk) per-head biases, or x's full shape. Entries are
//   finite or -inf (+inf / NaN propagate into the row). query_offset >= 0.
// y may alias x and dx may alias dy. Row sums are accumulated in double on both backends.
// CUDA twin (one block per row) in cuda/softmax.cu.
// Tests: tests/unit/test_ops_dense_axis.cpp (hand values on axis 0/middle/last; f64 central
// differences of both backwards, 1e-8 + 1e-7|g|: O(h^2) truncation + eps|f|/h rounding);
// tests/unit/test_nn_layers.cpp (masked entries exactly 0, causal offset = rows of the full
// causal softmax, broadcast masks, fully masked rows, central differences through the mask);
// tests/op_cases/softmax.cpp (a few eps: exp differs by <= 2 ulp,
// sums differ in order).
#pragma once
#include "host/core/hd.hpp"
#include "host/core/tensor.hpp"
#include "host/ops/elementwise.hpp"

namespace naqs::ops {

void softmax(const Tensor& x, int axis, Tensor& y);
void log_softmax(const Tensor& x, int axis, Tensor& y);
void softmax_backward(const Tensor& y, const Tensor& dy, int axis, Tensor& dx);
void log_softmax_backward(const Tensor& y, const Tensor& dy, int axis, Tensor& dx);

struct SoftmaxMask {
  Tensor additive;           // optional, broadcastable to x (see above)
  bool causal = false;
  int64_t query_offset = 0;  // absolute position of query row 0 (causal only)
};
void masked_softmax(const Tensor& x, const SoftmaxMask& mask, Tensor& y);

namespace detail {
void softmax_cuda(const Tensor& x, const AxisSplit& s, bool log, Tensor& y);
void softmax_backward_cuda(const Tensor& y, const Tensor& dy, const AxisSplit& s, bool log,
                           Tensor& dx);
// x as rows over its last dim: row r = (idx_0, ..., idx_{rank-2}); query i = idx_{rank-2} (0 for
// rank 1). mask_strides[d]: the additive mask's element stride along x's dim d (0: broadcast).
struct MaskedSoftmaxDims {
  int rank;
  int64_t dims[kMaxRank];
  int64_t mask_strides[kMaxRank];
  int64_t rows, n_keys, n_queries, query_offset;
  bool causal, has_mask;
};
void masked_softmax_cuda(const Tensor& x, const Tensor& additive, const MaskedSoftmaxDims& d,
                         Tensor& y);

// Shared by the CPU loop and the CUDA kernel: the additive mask's offset for row r, and how many
// leading keys row r may see (all Tk without a causal mask).
NAQS_HD int64_t masked_softmax_mask_offset(const MaskedSoftmaxDims& d, int64_t r) {
  int64_t off = 0;
  for (int k = d.rank - 2; k >= 0; --k) {
    off += (r % d.dims[k]) * d.mask_strides[k];
    r /= d.dims[k];
  }
  return off;
}
NAQS_HD int64_t masked_softmax_visible_keys(const MaskedSoftmaxDims& d, int64_t r) {
  if (!d.causal) return d.n_keys;
  const int64_t visible = d.query_offset + r % d.n_queries + 1;
  return visible < d.n_keys ? visible : d.n_keys;
}
}  // namespace detail

}  // namespace naqs::ops
