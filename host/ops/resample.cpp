#include "host/ops/resample.hpp"

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"

namespace naqs::ops {
namespace {

using detail::ResampleDims;

// out: defined, contiguous, on in's device, of its dtype and of shape want_out.
void check_output(const char* op, const Tensor& in, const Tensor& out, const char* out_name,
                  const Shape& want_out) {
  check_defined(op, out, out_name);
  check_contiguous(op, out, out_name);
  check_same_device(op, {&in, &out});
  check_same_dtype(op, {&in, &out});
  check_shape(op, out, want_out, out_name);
}

// The input's shape with its last two dims halved (needs even H and W) or doubled.
Shape resampled(const char* op, const Tensor& in, const char* name, bool halve) {
  check_defined(op, in, name);
  check_contiguous(op, in, name);
  dispatch_float(in.dtype(), op, [](auto) {});
  if (in.rank() < 2) throw Error(cat(op, ": ", name, " ", in.str(), " is not (..., H, W)"));
  Shape s = in.shape();
  const int64_t h = s[s.rank - 2], w = s[s.rank - 1];
  if (halve && (h % 2 != 0 || w % 2 != 0))
    throw UsageError(cat(op, ": ", name, " ", in.str(), " has H x W = ", h, " x ", w,
                         "; 2x2 pooling needs both even"));
  s[s.rank - 2] = halve ? h / 2 : 2 * h;
  s[s.rank - 1] = halve ? w / 2 : 2 * w;
  return s;
}

ResampleDims small_dims(const Shape& small) {
  const int64_t h = small[small.rank - 2], w = small[small.rank - 1];
  return {h * w == 0 ? 0 : small.numel() / (h * w), h, w};
}

void block_sum(const char* op, const Tensor& big, double scale, Tensor& small, bool accumulate) {
  const ResampleDims d = small_dims(small.shape());
  if (small.numel() == 0) return;
  if (big.device().is_cpu()) {
    dispatch_float(big.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* b = big.data<T>();
      T* s = small.data<T>();
#pragma omp parallel for if (big.numel() > kMinParallelElements)
      for (int64_t p = 0; p < d.planes; ++p)
        for (int64_t i = 0; i < d.h; ++i)
          for (int64_t j = 0; j < d.w; ++j) {
            T* o = s + (p * d.h + i) * d.w + j;
            *o = detail::block_sum_at(b + p * 4 * d.h * d.w, d.w, i, j, scale,
                                      accumulate ? o : nullptr);
          }
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::resample_block_sum_cuda(big, d, scale, small, accumulate));
  }
}

void broadcast(const char* op, const Tensor& small, double scale, Tensor& big, bool accumulate) {
  const ResampleDims d = small_dims(small.shape());
  if (small.numel() == 0) return;
  if (small.device().is_cpu()) {
    dispatch_float(small.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* s = small.data<T>();
      T* b = big.data<T>();
#pragma omp parallel for if (big.numel() > kMinParallelElements)
      for (int64_t p = 0; p < d.planes; ++p)
        for (int64_t h = 0; h < 2 * d.h; ++h)
          for (int64_t w = 0; w < 2 * d.w; ++w) {
            T* o = b + (p * 2 * d.h + h) * 2 * d.w + w;
            *o = detail::broadcast_at(s + p * d.h * d.w, d.w, h, w, scale,
                                      accumulate ? o : nullptr);
          }
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::resample_broadcast_cuda(small, d, scale, big, accumulate));
  }
}

}  // namespace

void avg_pool2x2(const Tensor& x, Tensor& y) {
  const char* op = "avg_pool2x2";
  check_output(op, x, y, "y", resampled(op, x, "x", true));
  block_sum(op, x, 0.25, y, false);
}

void avg_pool2x2_backward(const Tensor& dy, Tensor& dx, bool accumulate) {
  const char* op = "avg_pool2x2_backward";
  check_output(op, dy, dx, "dx", resampled(op, dy, "dy", false));
  broadcast(op, dy, 0.25, dx, accumulate);
}

void upsample_nearest2x(const Tensor& x, Tensor& y) {
  const char* op = "upsample_nearest2x";
  check_output(op, x, y, "y", resampled(op, x, "x", false));
  broadcast(op, x, 1.0, y, false);
}

void upsample_nearest2x_backward(const Tensor& dy, Tensor& dx, bool accumulate) {
  const char* op = "upsample_nearest2x_backward";
  check_output(op, dy, dx, "dx", resampled(op, dy, "dy", true));
  block_sum(op, dy, 1.0, dx, accumulate);
}

}  // namespace naqs::ops
