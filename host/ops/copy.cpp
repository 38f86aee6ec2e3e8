#include "host/ops/copy.hpp"

#include <cstring>

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"

namespace naqs::ops {
namespace detail {

int64_t CopyPlan::numel() const {
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) n *= size[d];
  return n;
}

CopyPlan plan_copy(const Tensor& src, const Tensor& dst) {
  CopyPlan p;
  for (int d = 0; d < src.rank(); ++d) {
    if (src.size(d) == 1) continue;  // walks nothing
    if (p.rank > 0) {
      // Merge into the previous dim when, on both sides, one step of it equals size steps of d.
      const int q = p.rank - 1;
      if (p.src_stride[q] == src.stride(d) * src.size(d) &&
          p.dst_stride[q] == dst.stride(d) * src.size(d)) {
        p.size[q] *= src.size(d);
        p.src_stride[q] = src.stride(d);
        p.dst_stride[q] = dst.stride(d);
        continue;
      }
    }
    p.size[p.rank] = src.size(d);
    p.src_stride[p.rank] = src.stride(d);
    p.dst_stride[p.rank] = dst.stride(d);
    ++p.rank;
  }
  return p;
}

}  // namespace detail

namespace {

// CPU reference: rows of the innermost collapsed dim, each row's start found by splitting the
// row index over the outer dims.
template <class T>
void copy_cpu(const T* src, T* dst, const detail::CopyPlan& p) {
  if (p.rank == 0) {
    *dst = *src;
    return;
  }
  const int last = p.rank - 1;
  const int64_t n = p.size[last], ss = p.src_stride[last], ds = p.dst_stride[last];
  const int64_t total = p.numel(), rows = total / n;
#pragma omp parallel for schedule(static) if (total > kMinParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t so = 0, dof = 0, rest = r;
    for (int d = last - 1; d >= 0; --d) {
      const int64_t i = rest % p.size[d];
      rest /= p.size[d];
      so += i * p.src_stride[d];
      dof += i * p.dst_stride[d];
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
  const detail::CopyPlan plan = detail::plan_copy(src, dst);
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
