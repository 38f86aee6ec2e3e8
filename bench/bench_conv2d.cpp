// The CPU conv2d (host/ops/conv2d.cpp) at the 2-D NAQS's shapes against the core's FMA peak
// (issue 22 goal 1): GMAC/s of the forward (conv2d_forward_act, relu + residual, as the model's
// vertical layers), the input gradient and the weight gradient of one width-32 layer with the
// model's vertical window (kernel 3: a 2x3 window, conv2d_vertical_spec(3)), f32, on 10x10 and
// 12x12 lattices at several batch sizes and at 1 and 2 OpenMP threads. The peak reference is
// measured in the same alternating rounds as each row's ops: OpenBLAS cblas_sgemm on a large
// square (--peak-n, 1024) at the same thread count, whose GFLOP/s / 2 is the multiply-add rate
// the percentages divide by (so background load hits both alike). The percentages compare rates
// per CPU-second (process CPU time), so time slices lost to other processes on the shared
// machine do not count; the wall-clock GMAC/s are printed beside them.
// MACs per call = B * H * W * Cout * Cin * kh * kw. Time = best of alternating repeated calls
// after one warm-up (bench_common.hpp). Prints a table and CSV with the commit, the thread
// count and the 1-minute load average (the machines are shared); never asserts timings.
// Then the U-Net's shapes (issue 17; ml/diffusion/unet.cpp: 3x3 'same' windows, batch 32,
// 40x40 x 32 channels, 20x20 x 64, 10x10 x 64), the same three ops, and the f32 SiLU forward
// and backward (ops::unary / unary_backward) on the 40x40 x 32 activation in Gelem/s.
// Usage: bench_conv2d [--quick] [--threads 1,2] [--batches 256,2048,8192] [--peak-n 1024]
#include <cblas.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"  // load_average
#include "host/core/build_info.hpp"
#include "host/core/device.hpp"
#include "host/core/tensor.hpp"
#include "host/ops/conv2d.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/random.hpp"

using namespace naqs;

namespace {

std::vector<int64_t> int_list(const char* s) {
  std::vector<int64_t> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long long n = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || n < 1) {
      std::fprintf(stderr, "bench_conv2d: '%s' is not a list of positive integers\n", s);
      std::exit(2);
    }
    v.push_back(n);
  }
  return v;
}

// OpenBLAS sgemm C = A B on n x n operands (at the thread count openblas_set_num_threads set):
// the peak reference.
struct PeakGemm {
  int n;
  std::vector<float> a, b, c;
  explicit PeakGemm(int64_t size)
      : n(static_cast<int>(size)),
        a(static_cast<std::size_t>(size * size), 0.5f),
        b(a.size(), 0.25f),
        c(a.size()) {}
  void operator()() {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(),
                n, 0.0f, c.data(), n);
  }
  double gmac() const { return 1e-9 * n * static_cast<double>(n) * n; }
};

