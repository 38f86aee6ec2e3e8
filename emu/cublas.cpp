// cuBLAS on the emulated device (emu/include/cublas_v2.h): the strided-batched GEMMs cuda/gemm.cu
// calls, one OpenBLAS GEMM per batch, after the argument checks cuBLAS makes (it returns
// CUBLAS_STATUS_INVALID_VALUE for m, n, k or batchCount < 0, lda < max(1, m) for op(A) = A and
// < max(1, k) for op(A) = A^T, ldb < max(1, k) / max(1, n), ldc < max(1, m)) and a check that every
// operand's extent lies in device memory (a GPU would fault), on the handle's device, which must be
// the current one (a handle belongs to the device current at cublasCreate). As cuBLAS, beta = 0
// never reads C.
#include <cblas.h>
#include <cublas_v2.h>  // emu/include/cublas_v2.h

#include <cstdint>
#include <string>

#include "emu/emu.hpp"
#include "host/core/error.hpp"

struct cublasContext {
  int device;  // current at cublasCreate
};

namespace {

// Bytes spanned by a column-major rows x cols matrix with leading dimension ld.
std::size_t extent(int rows, int cols, int ld, std::size_t elem) {
  if (rows == 0 || cols == 0) return 0;
  return (static_cast<std::size_t>(cols - 1) * ld + rows) * elem;
}

std::string g_status_detail;

template <class T>
cublasStatus_t gemm_strided_batched(const char* name, cublasHandle_t handle,
                                    cublasOperation_t transa, cublasOperation_t transb, int m,
                                    int n, int k, const T* alpha, const T* A, int lda, long long sa,
                                    const T* B, int ldb, long long sb, const T* beta, T* C, int ldc,
                                    long long sc, int batch) {
  using naqs::cat;
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  auto invalid = [&](const std::string& why) {
    g_status_detail = cat(name, ": ", why);
    return CUBLAS_STATUS_INVALID_VALUE;
  };
  if (transa == CUBLAS_OP_C || transb == CUBLAS_OP_C ||
      (transa != CUBLAS_OP_N && transa != CUBLAS_OP_T) ||
      (transb != CUBLAS_OP_N && transb != CUBLAS_OP_T))
    return invalid("only CUBLAS_OP_N and CUBLAS_OP_T are emulated for real matrices");
  if (m < 0 || n < 0 || k < 0 || batch < 0)
    return invalid(cat("m=", m, " n=", n, " k=", k, " batchCount=", batch, " (each must be >= 0)"));
  const bool ta = transa == CUBLAS_OP_T, tb = transb == CUBLAS_OP_T;
  const int a_rows = ta ? k : m, a_cols = ta ? m : k;  // A as stored (column-major)
  const int b_rows = tb ? n : k, b_cols = tb ? k : n;
  auto at_least_one = [](int v) { return v > 1 ? v : 1; };
  if (lda < at_least_one(a_rows)) return invalid(cat("lda=", lda, " < max(1, ", a_rows, ")"));
  if (ldb < at_least_one(b_rows)) return invalid(cat("ldb=", ldb, " < max(1, ", b_rows, ")"));
  if (ldc < at_least_one(m)) return invalid(cat("ldc=", ldc, " < max(1, m=", m, ")"));
  if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
  if (handle->device != naqs::emu::current_device())
    return invalid(cat("the handle belongs to device ", handle->device, " but device ",
                       naqs::emu::current_device(), " is current"));
  const bool read_ab = k > 0 && *alpha != T(0);
  for (int i = 0; i < batch; ++i) {
    const T* a = A + sa * i;
    const T* b = B + sb * i;
    T* c = C + sc * i;
    if ((read_ab && (!naqs::emu::is_device_range(a, extent(a_rows, a_cols, lda, sizeof(T))) ||
                     !naqs::emu::is_device_range(b, extent(b_rows, b_cols, ldb, sizeof(T))))) ||
        !naqs::emu::is_device_range(c, extent(m, n, ldc, sizeof(T)))) {
      g_status_detail =
          cat(name, ": an operand of product ", i, " of ", batch, " lies outside device memory");
      return CUBLAS_STATUS_EXECUTION_FAILED;
    }
    const void* none = nullptr;
    for (const void* p : {static_cast<const void*>(c), read_ab ? a : none, read_ab ? b : none})
      if (const std::string why = p ? naqs::emu::wrong_device(p) : ""; !why.empty()) {
        g_status_detail = cat(name, ": an operand of product ", i, ": ", why);
        return CUBLAS_STATUS_EXECUTION_FAILED;
      }
    if (*beta == T(0))  // cuBLAS does not read C when beta is zero (it may hold NaN)
      for (int col = 0; col < n; ++col)
        for (int row = 0; row < m; ++row) c[static_cast<int64_t>(col) * ldc + row] = T(0);
    if (!read_ab) {
      if (*beta != T(0))
        for (int col = 0; col < n; ++col)
          for (int row = 0; row < m; ++row) c[static_cast<int64_t>(col) * ldc + row] *= *beta;
      continue;
    }
    const auto ca = ta ? CblasTrans : CblasNoTrans, cb = tb ? CblasTrans : CblasNoTrans;
    if constexpr (sizeof(T) == 4)
      cblas_sgemm(CblasColMajor, ca, cb, m, n, k, *alpha, a, lda, b, ldb, *beta, c, ldc);
    else
      cblas_dgemm(CblasColMajor, ca, cb, m, n, k, *alpha, a, lda, b, ldb, *beta, c, ldc);
  }
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  *handle = new cublasContext{naqs::emu::current_device()};  // never destroyed, as cuda/ never does
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusString(cublasStatus_t status) {
  static thread_local std::string text;
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE:
    case CUBLAS_STATUS_EXECUTION_FAILED:
      text = std::string(status == CUBLAS_STATUS_INVALID_VALUE ? "CUBLAS_STATUS_INVALID_VALUE"
                                                               : "CUBLAS_STATUS_EXECUTION_FAILED") +
             " (emulator: " + g_status_detail + ")";
      return text.c_str();
    default: return "CUBLAS_STATUS (other)";
  }
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const float* alpha, const float* A, int lda,
                                         long long strideA, const float* B, int ldb,
                                         long long strideB, const float* beta, float* C, int ldc,
                                         long long strideC, int batchCount) {
  return gemm_strided_batched("cublasSgemmStridedBatched", handle, transa, transb, m, n, k, alpha,
                              A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batchCount);
}

cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const double* alpha, const double* A, int lda,
                                         long long strideA, const double* B, int ldb,
                                         long long strideB, const double* beta, double* C, int ldc,
                                         long long strideC, int batchCount) {
  return gemm_strided_batched("cublasDgemmStridedBatched", handle, transa, transb, m, n, k, alpha,
                              A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batchCount);
}
