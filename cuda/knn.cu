// CUDA twin of host/ops/knn.hpp: topk_rows (one block per row, k rounds of a block-wide
// arg-max over the entries after the previous pick in the order (value descending, column
// ascending)) and knn_overlap (one thread per row). Exact: only comparisons and copies.
// Parity tests: tests/op_cases/knn.cpp.
#include <cstdint>

#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/ops/knn.hpp"

namespace naqs::ops::detail {
namespace {

constexpr int kTopkBlock = 256;

// A candidate (value, column); column < 0 = none. `a` comes before `b` in topk_rows' order.
struct Pick {
  double v;
  int64_t c;
};
__device__ inline bool before(const Pick& a, const Pick& b) {
  if (a.c < 0) return false;
  if (b.c < 0) return true;
  return a.v > b.v || (a.v == b.v && a.c < b.c);
}

__device__ inline Pick warp_best(Pick p) {
  for (int off = 16; off > 0; off >>= 1) {
    Pick o;
    o.v = __shfl_down_sync(0xffffffffu, p.v, off);
    o.c = __shfl_down_sync(0xffffffffu, p.c, off);
    if (before(o, p)) p = o;
  }
  return p;
}

// Block x = row r. Values are compared as doubles (exact for f32 and f64).
template <class T>
__global__ void topk_rows_kernel(const T* x, int64_t ld, int64_t cols, int64_t k,
                                 int64_t skip_offset, T* values, int32_t* index) {
  __shared__ Pick warp_picks[kTopkBlock / 32];
  __shared__ Pick last;
  const int64_t r = blockIdx.x;
  const T* row = x + r * ld;
  const int64_t skip = skip_offset >= 0 ? skip_offset + r : -1;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (threadIdx.x == 0) last = Pick{0.0, -1};
  __syncthreads();
  for (int64_t round = 0; round < k; ++round) {
    const Pick prev = last;  // the previous pick (c < 0 in round 0: everything comes after it)
    Pick best{0.0, -1};
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      if (c == skip) continue;
      const Pick p{static_cast<double>(row[c]), c};
      if (prev.c >= 0 && !before(prev, p)) continue;  // already picked
      if (before(p, best)) best = p;
    }
    best = warp_best(best);
    if (lane == 0) warp_picks[warp] = best;
    __syncthreads();
    if (warp == 0) {
      best = lane < static_cast<int>(blockDim.x >> 5) ? warp_picks[lane] : Pick{0.0, -1};
      best = warp_best(best);
      if (lane == 0) {
        last = best;
        index[r * k + round] = static_cast<int32_t>(best.c);
        if (values) values[r * k + round] = row[best.c];
      }
    }
    __syncthreads();
  }
}

__global__ void knn_overlap_kernel(const int32_t* a, const int32_t* b, int32_t* count,
                                   int64_t rows, int64_t ka, int64_t kb) {
  for (int64_t r = first_index(); r < rows; r += grid_stride()) {
    int32_t n = 0;
    for (int64_t i = 0; i < ka; ++i) {
      const int32_t v = a[r * ka + i];
      for (int64_t j = 0; j < kb; ++j)
        if (v == b[r * kb + j]) {
          ++n;
          break;
        }
    }
    count[r] = n;
  }
}

}  // namespace

void topk_rows_cuda(const Tensor& x, int64_t k, Tensor& values, Tensor& index,
                    int64_t skip_offset) {
  use_device_of(index);
  const int64_t rows = x.size(0), cols = x.size(1);
  const int64_t ld = rows > 1 ? x.stride(0) : cols;
  NAQS_CHECK(rows <= INT32_MAX, "topk_rows_cuda: ", rows, " rows exceed the grid");
  dispatch_float(x.dtype(), "topk_rows_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(static_cast<unsigned>(rows), kTopkBlock, 0, topk_rows_kernel<T>)(
        x.strided_data<T>(), ld, cols, k, skip_offset,
        values.defined() ? values.data<T>() : nullptr, index.data<int32_t>());
  });
}

void knn_overlap_cuda(const Tensor& a, const Tensor& b, Tensor& count) {
  use_device_of(count);
  const int64_t rows = a.size(0);
  NAQS_LAUNCH(cuda_rt::grid_for(rows), kBlock, 0, knn_overlap_kernel)(
      a.data<int32_t>(), b.data<int32_t>(), count.data<int32_t>(), rows, a.size(1), b.size(1));
}

}  // namespace naqs::ops::detail
