#include "host/ops/fill.hpp"

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"

namespace naqs::ops {
namespace {

void fill_cpu(Tensor& x, double value) {
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = x.data<T>();
    const T v = convert_value<T>(value);
    const int64_t n = x.numel();
#pragma omp parallel for if (n > kMinParallelElements)
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  });
}

void cast_cpu(const Tensor& src, Tensor& dst) {
  dispatch_all(src.dtype(), [&](auto stag) {
    using S = decltype(stag);
    dispatch_all(dst.dtype(), [&](auto dtag) {
      using D = decltype(dtag);
      const S* ps = src.data<S>();
      D* pd = dst.data<D>();
      const int64_t n = src.numel();
#pragma omp parallel for if (n > kMinParallelElements)
      for (int64_t i = 0; i < n; ++i) pd[i] = convert_value<D>(ps[i]);
    });
  });
}

}  // namespace

void fill(Tensor& x, double value) {
  check_defined("fill", x, "x");
  check_contiguous("fill", x, "x");
  if (x.device().is_cpu()) {
    fill_cpu(x, value);
  } else {
    NAQS_CUDA_BRANCH("fill", detail::fill_cuda(x, value));
  }
}

void cast(const Tensor& src, Tensor& dst) {
  check_defined("cast", src, "src");
  check_defined("cast", dst, "dst");
  check_contiguous("cast", src, "src");
  check_contiguous("cast", dst, "dst");
  check_same_device("cast", {&src, &dst});
  check_shape("cast", dst, src.shape(), "dst");
  if (src.device().is_cpu()) {
    cast_cpu(src, dst);
  } else {
    NAQS_CUDA_BRANCH("cast", detail::cast_cuda(src, dst));
  }
}

}  // namespace naqs::ops
