// CUDA twin of host/ops/embedding.hpp. Forward: one thread per output element. Backward without
// atomics on the data: a stable CUB radix sort of (key = group * V + id, position) puts each
// key's positions together in ascending order; one thread per (sorted entry that starts a run of
// its key, channel) sums the run's dout rows in double in that order and writes the row once. The
// CPU reference does the same additions, so both agree bit for bit.
// Parity tests: tests/op_cases/embedding.cpp.
#include <cub/device/device_radix_sort.cuh>

#include "cuda/device_flag.cuh"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/ops/embedding.hpp"

namespace naqs::ops::detail {
namespace {

template <class T>
__global__ void embedding_forward_kernel(const int32_t* ids, const T* table, int64_t n,
                                         int64_t vocab, int64_t n_ch, T* out, bool accumulate,
                                         unsigned long long* bad) {
  for (int64_t e = first_index(); e < n * n_ch; e += grid_stride()) {
    const int64_t p = e / n_ch, c = e % n_ch;
    const int64_t id = ids[p];
    if (id < 0 || id >= vocab) {
      if (c == 0) atomicMin(bad, static_cast<unsigned long long>(p));
      continue;
    }
    const T v = table[id * n_ch + c];
    out[e] = accumulate ? out[e] + v : v;
  }
}

__global__ void first_bad_id_kernel(const int32_t* ids, int64_t n, int64_t vocab,
                                    unsigned long long* bad) {
  for (int64_t p = first_index(); p < n; p += grid_stride())
    if (ids[p] < 0 || ids[p] >= vocab) atomicMin(bad, static_cast<unsigned long long>(p));
}

__global__ void sort_keys_kernel(const int32_t* ids, int64_t n, int64_t per_group, int64_t vocab,
                                 uint32_t* keys, int32_t* positions) {
  for (int64_t p = first_index(); p < n; p += grid_stride()) {
    keys[p] = static_cast<uint32_t>((p / per_group) * vocab + ids[p]);
    positions[p] = static_cast<int32_t>(p);
  }
}

template <class T>
__global__ void run_sum_kernel(const uint32_t* keys, const int32_t* positions, const T* dout,
                               int64_t n, int64_t n_ch, T* dtable, bool accumulate) {
  for (int64_t e = first_index(); e < n * n_ch; e += grid_stride()) {
    const int64_t q = e / n_ch, c = e % n_ch;
    const uint32_t key = keys[q];
    if (q > 0 && keys[q - 1] == key) continue;  // not the start of a run
    double acc = 0;
    for (int64_t r = q; r < n && keys[r] == key; ++r)
      acc += double(dout[static_cast<int64_t>(positions[r]) * n_ch + c]);
    T* o = dtable + static_cast<int64_t>(key) * n_ch + c;
    *o = static_cast<T>(accumulate ? double(*o) + acc : acc);
  }
}

void check_cub(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw Error(cat("embedding_backward_cuda: ", what, ": ", cudaGetErrorString(status)));
}

}  // namespace

int64_t embedding_forward_cuda(const Tensor& ids, const Tensor& table, const EmbeddingDims& d,
                               Tensor& out, bool accumulate) {
  use_device_of(ids);
  if (d.n == 0 || d.channels == 0) return -1;
  return cuda_rt::first_flagged(ids.device(), [&](unsigned long long* bad) {
    dispatch_float(table.dtype(), "embedding_forward_cuda", [&](auto tag) {
      using T = decltype(tag);
      NAQS_LAUNCH(cuda_rt::grid_for(d.n * d.channels), kBlock, 0, embedding_forward_kernel<T>)(
          ids.data<int32_t>(), table.data<T>(), d.n, d.vocab, d.channels, out.data<T>(), accumulate,
          bad);
    });
  });
}

int64_t embedding_backward_cuda(const Tensor& ids, const Tensor& dout, const EmbeddingDims& d,
                                Tensor& dtable, bool accumulate) {
  use_device_of(ids);
  const Device dev = ids.device();
  if (d.n > 0) {
    const int64_t bad = cuda_rt::first_flagged(dev, [&](unsigned long long* flag) {
      NAQS_LAUNCH(cuda_rt::grid_for(d.n), kBlock, 0, first_bad_id_kernel)(
          ids.data<int32_t>(), d.n, d.vocab, flag);
    });
    if (bad >= 0) return bad;
  }
  const int64_t n_keys = d.groups * d.vocab;
  NAQS_CHECK(d.n < (int64_t{1} << 31) && n_keys <= (int64_t{1} << 32),
             "embedding_backward_cuda: ", d.n, " positions and ", n_keys,
             " (group, id) keys exceed the 32-bit sort keys");
  if (!accumulate) NAQS_CUDA_CHECK(cudaMemset(dtable.raw_data(), 0, dtable.nbytes()));
  if (d.n == 0 || d.channels == 0) return -1;

  Tensor keys = Tensor::empty({2, d.n}, DType::i32, dev);  // unsorted, sorted
  Tensor positions = Tensor::empty({2, d.n}, DType::i32, dev);
  auto* keys_in = reinterpret_cast<uint32_t*>(keys.data<int32_t>());
  uint32_t* keys_out = keys_in + d.n;
  int32_t* pos_in = positions.data<int32_t>();
  int32_t* pos_out = pos_in + d.n;
  NAQS_LAUNCH(cuda_rt::grid_for(d.n), kBlock, 0, sort_keys_kernel)(
      ids.data<int32_t>(), d.n, d.n / d.groups, d.vocab, keys_in, pos_in);
  int end_bit = 1;  // sort only the bits keys can have
  while (end_bit < 32 && (int64_t{1} << end_bit) < n_keys) ++end_bit;
  const int n_items = static_cast<int>(d.n);
  std::size_t temp_bytes = 0;
  check_cub(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, keys_in, keys_out, pos_in,
                                            pos_out, n_items, 0, end_bit),
            "cub::DeviceRadixSort::SortPairs (size query)");
  Tensor temp = Tensor::empty({static_cast<int64_t>(temp_bytes) + 1}, DType::u8, dev);
  check_cub(cub::DeviceRadixSort::SortPairs(temp.raw_data(), temp_bytes, keys_in, keys_out, pos_in,
                                            pos_out, n_items, 0, end_bit),
            "cub::DeviceRadixSort::SortPairs");
  NAQS_CUDA_CHECK_LAUNCH();
  dispatch_float(dout.dtype(), "embedding_backward_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(d.n * d.channels), kBlock, 0, run_sum_kernel<T>)(
        keys_out, pos_out, dout.data<T>(), d.n, d.channels, dtable.data<T>(), accumulate);
  });
  return -1;
}

}  // namespace naqs::ops::detail
