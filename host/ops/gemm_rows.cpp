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
