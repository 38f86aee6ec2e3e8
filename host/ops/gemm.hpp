// GEMM: c = alpha * op(a) @ op(b) + beta * c on row-major tensors, single and batched.
//   gemm:         a is (M,K) or (K,M) if trans_a; b is (K,N) or (N,K) if trans_b; c is (M,N).
//   gemm_batched: the same with a leading batch dimension B on a, b and c (rank 3).
// CPU: OpenBLAS cblas_{s,d}gemm (row-major). CUDA twin: cuBLAS in cuda/gemm.cu, which
// computes the row-major product as the column-major product c^T = op(b)^T op(a)^T.
// Tests: tests/unit/test_ops_dense.cpp (hand-computed, every transpose, batched, errors);
// tests/gpu/test_parity_dense.cpp (cuBLAS vs OpenBLAS, tolerance 2*K*eps*max|a||b|: the two
// libraries sum the K products in different orders).
// f32 and f64; beta = 0 overwrites c without reading it. M, N or K may be 0.
#pragma once
#include "host/core/tensor.hpp"

namespace naqs::ops {

void gemm(const Tensor& a, const Tensor& b, Tensor& c, bool trans_a = false, bool trans_b = false,
          double alpha = 1.0, double beta = 0.0);

void gemm_batched(const Tensor& a, const Tensor& b, Tensor& c, bool trans_a = false,
                  bool trans_b = false, double alpha = 1.0, double beta = 0.0);

namespace detail {
// Row-major sizes of one product and the batch count (1 for gemm); strides are M*K, K*N, M*N.
struct GemmDims {
  int64_t batch, m, n, k;
};
void gemm_cuda(const Tensor& a, const Tensor& b, Tensor& c, bool trans_a, bool trans_b,
               double alpha, double beta, const GemmDims& d);
}  // namespace detail

}  // namespace naqs::ops
