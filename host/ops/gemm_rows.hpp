// A matrix product whose every row is computed the same way however many rows there are.
//   gemm_rows(a, w, c): c = a @ w^T; a (M, K), w (N, K) (a linear layer's weight, PyTorch
//   layout), c (M, N); all contiguous, f32 or f64.
// CPU: every c[m, n] is summed in one order fixed by K alone (eight interleaved partial sums
// over k, combined by a fixed tree; gemm_rows.cpp), in the dtype, so row m of a product over M
// rows is bitwise the row of the product over that row alone, for any M and any thread count.
// OpenBLAS does not promise that (it picks kernels by size: measured, Debian 12's 0.3.21 gives
// other last bits for 1 row than for 67 rows from K >= 32, N >= 64), which is why the
// transformer's cached decode (one row per sequence) and its full forward use this on the CPU
// (ml/transformer/model.hpp). About as fast as a plain vectorised loop, far below OpenBLAS for
// large M: training uses ops::gemm.
// CUDA: ops::gemm (cuBLAS); the GPU decode is compared with the CPU within a tolerance.
// Tests: tests/unit/test_attention.cpp (rows of M = 1..67 products bitwise equal, vs a float64
// loop); tests/op_cases/gemm_rows.cpp (parity: K-term sums in different orders).
#pragma once
#include "host/core/tensor.hpp"

namespace naqs::ops {

void gemm_rows(const Tensor& a, const Tensor& w, Tensor& c);

}  // namespace naqs::ops
