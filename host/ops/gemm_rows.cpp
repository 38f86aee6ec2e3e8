// CPU fixed-order row product and dispatch; see gemm_rows.hpp.
#include "host/ops/gemm_rows.hpp"

#include <algorithm>

#include "host/core/error.hpp"
#include "host/core/parallel.hpp"
#include "host/core/simd.hpp"
#include "host/ops/gemm.hpp"

namespace naqs::ops {
namespace {

// c[m, n] = sum_k a[m, k] w[n, k] in one fixed order: eight partial sums, lane l taking
// k = l, l + 8, l + 16, ... in ascending order (acc = acc + a * w, from 0), then combined as
// ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)). The order depends on K alone, so every
// row rounds the same way whatever the number of rows or threads; the lanes vectorise along k
// with both operands contiguous (no transposed copy of w, which a decode step with one row
// would pay for in full). CMakeLists.txt compiles this file with -ffp-contract=off, so no
// a*b + c is contracted into an FMA (it would matter only where the target has FMA).
constexpr int64_t kLanes = 8, kCols = 4, kColBlock = 32, kRowsPerChunk = 16;

template <class T>
inline void rows_kernel_body(const T* a, const T* w, T* c, int64_t m0, int64_t rows, int64_t n, int64_t k) {
  const int64_t k8 = k - k % kLanes;
  // kColBlock columns of w (kColBlock * K elements) stay in cache while every row uses them
  for (int64_t b0 = 0; b0 < n; b0 += kColBlock) {
    const int64_t b1 = std::min(n, b0 + kColBlock);
    for (int64_t r = m0; r < m0 + rows; ++r) {
      const T* ar = a + r * k;
      for (int64_t j0 = b0; j0 < b1; j0 += kCols) {
        const int64_t nb = std::min(kCols, b1 - j0);
        T acc[kCols][kLanes] = {};
        for (int64_t kk = 0; kk < k8; kk += kLanes)
          for (int64_t jj = 0; jj < nb; ++jj) {
            const T* wr = w + (j0 + jj) * k + kk;
            for (int64_t l = 0; l < kLanes; ++l) acc[jj][l] += ar[kk + l] * wr[l];
          }
        for (int64_t kk = k8; kk < k; ++kk)
          for (int64_t jj = 0; jj < nb; ++jj) acc[jj][kk - k8] += ar[kk] * w[(j0 + jj) * k + kk];
        for (int64_t jj = 0; jj < nb; ++jj) {
          const T* s = acc[jj];
          c[r * n + j0 + jj] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        }
      }
    }
  }
}

NAQS_AVX2_CLONES void rows_kernel(const float* a, const float* w, float* c, int64_t m0,
                                  int64_t rows, int64_t n, int64_t k) {
  rows_kernel_body(a, w, c, m0, rows, n, k);
}
NAQS_AVX2_CLONES void rows_kernel(const double* a, const double* w, double* c, int64_t m0,
                                  int64_t rows, int64_t n, int64_t k) {
  rows_kernel_body(a, w, c, m0, rows, n, k);
}

}  // namespace

void gemm_rows(const Tensor& a, const Tensor& w, Tensor& c) {
  const char* op = "gemm_rows";
  check_defined(op, a, "a");
  check_defined(op, w, "w");
  check_defined(op, c, "c");
  check_rank(op, a, 2, "a");
  check_rank(op, w, 2, "w");
  const int64_t m = a.size(0), k = a.size(1), n = w.size(0);
  check_shape(op, w, Shape{n, k}, "w");
  check_shape(op, c, Shape{m, n}, "c");
  check_same_dtype(op, {&a, &w, &c});
  check_same_device(op, {&a, &w, &c});
  check_contiguous(op, a, "a");
  check_contiguous(op, w, "w");
  check_contiguous(op, c, "c");
  dispatch_float(a.dtype(), op, [](auto) {});
  if (a.device().is_cuda()) {
    gemm(a, w, c, false, true);
    return;
  }
  dispatch_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* ap = a.data<T>();
    const T* wp = w.data<T>();
    T* cp = c.data<T>();
    const int64_t chunks = (m + kRowsPerChunk - 1) / kRowsPerChunk;
    const int slots = m * n * k >= kMinParallelMacs ? parallel_slots() : 1;
    parallel_chunks(chunks, slots, [&](int64_t chunk, int) {
      const int64_t m0 = chunk * kRowsPerChunk;
      rows_kernel(ap, wp, cp, m0, std::min(kRowsPerChunk, m - m0), n, k);
    });
  });
}

}  // namespace naqs::ops
