// GEMM throughput: naqs::ops::gemm against its peer, measured in the same run.
//   CPU:  ops::gemm (f32/f64) vs calling OpenBLAS cblas_sgemm/dgemm directly; "peak" is the
//         direct OpenBLAS rate at the largest size (smaller sizes that fit in cache can exceed it).
//   CUDA (when a device is present): ops::gemm on cuda tensors (cuBLAS); "peak" is the best
//         rate measured over the sizes.
// Square C(n,n) = A(n,n) @ B(n,n), 2n^3 flops per call; the time per call is the best of
// repeated calls after one warm-up (naqs and peer calls alternate, so background load hits both).
// Prints a table and one CSV line per (backend, dtype, size). Never asserts anything about timing.
// Usage: bench_gemm [sizes...]   (default 64 256 1024 2048)
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "host/core/build_info.hpp"
#include "host/core/device.hpp"
#include "host/core/tensor.hpp"
#include "host/ops/gemm.hpp"

using namespace naqs;

namespace {

Tensor random_matrix(int64_t n, DType dtype, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(-1, 1);
  Tensor t = Tensor::empty({n, n}, dtype);
  dispatch_float(dtype, "bench_gemm", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(dist(gen));
  });
  return t;
}

double gflops(int64_t n, double seconds) { return 2.0 * n * n * n / seconds * 1e-9; }

void direct_cblas(const Tensor& a, const Tensor& b, Tensor& c) {
  const auto n = static_cast<blasint>(a.size(0));
  if (a.dtype() == DType::f32) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data<float>(), n,
                b.data<float>(), n, 0.0f, c.data<float>(), n);
  } else {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a.data<double>(), n,
                b.data<double>(), n, 0.0, c.data<double>(), n);
  }
}

struct Row {
  std::string backend, dtype;
  int64_t n;
  double naqs, peer;  // GFLOP/s; peer < 0 when there is no separate peer
};

void print_rows(const std::vector<Row>& rows, double peak, const char* peer_name) {
  std::printf("%-7s %-4s %6s %12s %12s %9s %9s\n", "backend", "type", "n", "naqs GF/s", peer_name,
              "naqs/peer", "% peak");
  for (const Row& r : rows) {
    if (r.peer > 0) {
      std::printf("%-7s %-4s %6lld %12.1f %12.1f %9.3f %8.1f%%\n", r.backend.c_str(),
                  r.dtype.c_str(), static_cast<long long>(r.n), r.naqs, r.peer, r.naqs / r.peer,
                  100 * r.naqs / peak);
    } else {
      std::printf("%-7s %-4s %6lld %12.1f %12s %9s %8.1f%%\n", r.backend.c_str(), r.dtype.c_str(),
                  static_cast<long long>(r.n), r.naqs, "-", "-", 100 * r.naqs / peak);
    }
  }
}

void print_csv(const std::vector<Row>& rows, double peak) {
  for (const Row& r : rows)
    std::printf("csv,bench_gemm,%s,%s,%s,%lld,%.3f,%.3f,%.3f\n", git_commit(), r.backend.c_str(),
                r.dtype.c_str(), static_cast<long long>(r.n), r.naqs, r.peer, peak);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atoll(argv[i]));
  if (sizes.empty()) sizes = {64, 256, 1024, 2048};
  const int64_t n_peak = *std::max_element(sizes.begin(), sizes.end());

  std::printf("bench_gemm  commit %s%s\n", git_commit(), git_dirty() ? " (dirty)" : "");
  std::printf("cpu: %s, OpenBLAS threads %d, OpenMP threads %d\n",
              device_name(Device::cpu()).c_str(), openblas_get_num_threads(),
              omp_get_max_threads());
  std::printf("C(n,n) = A(n,n) @ B(n,n), row-major, 2n^3 flops, best time per call\n");
  std::printf("csv,bench,commit,backend,dtype,n,naqs_gflops,peer_gflops,peak_gflops\n");

  const DType dtypes[] = {DType::f32, DType::f64};
  for (DType dt : dtypes) {
    std::vector<Row> rows;
    for (int64_t n : sizes) {
      Tensor a = random_matrix(n, dt, 3), b = random_matrix(n, dt, 4);
      Tensor c = Tensor::zeros({n, n}, dt);
      const std::vector<double> t =
          bench::best_seconds({[&] { ops::gemm(a, b, c); }, [&] { direct_cblas(a, b, c); }}, [] {});
      rows.push_back({"cpu", dtype_name(dt), n, gflops(n, t[0]), gflops(n, t[1])});
    }
    // Peak: direct OpenBLAS at the largest size, as measured above in this run.
    double peak = 0;
    for (const Row& r : rows)
      if (r.n == n_peak) peak = std::max(peak, r.peer);
    std::printf("\n[cpu %s] OpenBLAS peak (direct cblas, n=%lld): %.1f GFLOP/s\n", dtype_name(dt),
                static_cast<long long>(n_peak), peak);
    print_rows(rows, peak, "OpenBLAS GF/s");
    print_csv(rows, peak);
  }

  if (device_count() == 0) {
    std::printf("\n[cuda] no CUDA device: cuBLAS rows skipped\n");
    return 0;
  }
  const Device gpu = Device::cuda(0);
  std::printf("\n[cuda] device: %s\n", device_name(gpu).c_str());
  std::vector<int64_t> gpu_sizes = sizes;
  gpu_sizes.push_back(4096);
  gpu_sizes.push_back(8192);
  for (DType dt : dtypes) {
    std::vector<Row> rows;
    double peak = 0;
    for (int64_t n : gpu_sizes) {
      Tensor a = random_matrix(n, dt, 3).to(gpu), b = random_matrix(n, dt, 4).to(gpu);
      Tensor c = Tensor::zeros({n, n}, dt, gpu);
      const double rate = gflops(
          n, bench::best_seconds({[&] { ops::gemm(a, b, c); }}, [&] { synchronize(gpu); })[0]);
      peak = std::max(peak, rate);
      rows.push_back({"cuda", dtype_name(dt), n, rate, -1});
    }
    std::printf("[cuda %s] ops::gemm through cuBLAS; peak = best measured rate %.1f GFLOP/s\n",
                dtype_name(dt), peak);
    print_rows(rows, peak, "peer");
    print_csv(rows, peak);
  }
  return 0;
}
