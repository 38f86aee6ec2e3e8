#include "host/ops/quantize.hpp"

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"

namespace naqs::ops {
namespace {

// q (u8) and x (f32 / f64) contiguous, of one shape and device; scale finite and nonzero,
// offset finite.
void check_quantize(const char* op, const Tensor& q, const Tensor& x, double scale,
                    double offset) {
  check_defined(op, q, "q");
  check_defined(op, x, "x");
  check_contiguous(op, q, "q");
  check_contiguous(op, x, "x");
  check_dtype(op, q, DType::u8, "q");
  dispatch_float(x.dtype(), op, [](auto) {});
  check_same_device(op, {&q, &x});
  check_shape(op, x, q.shape(), "x");
  if (!std::isfinite(scale) || scale == 0 || !std::isfinite(offset))
    throw Error(cat(op, ": scale ", scale, " and offset ", offset,
                    " must be finite, scale nonzero"));
}

}  // namespace

void dequantize_u8(const Tensor& q, double scale, double offset, Tensor& x) {
  const char* op = "dequantize_u8";
  check_quantize(op, q, x, scale, offset);
  if (q.numel() == 0) return;
  if (q.device().is_cpu()) {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const uint8_t* src = q.data<uint8_t>();
      T* dst = x.data<T>();
      const int64_t n = q.numel();
#pragma omp parallel for if (n > kMinParallelElements)
      for (int64_t i = 0; i < n; ++i)
        dst[i] = static_cast<T>(detail::dequantize_u8_value(src[i], scale, offset));
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::dequantize_u8_cuda(q, scale, offset, x));
  }
}

void quantize_u8(const Tensor& x, double scale, double offset, Tensor& q) {
  const char* op = "quantize_u8";
  check_quantize(op, q, x, scale, offset);
  if (q.numel() == 0) return;
  if (q.device().is_cpu()) {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* src = x.data<T>();
      uint8_t* dst = q.data<uint8_t>();
      const int64_t n = q.numel();
#pragma omp parallel for if (n > kMinParallelElements)
      for (int64_t i = 0; i < n; ++i) dst[i] = detail::quantize_u8_value(src[i], scale, offset);
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::quantize_u8_cuda(x, scale, offset, q));
  }
}

}  // namespace naqs::ops
