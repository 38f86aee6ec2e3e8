// CPU fixed-order row product and dispatch; see gemm_rows.hpp.
#include "host/ops/gemm_rows.hpp"

#include <algorithm>
#include <vector>

#include "host/core/error.hpp"
#include "host/core/parallel.hpp"
#include "host/ops/gemm.hpp"

namespace naqs::ops {
namespace {

constexpr int64_t kRowBlock = 4, kColBlock = 64;
// Below this many rows, row_direct (no transposed copy of w).
constexpr int64_t kDirectRows = 4;

// Every row's sums must round identically in both kernels: CMakeLists.txt compiles this file
// with -ffp-contract=off, so a*b + c is never contracted into an FMA in one loop and not the
// other (it would matter only where the target has FMA, e.g. -march=native).

// Rows [m0, m0 + rows) of c, rows <= kRowBlock; wt is w transposed (K, N).
template <class T>
void row_block(const T* a, const T* wt, T* c, int64_t m0, int64_t rows, int64_t n, int64_t k) {
  T acc[kRowBlock][kColBlock];
  for (int64_t n0 = 0; n0 < n; n0 += kColBlock) {
    const int64_t nb = std::min(kColBlock, n - n0);
    for (int64_t r = 0; r < kRowBlock; ++r)
      for (int64_t j = 0; j < kColBlock; ++j) acc[r][j] = T(0);
    for (int64_t kk = 0; kk < k; ++kk) {
      const T* wrow = wt + kk * n + n0;
      for (int64_t r = 0; r < rows; ++r) {
        const T av = a[(m0 + r) * k + kk];
        T* ar = acc[r];
        for (int64_t j = 0; j < nb; ++j) ar[j] += av * wrow[j];
      }
    }
    for (int64_t r = 0; r < rows; ++r)
      std::copy(acc[r], acc[r] + nb, c + (m0 + r) * n + n0);
  }
}

// Rows [m0, m0 + rows) of c straight from w (N, K), eight columns at a time (eight independent
// sums, so the additions of one column do not wait on each other). Each c[m, n] is the same
// sequence acc = acc + a[m,k] * w[n,k], k ascending from acc = 0, as in row_block: bitwise the
// same result, without transposing w (what a decode step with one or a few rows needs).
template <class T>
void row_direct(const T* a, const T* w, T* c, int64_t m0, int64_t rows,
                                 int64_t n, int64_t k) {
  constexpr int64_t kCols = 8;
  for (int64_t r = 0; r < rows; ++r) {
    const T* ar = a + (m0 + r) * k;
    T* cr = c + (m0 + r) * n;
    int64_t j0 = 0;
    for (; j0 + kCols <= n; j0 += kCols) {
      T acc[kCols] = {};
      for (int64_t kk = 0; kk < k; ++kk) {
        const T av = ar[kk];
        for (int64_t j = 0; j < kCols; ++j) acc[j] += av * w[(j0 + j) * k + kk];
      }
      for (int64_t j = 0; j < kCols; ++j) cr[j0 + j] = acc[j];
    }
    for (; j0 < n; ++j0) {
      T acc = 0;
      for (int64_t kk = 0; kk < k; ++kk) acc += ar[kk] * w[j0 * k + kk];
      cr[j0] = acc;
    }
  }
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
    const T* wp = w.data<T>();
    if (m <= kDirectRows) {
      row_direct(a.data<T>(), wp, c.data<T>(), 0, m, n, k);
      return;
    }
    std::vector<T> wt(static_cast<size_t>(n * k));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t kk = 0; kk < k; ++kk) wt[kk * n + i] = wp[i * k + kk];
    const T* ap = a.data<T>();
    T* cp = c.data<T>();
    const int64_t blocks = (m + kRowBlock - 1) / kRowBlock;
    const int slots = m * n * k >= kMinParallelMacs ? parallel_slots() : 1;
    parallel_chunks(blocks, slots, [&](int64_t blk, int) {
      const int64_t m0 = blk * kRowBlock;
      row_block(ap, wt.data(), cp, m0, std::min(kRowBlock, m - m0), n, k);
    });
  });
}

}  // namespace naqs::ops
