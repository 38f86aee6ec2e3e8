// CUDA twin of the site convolution (host/ops/conv_site.hpp), sharing the activation formulas of
// host/ops/elementwise_math.hpp. Parity tests: tests/op_cases/conv_site.cpp.
#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "host/ops/conv_site.hpp"
#include "host/ops/elementwise_math.hpp"

namespace naqs::ops::detail {

// ---- site convolution (conv_site.hpp) ------------------------------------------------------
// x (S,B,Cin) site-major, wt (K,Cin,Cout), y and residual (B,Cout). One thread per (b,o):
// [y +] bias, then the taps in (c, k) order, channel outer, then the activation and residual.

// The host's tap list, by value (kernel parameters live in constant memory).
struct SiteTapList {
  int n = 0;
  int64_t site[kMaxSiteTaps];
  int tap[kMaxSiteTaps];
};

// kAct < 0: no activation; else static_cast<int>(Unary).
template <class T, int kAct>
__global__ void conv_site_kernel(const T* x, const T* wt, const T* bias, const T* residual, T* y,
                                 ConvSiteDims d, SiteTapList taps, bool accumulate) {
  const int64_t n = d.n_batch * d.c_out;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = i % d.c_out, b = i / d.c_out;
    T sum = (accumulate ? y[i] : T(0)) + (bias ? bias[o] : T(0));
    for (int64_t c = 0; c < d.c_in; ++c)
      for (int k = 0; k < taps.n; ++k)
        sum += x[(taps.site[k] * d.n_batch + b) * d.c_in + c] *
               wt[(taps.tap[k] * d.c_in + c) * d.c_out + o];
    if constexpr (kAct >= 0) sum = unary_value<static_cast<Unary>(kAct)>(sum);
    y[i] = residual ? sum + residual[i] : sum;
  }
}

void conv_site_forward_cuda(const void* x, const void* wt, const void* bias, const void* residual,
                            void* y, DType dtype, const ConvSiteDims& d,
                            std::span<const SiteTap> taps, int act, bool accumulate) {
  const int64_t n = d.n_batch * d.c_out;
  if (n == 0) return;
  NAQS_CHECK(static_cast<int64_t>(taps.size()) <= kMaxSiteTaps, "conv_site_forward: ",
             taps.size(), " taps, but the CUDA kernel takes at most ", kMaxSiteTaps);
  SiteTapList list;
  list.n = static_cast<int>(taps.size());
  for (int k = 0; k < list.n; ++k) {
    list.site[k] = taps[k].site;
    list.tap[k] = taps[k].tap;
  }
  dispatch_float(dtype, "conv_site_forward", [&](auto tag) {
    using T = decltype(tag);
    auto launch = [&](auto kernel) {
      NAQS_LAUNCH(cuda_rt::grid_for(n), 256, 0, kernel)(
          static_cast<const T*>(x), static_cast<const T*>(wt), static_cast<const T*>(bias),
          static_cast<const T*>(residual), static_cast<T*>(y), d, list, accumulate);
    };
    if (act < 0) {
      launch(conv_site_kernel<T, -1>);
      return;
    }
    with_unary(static_cast<Unary>(act), [&](auto ft) {
      launch(conv_site_kernel<T, static_cast<int>(decltype(ft)::value)>);
    });
  });
}

}  // namespace naqs::ops::detail
