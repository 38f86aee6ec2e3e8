// CUDA twin of the causal masked conv1d (host/ops/conv1d.hpp): forward, input and weight
// backwards, per-sample weight gradients. Parity tests: tests/op_cases/conv1d.cpp.
#include <algorithm>

#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "host/ops/conv1d.hpp"

namespace naqs::ops::detail {

// ---- conv1d ---------------------------------------------------------------------------------
// Index conventions as in host/ops/conv1d.hpp: x (B,Cin,L), w (Cout,Cin,K), y (B,Cout,L);
// tap k of output t reads x at t - d.back(k). Grid-stride loops over the output elements.


// y[b,o,t] for output position t; bias first, then taps in (c, k) order as the CPU reference.
template <class T>
__device__ T conv1d_output(const T* x, const T* w, const T* bias, const Conv1dDims& d, int64_t b,
                           int64_t o, int64_t t) {
  T sum = bias ? bias[o] : T(0);
  for (int64_t c = 0; c < d.c_in; ++c) {
    const T* xrow = x + (b * d.c_in + c) * d.length;
    const T* wrow = w + (o * d.c_in + c) * d.kernel;
    for (int k = 0; k < d.kernel; ++k) {
      const int64_t p = t - d.back(k);
      if (p >= 0) sum += wrow[k] * xrow[p];
    }
  }
  return sum;
}

template <class T>
__global__ void conv1d_forward_kernel(const T* x, const T* w, const T* bias, T* y,
                                      Conv1dDims d) {
  const int64_t n = d.n_batch * d.c_out * d.length;
  NAQS_GRID_STRIDE(i, n) {
    const int64_t t = i % d.length;
    const int64_t o = (i / d.length) % d.c_out;
    const int64_t b = i / (d.length * d.c_out);
    y[i] = conv1d_output(x, w, bias, d, b, o, t);
  }
}

// dx[b,c,p] (+)= sum_{o,k} w[o,c,k] dy[b,o,p + back(k)] over p + back(k) < L.
template <class T>
__global__ void conv1d_backward_input_kernel(const T* dy, const T* w, T* dx, Conv1dDims d,
                                             bool accumulate) {
  const int64_t n = d.n_batch * d.c_in * d.length;
  NAQS_GRID_STRIDE(i, n) {
    const int64_t p = i % d.length;
    const int64_t c = (i / d.length) % d.c_in;
    const int64_t b = i / (d.length * d.c_in);
    T sum = 0;
    for (int64_t o = 0; o < d.c_out; ++o) {
      const T* dyrow = dy + (b * d.c_out + o) * d.length;
      const T* wrow = w + (o * d.c_in + c) * d.kernel;
      for (int k = 0; k < d.kernel; ++k) {
        const int64_t t = p + d.back(k);
        if (t < d.length) sum += wrow[k] * dyrow[t];
      }
    }
    dx[i] = accumulate ? dx[i] + sum : sum;
  }
}

// One block per weight element (o,c,k): the block reduces dy[b,o,t] x[b,c,t-back] over all
// (b,t) with a fixed-order tree in shared memory (deterministic).
constexpr int kReduceBlock = 256;

template <class T>
__global__ void conv1d_backward_weight_kernel(const T* x, const T* dy, T* dw, Conv1dDims d,
                                              bool accumulate) {
  __shared__ T partial[kReduceBlock];
  const int64_t n_w = d.c_out * d.c_in * d.kernel;
  for (int64_t j = blockIdx.x; j < n_w; j += gridDim.x) {
    const int k = static_cast<int>(j % d.kernel);
    const int64_t c = (j / d.kernel) % d.c_in;
    const int64_t o = j / (d.kernel * d.c_in);
    const int64_t back = d.back(k);
    const int64_t n_t = d.length - back;  // output positions that read a real input
    T sum = 0;
    if (n_t > 0) {
      for (int64_t i = threadIdx.x; i < d.n_batch * n_t; i += blockDim.x) {
        const int64_t b = i / n_t;
        const int64_t t = back + i % n_t;
        sum += dy[(b * d.c_out + o) * d.length + t] * x[(b * d.c_in + c) * d.length + t - back];
      }
    }
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int stride = kReduceBlock / 2; stride > 0; stride /= 2) {
      if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
      __syncthreads();
    }
    if (threadIdx.x == 0) dw[j] = accumulate ? dw[j] + partial[0] : partial[0];
    __syncthreads();  // partial[] is reused by the next j
  }
}

// dw[b,o,c,k] = sum_t dy[b,o,t] x[b,c,t-back(k)]: one thread per element.
template <class T>
__global__ void conv1d_backward_weight_per_sample_kernel(const T* x, const T* dy, T* dw,
                                                         Conv1dDims d) {
  const int64_t n = d.n_batch * d.c_out * d.c_in * d.kernel;
  NAQS_GRID_STRIDE(i, n) {
    const int k = static_cast<int>(i % d.kernel);
    const int64_t c = (i / d.kernel) % d.c_in;
    const int64_t o = (i / (d.kernel * d.c_in)) % d.c_out;
    const int64_t b = i / (d.kernel * d.c_in * d.c_out);
    const int64_t back = d.back(k);
    const T* dyrow = dy + (b * d.c_out + o) * d.length;
    const T* xrow = x + (b * d.c_in + c) * d.length;
    T sum = 0;
    for (int64_t t = back; t < d.length; ++t) sum += dyrow[t] * xrow[t - back];
    dw[i] = sum;
  }
}


void conv1d_forward_cuda(const void* x, const void* w, const void* bias, void* y, DType dtype,
                         const Conv1dDims& d) {
  const int64_t n = d.n_batch * d.c_out * d.length;
  if (n == 0) return;
  dispatch_float(dtype, "conv1d_forward", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n), 256, 0, conv1d_forward_kernel<T>)(
        static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(bias),
        static_cast<T*>(y), d);
  });
}

void conv1d_backward_input_cuda(const void* dy, const void* w, void* dx, DType dtype,
                                const Conv1dDims& d, bool accumulate) {
  const int64_t n = d.n_batch * d.c_in * d.length;
  if (n == 0) return;
  dispatch_float(dtype, "conv1d_backward_input", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n), 256, 0, conv1d_backward_input_kernel<T>)(
        static_cast<const T*>(dy), static_cast<const T*>(w), static_cast<T*>(dx), d, accumulate);
  });
}

void conv1d_backward_weight_cuda(const void* x, const void* dy, void* dw, DType dtype,
                                 const Conv1dDims& d, bool accumulate) {
  const int64_t n_w = d.c_out * d.c_in * d.kernel;
  if (n_w == 0) return;
  dispatch_float(dtype, "conv1d_backward_weight", [&](auto tag) {
    using T = decltype(tag);
    const unsigned grid =
        static_cast<unsigned>(std::min<int64_t>(n_w, cuda_rt::grid_cap(65535LL * 32)));
    NAQS_LAUNCH(grid, kReduceBlock, 0, conv1d_backward_weight_kernel<T>)(
        static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dw), d, accumulate);
  });
}

void conv1d_backward_weight_per_sample_cuda(const void* x, const void* dy, void* dw, DType dtype,
                                            const Conv1dDims& d) {
  const int64_t n = d.n_batch * d.c_out * d.c_in * d.kernel;
  if (n == 0) return;
  dispatch_float(dtype, "conv1d_backward_weight_per_sample", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n), 256, 0, conv1d_backward_weight_per_sample_kernel<T>)(
        static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dw), d);
  });
}

}  // namespace naqs::ops::detail
