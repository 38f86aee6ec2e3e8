// 2x resampling of images, an adjoint pair: 2x2 average pooling and nearest 2x upsampling.
// x is (..., H, W): any leading dims (the U-Net's (B, C, H, W)), the last two spatial.
//   avg_pool2x2(x, y)              (..., H, W) -> (..., H/2, W/2), H and W even:
//       y[i, j] = (x[2i, 2j] + x[2i, 2j+1] + x[2i+1, 2j] + x[2i+1, 2j+1]) / 4
//   avg_pool2x2_backward(dy, dx)   dx[h, w] = dy[h/2, w/2] / 4            (= upsample / 4)
//   upsample_nearest2x(x, y)       (..., H, W) -> (..., 2H, 2W):  y[h, w] = x[h/2, w/2]
//   upsample_nearest2x_backward(dy, dx)   dx[i, j] = sum of dy over the 2x2 block (i, j)
// So pool^T = upsample / 4 and upsample^T = 4 pool: <pool(x), y> = <x, pool^T(y)>.
// accumulate: dx += instead of =. The four terms are added in the order above in double and
// multiplied by 1/4 (exact), then rounded once to the dtype, on both backends, so CPU and CUDA
// agree bit for bit. All tensors contiguous, one float dtype (f32 or f64) and device; y / dx
// must not alias the input (different shapes). An odd H or W for the pooling is a UsageError
// naming the shape.
// CUDA twin in cuda/resample.cu (one thread per output element).
// Tests: tests/unit/test_resample.cpp (hand values, the adjoint identities, errors);
// tests/op_cases/resample.cpp (parity with tolerance 0: the same additions in the same order;
// f64 central differences of both backwards).
#pragma once
#include "host/core/hd.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ops {

void avg_pool2x2(const Tensor& x, Tensor& y);
void avg_pool2x2_backward(const Tensor& dy, Tensor& dx, bool accumulate = false);
void upsample_nearest2x(const Tensor& x, Tensor& y);
void upsample_nearest2x_backward(const Tensor& dy, Tensor& dx, bool accumulate = false);

namespace detail {
// The two kernels behind the four ops, over planes of the small (h, w) side:
//   block_sum: small[p, i, j] = (acc ? small : 0) + scale * sum of big's 2x2 block (i, j)
//   broadcast: big[p, h, w] = (acc ? big : 0) + scale * small[p, h/2, w/2]
// planes = numel / (h w); big is (planes, 2h, 2w).
struct ResampleDims {
  int64_t planes, h, w;  // of the small side
};
// Element (i, j) of a plane of the small side; prev: the value to add to (accumulate) or null.
template <class T>
NAQS_HD T block_sum_at(const T* big_plane, int64_t w, int64_t i, int64_t j, double scale,
                       const T* prev) {
  const T* r0 = big_plane + (2 * i) * (2 * w) + 2 * j;
  const T* r1 = r0 + 2 * w;
  const double v = (((double(r0[0]) + double(r0[1])) + double(r1[0])) + double(r1[1])) * scale;
  return static_cast<T>(prev != nullptr ? double(*prev) + v : v);
}
template <class T>
NAQS_HD T broadcast_at(const T* small_plane, int64_t w, int64_t h_big, int64_t w_big,
                       double scale, const T* prev) {
  const double v = double(small_plane[(h_big / 2) * w + w_big / 2]) * scale;
  return static_cast<T>(prev != nullptr ? double(*prev) + v : v);
}
void resample_block_sum_cuda(const Tensor& big, const ResampleDims& d, double scale, Tensor& small,
                             bool accumulate);
void resample_broadcast_cuda(const Tensor& small, const ResampleDims& d, double scale, Tensor& big,
                             bool accumulate);
}  // namespace detail

}  // namespace naqs::ops
