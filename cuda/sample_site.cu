// CUDA twin of the ancestral-sampling site decision (host/ops/sample_site.hpp): one thread per
// sample, calling the same NAQS_HD sample_site_row as the CPU reference.
// Parity: tests/op_cases/sample_site.cpp.
#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "host/ops/sample_site.hpp"

namespace naqs::ops::detail {
namespace {

template <class T>
__global__ void sample_site_kernel(int64_t batch, int64_t length, const T* re, const T* im,
                                   int64_t column, SampleSiteSpec spec, T* sigma, T* sigma_t,
                                   double* log_re, double* log_im, int32_t* n_up) {
  NAQS_GRID_STRIDE(b, batch) {
    sample_site_row(b, length, re, im, column, spec, sigma, sigma_t, log_re, log_im, n_up);
  }
}

}  // namespace

void sample_site_cuda(DType dtype, int64_t batch, int64_t length, const void* re, const void* im,
                      int64_t column, const SampleSiteSpec& spec, void* sigma, void* sigma_t,
                      double* log_re, double* log_im, int32_t* n_up) {
  if (batch == 0) return;
  dispatch_float(dtype, "sample_site", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(batch), 256, 0, sample_site_kernel<T>)(
        batch, length, static_cast<const T*>(re), static_cast<const T*>(im), column, spec,
        static_cast<T*>(sigma), static_cast<T*>(sigma_t), log_re, log_im, n_up);
  });
}

}  // namespace naqs::ops::detail
