// CUDA twins of the connected-configuration ops and the local-energy combination
// (host/ops/connected.hpp). Every kernel calls the same NAQS_HD per-sample functions as the CPU
// references (the spin operator's primitive, host/ops/spin_operator.hpp). Parity:
// tests/op_cases/connected.cpp.
#include <climits>

#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "host/ops/connected.hpp"

namespace naqs::ops::detail {
namespace {

template <class T>
__global__ void connected_count_kernel(const T* sigma, int64_t batch, int64_t n_sites,
                                       SpinOperatorView terms, double* diagonal, int32_t* counts) {
  NAQS_GRID_STRIDE(b, batch) {
    diagonal[b] = spin_diagonal(terms, SpinArray<T>{sigma + b * n_sites});
    counts[b] = spin_connection_count(terms, SpinArray<T>{sigma + b * n_sites});
  }
}

template <class T>
__global__ void connected_list_kernel(const T* sigma, int64_t batch, int64_t n_sites,
                                      SpinOperatorView terms, const int32_t* offsets,
                                      int32_t* flips, double* elements) {
  NAQS_GRID_STRIDE(b, batch) {
    connected_list_one(sigma + b * n_sites, terms, static_cast<int32_t>(b),
                       flips + 3 * static_cast<int64_t>(offsets[b]), elements + offsets[b]);
  }
}

// One thread per output element (coalesced writes of the (M,N) configurations).
template <class T>
__global__ void connected_configs_kernel(const T* sigma, int64_t n_sites, const int32_t* flips,
                                         int64_t n_connected, T* configs) {
  NAQS_GRID_STRIDE(k, n_connected * n_sites) {
    const int64_t m = k / n_sites, i = k - m * n_sites;
    configs[k] = connected_config_at(sigma, n_sites, flips + 3 * m, i);
  }
}

template <class T>
__global__ void local_energy_combine_kernel(int64_t batch, const double* diagonal,
                                            const int32_t* offsets, const double* elements,
                                            const T* conn_re, const T* conn_im, const T* base_re,
                                            const T* base_im, T* eloc_re, T* eloc_im) {
  NAQS_GRID_STRIDE(b, batch) {
    double re = 0, im = 0;
    local_energy_one(diagonal[b], offsets[b], offsets[b + 1], elements, conn_re, conn_im,
                     static_cast<double>(base_re[b]), static_cast<double>(base_im[b]), re, im);
    eloc_re[b] = static_cast<T>(re);
    eloc_im[b] = static_cast<T>(im);
  }
}

// Exclusive scan in one block: thread k sums a contiguous chunk, the chunk sums are scanned in
// shared memory (Hillis-Steele), then each thread writes its chunk. Totals saturate at INT_MAX
// (the host turns that into an Error). One block is enough: local_energy scans one group's B
// counts (B/1024 serial elements per thread) and then evaluates the wavefunction on all B x
// (connections per sample) configurations, which dwarfs the scan; its cost is the launch and
// the 4-byte copy of the total the caller needs anyway.
constexpr int kScanThreads = 1024;
__global__ void exclusive_scan_kernel(const int32_t* counts, int64_t n, int32_t* offsets) {
  __shared__ long long partial[kScanThreads];
  const int k = threadIdx.x;
  const int64_t chunk = (n + kScanThreads - 1) / kScanThreads;
  const int64_t begin = k * chunk < n ? k * chunk : n;
  const int64_t end = begin + chunk < n ? begin + chunk : n;
  long long sum = 0;
  for (int64_t b = begin; b < end; ++b) sum += counts[b];
  partial[k] = sum;
  __syncthreads();
  for (int step = 1; step < kScanThreads; step *= 2) {
    const long long add = k >= step ? partial[k - step] : 0;
    __syncthreads();
    partial[k] += add;
    __syncthreads();
  }
  long long run = partial[k] - sum;  // exclusive prefix of this chunk
  for (int64_t b = begin; b < end; ++b) {
    offsets[b] = static_cast<int32_t>(run < INT_MAX ? run : INT_MAX);
    run += counts[b];
  }
  if (k == kScanThreads - 1) {
    const long long total = partial[k];
    offsets[n] = static_cast<int32_t>(total < INT_MAX ? total : INT_MAX);
  }
}

}  // namespace

void connected_count_cuda(const void* sigma, DType dtype, int64_t batch, int64_t n_sites,
                          const SpinOperatorView& terms, double* diagonal, int32_t* counts) {
  if (batch == 0) return;
  dispatch_float(dtype, "connected_count", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(batch), 256, 0, connected_count_kernel<T>)(
        static_cast<const T*>(sigma), batch, n_sites, terms, diagonal, counts);
  });
}

int64_t exclusive_scan_cuda(const int32_t* counts, int64_t n, int32_t* offsets) {
  NAQS_LAUNCH(1, kScanThreads, 0, exclusive_scan_kernel)(counts, n, offsets);
  int32_t total = 0;
  NAQS_CUDA_CHECK(cudaMemcpy(&total, offsets + n, sizeof(total), cudaMemcpyDeviceToHost));
  return total;
}

void connected_list_cuda(const void* sigma, DType dtype, int64_t batch, int64_t n_sites,
                         const SpinOperatorView& terms, const int32_t* offsets, int32_t* flips,
                         double* elements) {
  if (batch == 0) return;
  dispatch_float(dtype, "connected_list", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(batch), 256, 0, connected_list_kernel<T>)(
        static_cast<const T*>(sigma), batch, n_sites, terms, offsets, flips, elements);
  });
}

void connected_configs_cuda(const void* sigma, DType dtype, int64_t n_sites, const int32_t* flips,
                            int64_t n_connected, void* configs) {
  if (n_connected == 0 || n_sites == 0) return;
  dispatch_float(dtype, "connected_configs", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n_connected * n_sites), 256, 0, connected_configs_kernel<T>)(
        static_cast<const T*>(sigma), n_sites, flips, n_connected, static_cast<T*>(configs));
  });
}

void local_energy_combine_cuda(DType dtype, int64_t batch, const double* diagonal,
                               const int32_t* offsets, const double* elements, const void* conn_re,
                               const void* conn_im, const void* base_re, const void* base_im,
                               void* eloc_re, void* eloc_im) {
  if (batch == 0) return;
  dispatch_float(dtype, "local_energy_combine", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(batch), 256, 0, local_energy_combine_kernel<T>)(
        batch, diagonal, offsets, elements, static_cast<const T*>(conn_re),
        static_cast<const T*>(conn_im), static_cast<const T*>(base_re),
        static_cast<const T*>(base_im), static_cast<T*>(eloc_re), static_cast<T*>(eloc_im));
  });
}

}  // namespace naqs::ops::detail
