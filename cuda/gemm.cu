// CUDA twin of host/ops/gemm.hpp: matmul (and gemm / gemm_batched, which are matmul on views)
// through cuBLAS {S,D}gemmStridedBatched. Row-major c = op(a) op(b) is the column-major product
// c^T = op(b)^T op(a)^T on the same memory, so b goes first. The innermost collapsed batch dim
// (its strides may be 0 on a and b: a broadcast) is cuBLAS's batch; outer batch dims that do
// not collapse into it (e.g. a permuted (B,T,H,Dh) view's B and H) are a host loop, one call
// each. Leading dimensions come checked from host/ops/gemm.cpp (>= max(1, rows) of the
// column-major operand, int range); the batch count is checked here.
// Parity tests: tests/op_cases/gemm.cpp.
#include <climits>

#include "cuda/kernel_util.cuh"
#include "host/ops/gemm.hpp"

namespace naqs::ops::detail {

void matmul_cuda(const Tensor& a, const Tensor& b, Tensor& c, double alpha, double beta,
                 const MatmulPlan& p) {
  use_device_of(c);
  const int inner = p.batch.rank - 1;  // -1: a single product
  const int64_t inner_count = inner >= 0 ? p.batch.size[inner] : 1;
  NAQS_CHECK(inner_count <= INT_MAX, "matmul_cuda: batch dim of ", inner_count,
             " products exceeds the cuBLAS int range");
  const long long sa = inner >= 0 ? p.batch.stride[0][inner] : 0;
  const long long sb = inner >= 0 ? p.batch.stride[1][inner] : 0;
  const long long sc = inner >= 0 ? p.batch.stride[2][inner] : 0;
  const int m = static_cast<int>(p.m), n = static_cast<int>(p.n), k = static_cast<int>(p.k);
  const int lda = static_cast<int>(p.a.ld), ldb = static_cast<int>(p.b.ld);
  const int ldc = static_cast<int>(p.ldc);
  const int count = static_cast<int>(inner_count);
  const cublasOperation_t op_a = p.a.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = p.b.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasHandle_t h = cuda_rt::cublas_handle();
  const int64_t outer_count = p.batch.numel() / inner_count;
  for (int64_t t = 0; t < outer_count; ++t) {
    int64_t oa, ob, oc;
    p.offsets(t, inner < 0 ? 0 : inner, oa, ob, oc);
    if (a.dtype() == DType::f32) {
      const float al = static_cast<float>(alpha), be = static_cast<float>(beta);
      NAQS_CUBLAS_CHECK(cuda_rt::cublas().sgemm_strided_batched(
          h, op_b, op_a, n, m, k, &al, b.strided_data<float>() + ob, ldb, sb,
          a.strided_data<float>() + oa, lda, sa, &be, c.strided_data<float>() + oc, ldc, sc,
          count));
    } else {
      NAQS_CUBLAS_CHECK(cuda_rt::cublas().dgemm_strided_batched(
          h, op_b, op_a, n, m, k, &alpha, b.strided_data<double>() + ob, ldb, sb,
          a.strided_data<double>() + oa, lda, sa, &beta, c.strided_data<double>() + oc, ldc, sc,
          count));
    }
  }
}

}  // namespace naqs::ops::detail
