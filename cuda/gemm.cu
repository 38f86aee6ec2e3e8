// CUDA twin of host/ops/gemm.hpp: gemm and gemm_batched through cuBLAS (strided batched).
// Parity tests: tests/gpu/test_parity_dense.cpp.
#include <algorithm>
#include <climits>

#include "cuda/kernel_util.cuh"
#include "host/ops/gemm.hpp"

namespace naqs::ops::detail {
namespace {

// ---- gemm ------------------------------------------------------------------------------
int to_int(int64_t v, const char* what) {
  NAQS_CHECK(v <= INT_MAX, "gemm_cuda: ", what, " = ", v, " exceeds the cuBLAS int range");
  return static_cast<int>(v);
}

}  // namespace

// ---- gemm: row-major c = op(a) op(b) is column-major c^T = op(b)^T op(a)^T ----------------
void gemm_cuda(const Tensor& a, const Tensor& b, Tensor& c, bool trans_a, bool trans_b,
               double alpha, double beta, const GemmDims& d) {
  use_device_of(c);
  const int m = to_int(d.m, "M"), n = to_int(d.n, "N"), k = to_int(d.k, "K");
  const int batch = to_int(d.batch, "batch");
  // Leading dimensions: the stored row lengths of the row-major operands.
  const int lda = std::max(1, trans_a ? m : k);
  const int ldb = std::max(1, trans_b ? k : n);
  const int ldc = std::max(1, n);
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const long long stride_a = d.m * d.k, stride_b = d.k * d.n, stride_c = d.m * d.n;
  cublasHandle_t h = cuda_rt::cublas_handle();
  if (a.dtype() == DType::f32) {
    const float al = static_cast<float>(alpha), be = static_cast<float>(beta);
    NAQS_CUBLAS_CHECK(cublasSgemmStridedBatched(h, op_b, op_a, n, m, k, &al, b.data<float>(), ldb,
                                                stride_b, a.data<float>(), lda, stride_a, &be,
                                                c.data<float>(), ldc, stride_c, batch));
  } else {
    NAQS_CUBLAS_CHECK(cublasDgemmStridedBatched(h, op_b, op_a, n, m, k, &alpha, b.data<double>(),
                                                ldb, stride_b, a.data<double>(), lda, stride_a,
                                                &beta, c.data<double>(), ldc, stride_c, batch));
  }
}

}  // namespace naqs::ops::detail
