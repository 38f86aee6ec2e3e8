// Matrix products on row-major-indexed tensors.
//   matmul(a, b, c, alpha, beta): c = alpha * a @ b + beta * c, batched over leading dims.
//     a is (..., M, K), b is (..., K, N), c is (..., M, N); a, b and c have the same rank
//     (2 to 6) and identical batch dims ("..."; up to 4).
//     Strides: accepted. The last two dims of a and of b may be a dense matrix or a transposed
//     one (one of their two strides 1, the other >= the length of the dim with stride 1, as
//     k.transpose(-1, -2) of a dense k gives); batch dims may have any strides, 0 included (a
//     broadcast view from expand(): grouped-query attention reads one K/V head for several query
//     heads). c needs column stride 1, row stride >= N and batch dims that do not overlap
//     (check_no_overlap). c must not overlap a or b.
//   gemm(a, b, c, trans_a, trans_b, alpha, beta): the rank-2 product with op(a) = a^T when
//     trans_a (a stored (K,M)), likewise b; gemm_batched: the same with one batch dim (rank 3).
//     Both are matmul on transposed views, so they accept the same strides.
// f32 and f64; beta = 0 overwrites c without reading it. M, N, K or a batch dim may be 0 (K = 0
// gives c = beta * c).
// CPU: one OpenBLAS cblas_{s,d}gemm per batch (Debian 12's OpenBLAS 0.3.21 has no batch API);
// a single product lets OpenBLAS thread it; several products run on parallel_chunks' threads
// (one product per chunk, OpenBLAS single-threaded inside) from kMinParallelMacs multiply-adds
// in all, so results are bitwise the same for any thread count. CUDA twin: cuBLAS
// {S,D}gemmStridedBatched in cuda/gemm.cu (row-major c = a b computed as the column-major
// c^T = b^T a^T); batch dims that collapse to one stride are one call, otherwise a host loop over
// the outer batch dims. Sizes and leading dimensions must fit BLAS's int (checked).
// Tests: tests/unit/test_matmul.cpp (strided, transposed and broadcast operands vs a float64
// loop, every size 0, errors); tests/unit/test_ops_dense.cpp (gemm hand values);
// tests/op_cases/gemm.cpp (matmul on strided, broadcast and rank-6 views; gemm; gemm_batched):
// cuBLAS vs OpenBLAS, tolerance 2*K*eps*max|a||b| (the two libraries sum the K products in
// different orders), and float64 gradients. Benchmark: bench/bench_matmul.cpp (bench_gemm.cpp: square gemm).
#pragma once
#include "host/core/tensor.hpp"

namespace naqs::ops {

void matmul(const Tensor& a, const Tensor& b, Tensor& c, double alpha = 1.0, double beta = 0.0);

void gemm(const Tensor& a, const Tensor& b, Tensor& c, bool trans_a = false, bool trans_b = false,
          double alpha = 1.0, double beta = 0.0);

void gemm_batched(const Tensor& a, const Tensor& b, Tensor& c, bool trans_a = false,
                  bool trans_b = false, double alpha = 1.0, double beta = 0.0);

namespace detail {
// How BLAS reads one operand matrix (R,C): trans = false: element (i,j) at i*ld + j (row-major,
// ld >= C); trans = true: at i + j*ld (the row-major storage of its (C,R) transpose, ld >= R).
struct MatrixLayout {
  bool trans = false;
  int64_t ld = 1;
};

// A checked matmul: product sizes, operand layouts, and the batch dims collapsed by
// collapse_dims({&a, &b, &c}) (host/core/tensor.hpp; batch.stride[0], [1], [2] are a's, b's and
// c's batch strides in elements).
struct MatmulPlan {
  int64_t m = 0, n = 0, k = 0;
  MatrixLayout a, b;
  int64_t ldc = 1;
  CollapsedDims batch;
  // Offsets (elements) of the matrices of batch t, t indexing collapsed batch dims [0, dims)
  // in row-major order (the later dims' indices taken as 0).
  void offsets(int64_t t, int dims, int64_t& oa, int64_t& ob, int64_t& oc) const;
};
void matmul_cuda(const Tensor& a, const Tensor& b, Tensor& c, double alpha, double beta,
                 const MatmulPlan& plan);
}  // namespace detail

}  // namespace naqs::ops
