// Benchmark (a program, never a test): CPU GFLOP/s of the causal masked conv1d at sizes of a
// NAQS 1D model (K = 3, Cin = Cout = C), forward, input gradient and weight gradient, for the
// direct loops and the im2col + GEMM path (what the ops use: L2-sized chunks of samples on
// OpenMP threads, OpenBLAS single-threaded inside, see host/ops/conv1d.hpp), against
// OpenBLAS cblas_sgemm measured in the same run at the same FLOP count (M = C, N = B*L,
// K = 3C: the GEMM the im2col path performs). FLOPs = 2*B*Cout*Cin*K*L (padded taps included).
// Sizes include the VMC default (width 16, L = 16) and the sampling benchmark's chains.
// Time = best of repeated runs (>= 3 runs and >= 0.3 s). Prints a table, then CSV.
// Usage: bench_conv1d [--quick]
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "host/core/build_info.hpp"
#include "host/core/device.hpp"
#include "host/ops/conv1d.hpp"
#include "host/ops/random.hpp"

using namespace naqs;

namespace {

double best_seconds(const std::function<void()>& f) {
  f();  // warm-up (allocations, caches, thread pools)
  double best = 1e30, total = 0;
  for (int reps = 0; reps < 3 || total < 0.3; ++reps) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
    total += s;
    if (reps >= 50) break;
  }
  return best;
}

struct Row {
  int64_t b, c, l;
  double flop;
  double fwd_direct, fwd_gemm, bwdx_direct, bwdx_gemm, bwdw_direct, bwdw_gemm, sgemm;  // GFLOP/s
};

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  struct Size {
    int64_t b, c, l;
  };
  std::vector<Size> sizes = {{256, 16, 16},  {1024, 16, 16}, {256, 16, 64},  {256, 16, 256},
                             {256, 32, 16},  {256, 32, 64},  {256, 64, 128}, {1024, 32, 64},
                             {1024, 64, 64}, {512, 64, 256}, {1024, 64, 256}};
  if (quick) sizes = {{256, 16, 16}, {256, 32, 64}};
  const ops::Conv1dSpec spec{3, 1, true};

  std::printf("bench_conv1d: causal masked conv1d (K=3, exclusive mask, f32) on the CPU\n");
  std::printf("commit %s%s | device %s | OpenMP threads %d | OpenBLAS threads %d\n", git_commit(),
              git_dirty() ? " (dirty)" : "", device_name(Device::cpu()).c_str(),
              omp_get_max_threads(), openblas_get_num_threads());
  std::printf("GFLOP/s (FLOPs = 2*B*C*C*K*L); sgemm = cblas_sgemm M=C N=B*L K=3C, same FLOPs\n\n");
  std::printf("%6s %4s %5s %9s | %10s %10s | %10s %10s | %10s %10s | %8s\n", "B", "C", "L",
              "GFLOP", "fwd direct", "fwd gemm", "dx direct", "dx gemm", "dW direct",
              "dW gemm", "sgemm");

  std::vector<Row> rows;
  for (const Size& z : sizes) {
    Row r{z.b, z.c, z.l, 2.0 * z.b * z.c * z.c * 3 * z.l, 0, 0, 0, 0, 0, 0, 0};
    Tensor x = Tensor::empty({z.b, z.c, z.l}, DType::f32);
    Tensor w = Tensor::empty({z.c, z.c, 3}, DType::f32);
    Tensor bias = Tensor::empty({z.c}, DType::f32);
    Tensor y = Tensor::empty({z.b, z.c, z.l}, DType::f32);
    Tensor dy = Tensor::empty({z.b, z.c, z.l}, DType::f32);
    Tensor dw = Tensor::empty({z.c, z.c, 3}, DType::f32);
    Tensor dx = Tensor::empty({z.b, z.c, z.l}, DType::f32);
    ops::fill_normal(x, 1, 0, 0);
    ops::fill_normal(w, 1, 1, 0, 0, 0.1);
    ops::fill_normal(bias, 1, 2, 0);
    ops::fill_normal(dy, 1, 3, 0);
    const double g = r.flop * 1e-9;
    r.fwd_direct =
        g / best_seconds([&] { ops::detail::conv1d_forward_direct(x, w, bias, spec, y); });
    r.fwd_gemm = g / best_seconds([&] { ops::detail::conv1d_forward_gemm(x, w, bias, spec, y); });
    r.bwdx_direct = g / best_seconds([&] {
                      ops::detail::conv1d_backward_input_direct(dy, w, spec, dx, false);
                    });
    r.bwdx_gemm = g / best_seconds([&] {
                    ops::detail::conv1d_backward_input_gemm(dy, w, spec, dx, false);
                  });
    r.bwdw_direct = g / best_seconds([&] {
                      ops::detail::conv1d_backward_weight_direct(x, dy, spec, dw, false);
                    });
    r.bwdw_gemm = g / best_seconds([&] {
                    ops::detail::conv1d_backward_weight_gemm(x, dy, spec, dw, false);
                  });
    {
      const int m = static_cast<int>(z.c), n = static_cast<int>(z.b * z.l),
                k = static_cast<int>(3 * z.c);
      std::vector<float> a(static_cast<std::size_t>(m) * k, 0.5f),
          bm(static_cast<std::size_t>(k) * n, 0.25f), cm(static_cast<std::size_t>(m) * n);
      r.sgemm = g / best_seconds([&] {
                  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.data(), k,
                              bm.data(), n, 0.0f, cm.data(), n);
                });
    }
    std::printf("%6lld %4lld %5lld %9.4f | %10.2f %10.2f | %10.2f %10.2f | %10.2f %10.2f | %8.2f\n",
                static_cast<long long>(r.b), static_cast<long long>(r.c),
                static_cast<long long>(r.l), g, r.fwd_direct,
                r.fwd_gemm, r.bwdx_direct, r.bwdx_gemm, r.bwdw_direct, r.bwdw_gemm, r.sgemm);
    std::fflush(stdout);
    rows.push_back(r);
  }

  std::printf(
      "\nCSV\ncommit,device,omp_threads,B,C,L,K,gflop,fwd_direct_gflops,fwd_gemm_gflops,"
      "bwdx_direct_gflops,bwdx_gemm_gflops,bwdw_direct_gflops,bwdw_gemm_gflops,sgemm_gflops\n");
  for (const Row& r : rows)
    std::printf("%s,%s,%d,%lld,%lld,%lld,3,%.4f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f\n",
                git_commit(), device_name(Device::cpu()).c_str(), omp_get_max_threads(),
                static_cast<long long>(r.b), static_cast<long long>(r.c),
                static_cast<long long>(r.l), r.flop * 1e-9, r.fwd_direct, r.fwd_gemm,
                r.bwdx_direct, r.bwdx_gemm, r.bwdw_direct, r.bwdw_gemm,
                r.sgemm);
  return 0;
}
