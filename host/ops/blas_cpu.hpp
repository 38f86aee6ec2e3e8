// What the CPU ops that call OpenBLAS directly (host/ops/conv1d.cpp, conv_site.cpp) share:
// gemm_rm, a row-major cblas GEMM on raw pointers (f32 or f64), and BlasSingleThreaded,
// OpenBLAS's own thread count set to 1 for the lifetime of the guard (restored after). Those
// ops split their work into chunks fixed by the sizes and run them on parallel_chunks' threads
// (host/core/parallel.hpp), calling OpenBLAS from those threads, so OpenBLAS must not thread
// again inside. Ops run on one host thread at a time, so the global setting is not raced.
// Host-only (includes cblas.h); covered by the ops' thread-count tests.
#pragma once
#include <cblas.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace naqs::ops {

// c (m,n) = alpha op(a) op(b) + beta c, row-major, T float or double; leading dimensions are
// raised to >= 1 as BLAS requires even for empty operands.
template <class T>
void gemm_rm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
             int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  const auto i = [](int64_t v) { return static_cast<blasint>(v); };
  const auto ld = [](int64_t v) { return static_cast<blasint>(std::max<int64_t>(1, v)); };
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, i(m), i(n), i(k), alpha, a, ld(lda), b, ld(ldb), beta, c,
                ld(ldc));
  else
    cblas_dgemm(CblasRowMajor, ta, tb, i(m), i(n), i(k), alpha, a, ld(lda), b, ld(ldb), beta, c,
                ld(ldc));
}

class BlasSingleThreaded {
 public:
  BlasSingleThreaded() : saved_(openblas_get_num_threads()) {
    if (saved_ > 1) openblas_set_num_threads(1);
  }
  ~BlasSingleThreaded() {
    if (saved_ > 1) openblas_set_num_threads(saved_);
  }
  BlasSingleThreaded(const BlasSingleThreaded&) = delete;
  BlasSingleThreaded& operator=(const BlasSingleThreaded&) = delete;

 private:
  int saved_;
};

}  // namespace naqs::ops
