#include "host/ops/copy.hpp"

#include <cstring>

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"

namespace naqs::ops {
namespace detail {

CollapsedDims plan_copy(const Tensor& src, const Tensor& dst) {
  return collapse_dims({&src, &dst}, src.rank());
}

}  // namespace detail

namespace {

// CPU reference: rows of the innermost collapsed dim, each row's start found by splitting the
// row index over the outer dims.
template <class T>
void copy_cpu(const T* src, T* dst, const CollapsedDims& p) {
  if (p.rank == 0) {
    *dst = *src;
    return;
  }
  const int last = p.rank - 1;
  const int64_t n = p.size[last], ss = p.stride[0][last], ds = p.stride[1][last];
  const int64_t total = p.numel(), rows = total / n;
#pragma omp parallel for schedule(static) if (total > kMinParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t so = 0, dof = 0, rest = r;
    for (int d = last - 1; d >= 0; --d) {
      const int64_t i = rest % p.size[d];
      rest /= p.size[d];
      so += i * p.stride[0][d];
      dof += i * p.stride[1][d];
    }
    const T* s = src + so;
    T* o = dst + dof;
    if (ss == 1 && ds == 1) {
      std::memcpy(o, s, static_cast<std::size_t>(n) * sizeof(T));
    } else {
      for (int64_t j = 0; j < n; ++j) o[j * ds] = s[j * ss];
    }
  }
}

// Same device, any strides.
void copy_same_device(const Tensor& src, Tensor& dst) {
  if (src.is_contiguous() && dst.is_contiguous()) {
    copy_bytes(dst.raw_data(), dst.device(), src.raw_data(), src.device(), src.nbytes());
    return;
  }
  const CollapsedDims plan = detail::plan_copy(src, dst);
  if (src.device().is_cpu()) {
    dispatch_all(src.dtype(), [&](auto tag) {
      using T = decltype(tag);
      copy_cpu(src.strided_data<T>(), dst.strided_data<T>(), plan);
    });
  } else {
    NAQS_CUDA_BRANCH("copy", detail::copy_cuda(src, dst, plan));
  }
}

}  // namespace

void copy(const Tensor& src, Tensor& dst) {
  check_defined("copy", src, "src");
  check_defined("copy", dst, "dst");
  check_same_dtype("copy", {&src, &dst});
  check_shape("copy", dst, src.shape(), "dst");
  check_no_overlap("copy", dst, "dst");
  if (src.numel() == 0) return;
  if (src.device() == dst.device()) {
    copy_same_device(src, dst);
    return;
  }
  // Across devices: dense on the source side, one memcpy, scatter on the destination side.
  const Tensor dense_src = src.contiguous();
  if (dst.is_contiguous()) {
    copy_bytes(dst.raw_data(), dst.device(), dense_src.raw_data(), src.device(), src.nbytes());
    return;
  }
  Tensor staged = Tensor::empty(src.shape(), src.dtype(), dst.device());
  copy_bytes(staged.raw_data(), dst.device(), dense_src.raw_data(), src.device(), src.nbytes());
  copy_same_device(staged, dst);
}

}  // namespace naqs::ops
