// CUDA twin of the shifted-window 2-D convolution (host/ops/conv2d.hpp; CPU reference in
// host/ops/conv2d.cpp; parity: tests/op_cases/conv2d.cpp).
//   forward: one thread per output element, through conv2d_pixel().
//   backward_input: one thread per dx element, gathering over (o, i, j).
//   backward_weight (summed or per sample): one warp per dw element, reducing over the batch
//     (or one sample) and the pixels with shuffles, in double and rounded once to T as the
//     CPU does. No atomics: results are deterministic.
#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "host/core/cuda_runtime.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/conv2d.hpp"

namespace naqs::ops::detail {
namespace {

constexpr int kBlock = 256;
constexpr int kWarp = 32;

// One output element (the CPU adds the same terms in the same order): acc + sum over in-range
// taps, in (ci,i,j) order, of w[o,ci,i,j] * x[b,ci,r+oh+i,c+ow+j]. xb points at x[b,0,0,0], wo
// at w[o,0,0,0].
template <class T>
__device__ __forceinline__ T conv2d_pixel(const T* xb, const T* wo, const Conv2dDims& d,
                                          const Conv2dSpec& s, int64_t r, int64_t c, T acc) {
  const int64_t hw = d.height * d.width;
  for (int64_t ci = 0; ci < d.n_in; ++ci) {
    const T* xc = xb + ci * hw;
    const T* wc = wo + ci * s.kernel_h * s.kernel_w;
    for (int i = 0; i < s.kernel_h; ++i) {
      const int64_t rr = r + s.offset_h + i;
      if (rr < 0 || rr >= d.height) continue;
      for (int j = 0; j < s.kernel_w; ++j) {
        const int64_t cc = c + s.offset_w + j;
        if (cc < 0 || cc >= d.width) continue;
        acc += wc[i * s.kernel_w + j] * xc[rr * d.width + cc];
      }
    }
  }
  return acc;
}

template <class T>
__global__ void forward_kernel(const T* __restrict__ x, const T* __restrict__ w,
                               const T* __restrict__ bias, T* __restrict__ y, Conv2dDims d,
                               Conv2dSpec s, bool accumulate) {
  const int64_t hw = d.height * d.width;
  const int64_t n = d.batch * d.n_out * hw;
  const int64_t n_taps = d.n_in * s.kernel_h * s.kernel_w;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < n;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t pix = idx % hw;
    const int64_t o = (idx / hw) % d.n_out;
    const int64_t b = idx / (hw * d.n_out);
    T& out = y[(b * d.n_out + o) * hw + pix];
    const T acc = (accumulate ? out : T(0)) + (bias ? bias[o] : T(0));
    out = conv2d_pixel<T>(x + b * d.n_in * hw, w + o * n_taps, d, s, pix / d.width,
                          pix % d.width, acc);
  }
}

// dx[b,ci,p,q] (+)= sum_{o,i,j} w[o,ci,i,j] * dy[b,o,p-oh-i,q-ow-j] over in-range outputs.
template <class T>
__global__ void backward_input_kernel(const T* __restrict__ dy, const T* __restrict__ w,
                                      T* __restrict__ dx, Conv2dDims d, Conv2dSpec s,
                                      bool accumulate) {
  const int64_t hw = d.height * d.width;
  const int64_t n = d.batch * d.n_in * hw;
  const int n_taps = s.kernel_h * s.kernel_w;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < n;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t q = idx % d.width;
    const int64_t p = (idx / d.width) % d.height;
    const int64_t ci = (idx / hw) % d.n_in;
    const int64_t b = idx / (hw * d.n_in);
    T acc = accumulate ? dx[idx] : T(0);
    for (int64_t o = 0; o < d.n_out; ++o) {
      const T* dyo = dy + (b * d.n_out + o) * hw;
      const T* wo = w + (o * d.n_in + ci) * n_taps;
      for (int i = 0; i < s.kernel_h; ++i) {
        const int64_t r = p - s.offset_h - i;
        if (r < 0 || r >= d.height) continue;
        for (int j = 0; j < s.kernel_w; ++j) {
          const int64_t c = q - s.offset_w - j;
          if (c < 0 || c >= d.width) continue;
          acc += wo[i * s.kernel_w + j] * dyo[r * d.width + c];
        }
      }
    }
    dx[idx] = acc;
  }
}

