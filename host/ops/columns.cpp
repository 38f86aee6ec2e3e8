// put_columns: checks, CPU reference and dispatch (see columns.hpp).
#include "host/ops/columns.hpp"

#include "host/core/cuda_runtime.hpp"
#include "host/core/error.hpp"
#include "host/core/parallel.hpp"

namespace naqs::ops {

void put_columns(const Tensor& src, Tensor& dst, int64_t col, double alpha, bool accumulate) {
  const char* op = "put_columns";
  check_defined(op, src, "src");
  check_defined(op, dst, "dst");
  check_rank(op, src, 2, "src");
  check_rank(op, dst, 2, "dst");
  check_contiguous(op, src, "src");
  check_contiguous(op, dst, "dst");
  check_same_device(op, {&src, &dst});
  check_same_dtype(op, {&src, &dst});
  const int64_t rows = src.size(0), c = src.size(1), d = dst.size(1);
  NAQS_CHECK(dst.size(0) == rows && col >= 0 && col + c <= d, op, ": ", src.str(),
             " does not fit into columns [", col, ", ", col + c, ") of ", dst.str());
  if (src.numel() == 0) return;
  if (!src.device().is_cpu()) {
    NAQS_CUDA_BRANCH(op, detail::put_columns_cuda(src, dst, col, alpha, accumulate));
    return;
  }
  dispatch_float(src.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* ps = src.data<T>();
    T* pd = dst.data<T>();
    const T a = static_cast<T>(alpha);
#pragma omp parallel for if (src.numel() > kMinParallelElements)
    for (int64_t r = 0; r < rows; ++r) {
      const T* in = ps + r * c;
      T* out = pd + r * d + col;
      if (accumulate)
        for (int64_t j = 0; j < c; ++j) out[j] += a * in[j];
      else
        for (int64_t j = 0; j < c; ++j) out[j] = a * in[j];
    }
  });
}

}  // namespace naqs::ops
