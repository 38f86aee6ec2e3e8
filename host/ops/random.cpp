// Random fills: CPU reference and dispatch. See random.hpp.
#include "host/ops/random.hpp"

#include "host/core/cuda_runtime.hpp"
#include "host/core/philox.hpp"

namespace naqs::ops {

void fill_uniform(Tensor& x, uint64_t seed, uint64_t stream, uint64_t offset) {
  check_defined("fill_uniform", x, "x");
  check_contiguous("fill_uniform", x, "x");
  const int64_t n = x.numel();
  if (x.device().is_cuda()) {
    NAQS_CUDA_BRANCH("fill_uniform", (cuda_rt::set_device(x.device().index),
                                      detail::fill_uniform_cuda(x.raw_data(), x.dtype(), n, seed,
                                                                stream, offset)));
    return;
  }
  dispatch_float(x.dtype(), "fill_uniform", [&](auto tag) {
    using T = decltype(tag);
    T* p = x.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t index = offset + static_cast<uint64_t>(i);
      if constexpr (sizeof(T) == 4)
        p[i] = philox_uniform_f32(seed, stream, index);
      else
        p[i] = philox_uniform_f64(seed, stream, index);
    }
  });
}

void fill_normal(Tensor& x, uint64_t seed, uint64_t stream, uint64_t offset, double mean,
                 double stddev) {
  check_defined("fill_normal", x, "x");
  check_contiguous("fill_normal", x, "x");
  const int64_t n = x.numel();
  if (x.device().is_cuda()) {
    NAQS_CUDA_BRANCH("fill_normal", (cuda_rt::set_device(x.device().index),
                                     detail::fill_normal_cuda(x.raw_data(), x.dtype(), n, seed,
                                                              stream, offset, mean, stddev)));
    return;
  }
  dispatch_float(x.dtype(), "fill_normal", [&](auto tag) {
    using T = decltype(tag);
    T* p = x.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i)
      p[i] = static_cast<T>(
          philox_normal_f64(seed, stream, offset + static_cast<uint64_t>(i), mean, stddev));
  });
}

double philox_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  return philox_uniform_f64(seed, stream, index);
}

double philox_normal(uint64_t seed, uint64_t stream, uint64_t index) {
  return philox_normal_f64(seed, stream, index, 0.0, 1.0);
}

}  // namespace naqs::ops
