#include "host/ops/gemm.hpp"

#include <cblas.h>

#include <algorithm>

#include "host/core/cuda_runtime.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"

namespace naqs::ops {
namespace {

// Checks dtypes, devices and shapes; returns the product sizes. `rank` is 2 or 3.
detail::GemmDims gemm_dims(const char* op, const Tensor& a, const Tensor& b, const Tensor& c,
                           bool trans_a, bool trans_b, int rank) {
  check_defined(op, a, "a");
  check_defined(op, b, "b");
  check_defined(op, c, "c");
  check_same_device(op, {&a, &b, &c});
  check_same_dtype(op, {&a, &b, &c});
  dispatch_float(a.dtype(), op, [](auto) {});
  check_rank(op, a, rank, "a");
  check_rank(op, b, rank, "b");
  check_rank(op, c, rank, "c");
  const int r = rank - 2;  // index of the row dimension
  detail::GemmDims d{};
  d.batch = rank == 3 ? a.size(0) : 1;
  d.m = trans_a ? a.size(r + 1) : a.size(r);
  d.k = trans_a ? a.size(r) : a.size(r + 1);
  const int64_t kb = trans_b ? b.size(r + 1) : b.size(r);
  d.n = trans_b ? b.size(r) : b.size(r + 1);
  if (kb != d.k || (rank == 3 && (b.size(0) != d.batch || c.size(0) != d.batch)))
    throw Error(cat(op, ": inner or batch dimensions differ: a ", a.str(), (trans_a ? "^T" : ""),
                    ", b ", b.str(), (trans_b ? "^T" : "")));
  const Shape want = rank == 3 ? Shape{d.batch, d.m, d.n} : Shape{d.m, d.n};
  check_shape(op, c, want, "c");
  return d;
}

// Row-major product through cblas; leading dimensions are the stored row lengths (>= 1).
void gemm_cpu(const Tensor& a, const Tensor& b, Tensor& c, bool trans_a, bool trans_b, double alpha,
              double beta, const detail::GemmDims& d) {
  const auto ta = trans_a ? CblasTrans : CblasNoTrans;
  const auto tb = trans_b ? CblasTrans : CblasNoTrans;
  const blasint lda = static_cast<blasint>(std::max<int64_t>(1, trans_a ? d.m : d.k));
  const blasint ldb = static_cast<blasint>(std::max<int64_t>(1, trans_b ? d.k : d.n));
  const blasint ldc = static_cast<blasint>(d.n);
  const auto m = static_cast<blasint>(d.m), n = static_cast<blasint>(d.n),
             k = static_cast<blasint>(d.k);
  for (int64_t i = 0; i < d.batch; ++i) {
    if (a.dtype() == DType::f32) {
      cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, static_cast<float>(alpha),
                  a.data<float>() + i * d.m * d.k, lda, b.data<float>() + i * d.k * d.n, ldb,
                  static_cast<float>(beta), c.data<float>() + i * d.m * d.n, ldc);
    } else {
      cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a.data<double>() + i * d.m * d.k, lda,
                  b.data<double>() + i * d.k * d.n, ldb, beta, c.data<double>() + i * d.m * d.n,
                  ldc);
    }
  }
}

void gemm_any(const char* op, const Tensor& a, const Tensor& b, Tensor& c, bool trans_a,
              bool trans_b, double alpha, double beta, int rank) {
  const detail::GemmDims d = gemm_dims(op, a, b, c, trans_a, trans_b, rank);
  if (c.numel() == 0) return;
  if (d.k == 0) {  // empty sum: c = beta * c (done here so neither BLAS sees K = 0)
    if (beta == 0.0) {
      fill(c, 0.0);
    } else {
      scale(c, beta);
    }
    return;
  }
  if (c.device().is_cpu()) {
    gemm_cpu(a, b, c, trans_a, trans_b, alpha, beta, d);
  } else {
    NAQS_CUDA_BRANCH(op, detail::gemm_cuda(a, b, c, trans_a, trans_b, alpha, beta, d));
  }
}

}  // namespace

void gemm(const Tensor& a, const Tensor& b, Tensor& c, bool trans_a, bool trans_b, double alpha,
          double beta) {
  gemm_any("gemm", a, b, c, trans_a, trans_b, alpha, beta, 2);
}

void gemm_batched(const Tensor& a, const Tensor& b, Tensor& c, bool trans_a, bool trans_b,
                  double alpha, double beta) {
  gemm_any("gemm_batched", a, b, c, trans_a, trans_b, alpha, beta, 3);
}

}  // namespace naqs::ops
