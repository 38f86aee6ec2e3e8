#include "host/ops/gather.hpp"

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"

namespace naqs::ops {
namespace {

// Checks shared by gather and scatter_add. `dense` has index's shape (gather: out,
// scatter_add: src); `table` has it except along the axis (gather: src, scatter_add: out).
// Returns index viewed around the axis.
AxisSplit check_gather(const char* op, const Tensor& dense, const char* dense_name,
                       const Tensor& index, int axis, const Tensor& table, const char* table_name) {
  check_defined(op, dense, dense_name);
  check_contiguous(op, dense, dense_name);
  check_defined(op, index, "index");
  check_contiguous(op, index, "index");
  check_defined(op, table, table_name);
  check_contiguous(op, table, table_name);
  check_same_device(op, {&dense, &index, &table});
  check_same_dtype(op, {&dense, &table});
  dispatch_float(dense.dtype(), op, [](auto) {});
  check_dtype(op, index, DType::i32, "index");
  check_shape(op, index, dense.shape(), "index");
  const AxisSplit s = split_axis(op, index, axis);
  Shape want = index.shape();
  want[s.axis] = table.rank() == index.rank() ? table.size(s.axis) : 0;
  check_shape(op, table, want, table_name);
  return s;
}

void gather_cpu(const Tensor& src, const Tensor& index, const AxisSplit& s, int64_t n_src,
                Tensor& out) {
  const int32_t* idx = index.data<int32_t>();
  dispatch_float(src.dtype(), "gather", [&](auto tag) {
    using T = decltype(tag);
    const T* ps = src.data<T>();
    T* po = out.data<T>();
#pragma omp parallel for collapse(2) if (index.numel() > kMinParallelElements)
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t j = 0; j < s.n; ++j)
        for (int64_t i = 0; i < s.inner; ++i) {
          const int64_t p = (o * s.n + j) * s.inner + i;
          po[p] = ps[(o * n_src + idx[p]) * s.inner + i];
        }
  });
}

// Serial on purpose: different (o, j, i) may add into the same element.
void scatter_add_cpu(const Tensor& src, const Tensor& index, const AxisSplit& s, int64_t n_out,
                     Tensor& out) {
  const int32_t* idx = index.data<int32_t>();
  dispatch_float(src.dtype(), "scatter_add", [&](auto tag) {
    using T = decltype(tag);
    const T* ps = src.data<T>();
    T* po = out.data<T>();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t j = 0; j < s.n; ++j)
        for (int64_t i = 0; i < s.inner; ++i) {
          const int64_t p = (o * s.n + j) * s.inner + i;
          po[(o * n_out + idx[p]) * s.inner + i] += ps[p];
        }
  });
}

}  // namespace

namespace detail {

void throw_if_bad_index(const char* op, const Tensor& index, int64_t position, int64_t n) {
  if (position < 0) return;
  const auto value = static_cast<int64_t>(index.reshape({-1}).narrow(position, 1).item());
  throw Error(cat(op, ": index ", value, " at flat position ", position, " of ", index.str(),
                  " is outside [0, ", n, ")"));
}

int64_t first_bad_index_cpu(const Tensor& index, int64_t n) {
  const int32_t* idx = index.data<int32_t>();
  const int64_t n_index = index.numel();  // not re-evaluated per element
  for (int64_t p = 0; p < n_index; ++p)
    if (idx[p] < 0 || idx[p] >= n) return p;
  return -1;
}

}  // namespace detail

void gather(const Tensor& src, const Tensor& index, int axis, Tensor& out) {
  const AxisSplit s = check_gather("gather", out, "out", index, axis, src, "src");
  const int64_t n_src = src.size(s.axis);
  if (out.device().is_cpu()) {
    detail::throw_if_bad_index("gather", index, detail::first_bad_index_cpu(index, n_src), n_src);
    gather_cpu(src, index, s, n_src, out);
  } else {
    NAQS_CUDA_BRANCH("gather", detail::throw_if_bad_index(
                                   "gather", index, detail::gather_cuda(src, index, s, n_src, out),
                                   n_src));
  }
}

void scatter_add(const Tensor& src, const Tensor& index, int axis, Tensor& out) {
  const AxisSplit s = check_gather("scatter_add", src, "src", index, axis, out, "out");
  const int64_t n_out = out.size(s.axis);
  if (out.device().is_cpu()) {
    detail::throw_if_bad_index("scatter_add", index, detail::first_bad_index_cpu(index, n_out),
                               n_out);
    scatter_add_cpu(src, index, s, n_out, out);
  } else {
    NAQS_CUDA_BRANCH("scatter_add",
                     detail::throw_if_bad_index(
                         "scatter_add", index,
                         detail::scatter_add_cuda(src, index, s, n_out, out), n_out));
  }
}

}  // namespace naqs::ops