// Best seconds per call of each fn, by the wall clock and by the process's CPU time (all
// threads): the calls alternate between the fns (as bench::best_seconds), at least 3 rounds,
// until ~min_total wall seconds for the first fn or 50 rounds.
struct Best {
  std::vector<double> wall, cpu;
};
Best best_wall_and_cpu(const std::vector<std::function<void()>>& fns, double min_total) {
  const auto cpu_now = [] {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  for (const auto& fn : fns) fn();
  Best b{std::vector<double>(fns.size(), 1e300), std::vector<double>(fns.size(), 1e300)};
  double total = 0;
  for (int round = 0; round < 3 || (total < min_total && round < 50); ++round)
    for (std::size_t f = 0; f < fns.size(); ++f) {
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_now();
      fns[f]();
      const double c = cpu_now() - c0;
      const double w =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      b.wall[f] = std::min(b.wall[f], w);
      b.cpu[f] = std::min(b.cpu[f], c);
      if (f == 0) total += w;
    }
  return b;
}

struct Row {
  const char* model;  // "naqs" or "unet"
  int threads;
  int64_t side, width, batch;
  double gmac;                             // multiply-adds per call, 1e9
  double fwd, bwd_x, bwd_w, peak;          // GMAC/s (wall clock)
  double fwd_c, bwd_x_c, bwd_w_c, peak_c;  // GMAC per CPU-second (per busy core)
};

// The forward (fused relu + residual), backward input and weight gradient of one width x width
// layer over the window spec on a side x side lattice, f32, and the sgemm peak reference, all in
// the same alternating rounds. Prints the row: wall-clock GMAC/s, and per op the percentage of
// the sgemm's rate per CPU-second (what one busy core reaches: robust to time slices lost to
// other processes on the shared machine).
Row measure(const char* model, int threads, int64_t side, int64_t width, int64_t batch,
            const ops::Conv2dSpec& spec, PeakGemm& peak_gemm) {
  const Shape shape{batch, width, side, side};
  Tensor x = Tensor::empty(shape, DType::f32), y = Tensor::empty(shape, DType::f32),
         pre = Tensor::empty(shape, DType::f32), dy = Tensor::empty(shape, DType::f32),
         dx = Tensor::empty(shape, DType::f32);
  Tensor w = Tensor::empty({width, width, spec.kernel_h, spec.kernel_w}, DType::f32),
         dw = w.clone(), bias = Tensor::empty({width}, DType::f32);
  ops::fill_normal(x, 1, 0, 0);
  ops::fill_normal(dy, 1, 1, 0);
  ops::fill_normal(w, 1, 2, 0, 0, 0.1);
  ops::fill_normal(bias, 1, 3, 0);
  Row r{model, threads, side, width, batch, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  r.gmac = 1e-9 * static_cast<double>(batch * side * side * width * width * spec.kernel_h *
                                      spec.kernel_w);
  const Best t = best_wall_and_cpu(
      {[&] { ops::conv2d_forward_act({{x, w, spec}}, bias, ops::Unary::relu, pre, y, x); },
       [&] { ops::conv2d_backward_input(dy, w, spec, dx); },
       [&] { ops::conv2d_backward_weight(x, dy, spec, dw); }, [&] { peak_gemm(); }},
      0.3);
  r.peak = peak_gemm.gmac() / t.wall[3];
  r.peak_c = peak_gemm.gmac() / t.cpu[3];
  r.fwd = r.gmac / t.wall[0], r.fwd_c = r.gmac / t.cpu[0];
  r.bwd_x = r.gmac / t.wall[1], r.bwd_x_c = r.gmac / t.cpu[1];
  r.bwd_w = r.gmac / t.wall[2], r.bwd_w_c = r.gmac / t.cpu[2];
  std::printf("%4s %3d %2lldx%-2lld %3lld %5lld %8.3f | %8.2f %8.2f %8.2f | %8.2f | %5.0f%% "
              "%5.0f%% %5.0f%% | %5.2f\n",
              r.model, r.threads, static_cast<long long>(side), static_cast<long long>(side),
              static_cast<long long>(width), static_cast<long long>(batch), r.gmac, r.fwd,
              r.bwd_x, r.bwd_w, r.peak, 100 * r.fwd_c / r.peak_c, 100 * r.bwd_x_c / r.peak_c,
              100 * r.bwd_w_c / r.peak_c, bench::load_average());
  std::fflush(stdout);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> threads = {1, 2}, batches = {256, 2048, 8192}, sides = {10, 12};
  int64_t peak_n = 1024;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--quick") == 0) {
      batches = {256};
      sides = {10};
    } else if (std::strcmp(argv[i], "--threads") == 0 && has_value) {
      threads = int_list(argv[++i]);
    } else if (std::strcmp(argv[i], "--batches") == 0 && has_value) {
      batches = int_list(argv[++i]);
    } else if (std::strcmp(argv[i], "--peak-n") == 0 && has_value) {
      peak_n = int_list(argv[++i])[0];
    } else {
      std::fprintf(stderr,
                   "bench_conv2d: unknown argument '%s' (allowed: --quick, --threads LIST, "
                   "--batches LIST, --peak-n N)\n",
                   argv[i]);
      return 2;
    }
  }
  const int64_t width = 32;
  const ops::Conv2dSpec spec = ops::conv2d_vertical_spec(3);
  std::printf("bench_conv2d: f32 conv2d; naqs rows: width %lld, window %dx%d (vertical, k 3)\n",
              static_cast<long long>(width), spec.kernel_h, spec.kernel_w);
  std::printf("commit %s%s | device %s | load %.2f\n", git_commit(), git_dirty() ? " (dirty)" : "",
              device_name(Device::cpu()).c_str(), bench::load_average());
  std::printf("GMAC/s by the wall clock; peak = OpenBLAS sgemm %lldx%lld GFLOP/s / 2 at the "
              "same thread count, timed in the same rounds;\n%% = GMAC per CPU-second against "
              "the sgemm's GMAC per CPU-second (per busy core)\n\n",
              static_cast<long long>(peak_n), static_cast<long long>(peak_n));
  std::printf("%4s %3s %5s %3s %5s %8s | %8s %8s %8s | %8s | %6s %6s %6s | %5s\n", "net",
              "thr", "HxW", "C", "B", "GMAC", "fwd", "bwd_x", "bwd_w", "peak", "fwd%", "bwd_x%",
              "bwd_w%", "load");
  std::vector<Row> rows;
  struct SiluRow {
    int threads;
    double fwd, bwd, fwd_c, bwd_c;  // Gelem/s (wall clock), Gelem per CPU-second
  };
  std::vector<SiluRow> silu;
  const ops::Conv2dSpec same3{3, 3, -1, -1};
  for (const int64_t thr : threads) {
    omp_set_num_threads(static_cast<int>(thr));
    const int t = static_cast<int>(thr);
    openblas_set_num_threads(t);
    PeakGemm peak(peak_n);
    for (const int64_t side : sides)
      for (const int64_t batch : batches)
        rows.push_back(measure("naqs", t, side, width, batch, spec, peak));
    for (const auto& [side, c] : std::vector<std::pair<int64_t, int64_t>>{{40, 32}, {20, 64},
                                                                          {10, 64}})
      rows.push_back(measure("unet", t, side, c, 32, same3, peak));
    openblas_set_num_threads(1);
    Tensor a = Tensor::empty({32, 32, 40, 40}, DType::f32), b = a.clone(), g = a.clone(),
           da = a.clone();
    ops::fill_normal(a, 1, 4, 0, 0, 3.0);
    ops::fill_normal(g, 1, 5, 0);
    const Best ts = best_wall_and_cpu({[&] { ops::unary(ops::Unary::silu, a, b); },
                                       [&] { ops::unary_backward(ops::Unary::silu, a, g, da); }},
                                      0.3);
    const double gel = 1e-9 * static_cast<double>(a.numel());
    silu.push_back({t, gel / ts.wall[0], gel / ts.wall[1], gel / ts.cpu[0], gel / ts.cpu[1]});
    std::printf("silu %3d (32,32,40,40) f32: forward %.3f Gelem/s (%.3f per CPU-s), backward "
                "%.3f Gelem/s (%.3f per CPU-s)\n",
                t, silu.back().fwd, silu.back().fwd_c, silu.back().bwd, silu.back().bwd_c);
  }
  std::printf("\nCSV\ncommit,model,threads,side,width,batch,gmac,fwd_gmacs,bwd_x_gmacs,"
              "bwd_w_gmacs,sgemm_peak_gmacs,fwd_gmac_per_cpus,bwd_x_gmac_per_cpus,"
              "bwd_w_gmac_per_cpus,sgemm_gmac_per_cpus,load\n");
  for (const Row& r : rows)
    std::printf("%s,%s,%d,%lld,%lld,%lld,%.4f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.2f\n",
                git_commit(), r.model, r.threads, static_cast<long long>(r.side),
                static_cast<long long>(r.width), static_cast<long long>(r.batch), r.gmac, r.fwd,
                r.bwd_x, r.bwd_w, r.peak, r.fwd_c, r.bwd_x_c, r.bwd_w_c, r.peak_c,
                bench::load_average());
  std::printf("csv_silu,commit,threads,forward_gelems,backward_gelems,forward_gelem_per_cpus,"
              "backward_gelem_per_cpus\n");
  for (const SiluRow& r : silu)
    std::printf("csv_silu,%s,%d,%.4f,%.4f,%.4f,%.4f\n", git_commit(), r.threads, r.fwd, r.bwd,
                r.fwd_c, r.bwd_c);
  return 0;
}