// One warp per element of dw, which is (G,Cout,Cin,kh,kw) with G = B per sample, else 1:
// dw (+)= sum over samples b of the group and pixels (r,c) of dy[b,o,r,c] * x[b,ci,r+oh+i,c+ow+j].
template <class T>
__global__ void backward_weight_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                                       T* __restrict__ dw, Conv2dDims d, Conv2dSpec s,
                                       bool accumulate, bool per_sample) {
  const int64_t hw = d.height * d.width;
  const int n_taps = s.kernel_h * s.kernel_w;
  const int64_t n_groups = per_sample ? d.batch : 1;
  const int64_t n = n_groups * d.n_out * d.n_in * n_taps;
  const int64_t n_samples = per_sample ? 1 : d.batch;
  const int64_t n_terms = n_samples * hw;
  const int lane = threadIdx.x % kWarp;
  const int64_t warps_per_grid = int64_t(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t e = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / kWarp; e < n;
       e += warps_per_grid) {
    const int t = static_cast<int>(e % n_taps);
    const int i = t / s.kernel_w, j = t % s.kernel_w;
    const int64_t ci = (e / n_taps) % d.n_in;
    const int64_t o = (e / (int64_t(n_taps) * d.n_in)) % d.n_out;
    const int64_t g = e / (int64_t(n_taps) * d.n_in * d.n_out);
    double acc = 0;  // in double and rounded once, as the CPU does
    for (int64_t k = lane; k < n_terms; k += kWarp) {
      const int64_t pix = k % hw;
      const int64_t b = (per_sample ? g : 0) + k / hw;
      const int64_t r = pix / d.width, c = pix % d.width;
      const int64_t rr = r + s.offset_h + i, cc = c + s.offset_w + j;
      if (rr < 0 || rr >= d.height || cc < 0 || cc >= d.width) continue;
      acc += double(dy[(b * d.n_out + o) * hw + pix]) *
             double(x[(b * d.n_in + ci) * hw + rr * d.width + cc]);
    }
    for (int off = kWarp / 2; off > 0; off /= 2) acc += __shfl_down_sync(0xffffffffu, acc, off);
    if (lane == 0) dw[e] = static_cast<T>(accumulate ? double(dw[e]) + acc : acc);
  }
}

}  // namespace

void conv2d_forward_cuda(const Tensor& x, const Tensor& w, const Tensor& bias,
                         const Conv2dSpec& s, const Conv2dDims& d, Tensor& y, bool accumulate) {
  const int64_t n = d.batch * d.n_out * d.height * d.width;
  if (n == 0) return;
  cuda_rt::set_device(y.device().index);
  dispatch_float(y.dtype(), "conv2d_forward_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n, kBlock), kBlock, 0, forward_kernel<T>)(
        x.data<T>(), w.data<T>(), data_or_null<T>(bias), y.data<T>(), d, s, accumulate);
  });
}

void conv2d_backward_input_cuda(const Tensor& dy, const Tensor& w, const Conv2dSpec& s,
                                const Conv2dDims& d, Tensor& dx, bool accumulate) {
  const int64_t n = dx.numel();
  if (n == 0) return;
  cuda_rt::set_device(dx.device().index);
  dispatch_float(dx.dtype(), "conv2d_backward_input_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n, kBlock), kBlock, 0, backward_input_kernel<T>)(
        dy.data<T>(), w.data<T>(), dx.data<T>(), d, s, accumulate);
  });
}

void conv2d_backward_weight_cuda(const Tensor& x, const Tensor& dy, const Conv2dSpec& s,
                                 const Conv2dDims& d, Tensor& dw, bool accumulate,
                                 bool per_sample) {
  const int64_t n = dw.numel();
  if (n == 0) return;
  cuda_rt::set_device(dw.device().index);
  dispatch_float(dw.dtype(), "conv2d_backward_weight_cuda", [&](auto tag) {
    using T = decltype(tag);
    // kBlock / kWarp elements per block; grid_for caps the grid, the warp loop covers the rest.
    NAQS_LAUNCH(cuda_rt::grid_for(n * kWarp, kBlock), kBlock, 0, backward_weight_kernel<T>)(
        x.data<T>(), dy.data<T>(), dw.data<T>(), d, s, accumulate, per_sample);
  });
}

}  // namespace naqs::ops::detail
