// ED benchmark (a program, never a test): milliseconds per H·v of the on-the-fly matvec for the
// TFIM chain N=20 (full space) and the Heisenberg chain N=24 (Sz=0), against the XDiag timings
// on the reference 2-core machine (113 ms and 375 ms with 2 threads), and against this machine's
// memory bandwidth measured in the same run (STREAM triad). The floor of a matvec is about
// 16 bytes per state (read x once, write y once); the table prints the fraction reached.
// With --big it also solves the ground states of TFIM N=28 (parity sector) and Heisenberg N=30
// (Sz=0) once, reporting wall time and peak memory (getrusage maxrss). With a CUDA device the
// matvec is also timed on the GPU (x, y in device memory) against a device-to-device copy.
//
//   bench_ed [--threads 2] [--reps 10] [--big] [--csv]
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "host/core/build_info.hpp"
#include "host/core/cuda_runtime.hpp"
#include "host/core/device.hpp"
#include "host/core/error.hpp"
#include "validation/ed/ed_solver.hpp"

using namespace naqs;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// STREAM triad a = b + s c over 2^25 doubles per array (768 MiB in all), best of 5, counted
// as 24 bytes per element (STREAM's convention; write-allocate traffic not counted).
double stream_triad_gbs() {
  const int64_t n = int64_t{1} << 25;
  std::unique_ptr<double[]> a(new double[n]), b(new double[n]), c(new double[n]);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    a[i] = 0;
    b[i] = 1;
    c[i] = 2;
  }
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) a[i] = b[i] + 0.5 * c[i];
    best = std::min(best, seconds_since(t0));
  }
  if (a[n / 2] != 2.0) std::printf("stream check failed\n");
  return 24.0 * n / best / 1e9;
}

struct Timing {
  double best_ms, median_ms;
};

Timing time_matvec(const ed::EdOperator& op, int reps) {
  const int64_t dim = op.dim();
  std::unique_ptr<double[]> x(new double[dim]), y(new double[dim]);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < dim; ++i) {
    x[i] = 1.0 / (1 + i % 7);
    y[i] = 0;
  }
  op.apply(x.get(), y.get());  // warm-up
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    op.apply(x.get(), y.get());
    t.push_back(seconds_since(t0) * 1e3);
  }
  std::sort(t.begin(), t.end());
  return {t.front(), t[t.size() / 2]};
}

ModelParams tfim_params() {
  ModelParams p;
  p.J = 1;
  p.h = 1;
  return p;
}

ModelParams heis_params() {
  ModelParams p;
  p.model = Model::heisenberg;
  p.h = 0;
  p.Delta = 1;
  return p;
}

long maxrss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 10;
  bool big = false, csv = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--big")) big = true;
    else if (!std::strcmp(argv[i], "--csv")) csv = true;
    else {
      std::fprintf(stderr, "usage: bench_ed [--threads N] [--reps N] [--big] [--csv]\n");
      return 2;
    }
  }
  omp_set_num_threads(threads);
  std::printf("# bench_ed  commit %s%s  threads %d  reps %d\n", git_commit(),
              git_dirty() ? " (dirty)" : "", threads, reps);
  const double bw = stream_triad_gbs();
  std::printf("# memory bandwidth (STREAM triad, %d threads): %.2f GB/s\n", threads, bw);
  std::printf("# %-34s %12s %10s %10s %10s %8s %10s %9s\n", "case", "dim", "best ms",
              "median ms", "XDiag ms", "speedup", "GB/s@16B", "of floor");
  struct Case {
    const char* name;
    Hamiltonian H;
    int n_down;
    ed::EdBasis basis;
    double xdiag_ms;
  };
  std::vector<Case> cases;
  cases.push_back({"tfim chain N=20 full", Hamiltonian(Lattice::chain(20, true), tfim_params()),
                   -1, ed::EdBasis::full(20), 113});
  cases.push_back({"heisenberg chain N=24 Sz=0",
                   Hamiltonian(Lattice::chain(24, true), heis_params()), 12,
                   ed::EdBasis::sz(24, 12), 375});
  std::vector<std::string> csv_lines;
  for (const Case& c : cases) {
    ed::EdOperator op(c.H, c.basis, Device::cpu());
    const Timing t = time_matvec(op, reps);
    const double bytes = 16.0 * c.basis.dim();
    const double gbs = bytes / (t.best_ms * 1e-3) / 1e9;
    std::printf("  %-34s %12lld %10.2f %10.2f %10.0f %7.1fx %10.2f %8.1f%%\n", c.name,
                static_cast<long long>(c.basis.dim()), t.best_ms, t.median_ms, c.xdiag_ms,
                c.xdiag_ms / t.best_ms, gbs, 100 * gbs / bw);
    csv_lines.push_back(cat("cpu,", c.name, ",", c.basis.dim(), ",", t.best_ms, ",",
                            t.median_ms, ",", c.xdiag_ms, ",", gbs, ",", bw));
  }
#if NAQS_HAVE_CUDA
  if (device_count() > 0) {
    std::printf("# GPU: %s\n", device_name(Device::cuda(0)).c_str());
    for (const Case& c : cases) {
      ed::EdOperator op(c.H, c.basis, Device::cuda(0));
      const int64_t dim = c.basis.dim();
      void* x = cuda_rt::malloc_device(dim * 8);
      void* y = cuda_rt::malloc_device(dim * 8);
      cuda_rt::memset_device(x, 0, dim * 8);
      op.apply_device(static_cast<double*>(x), static_cast<double*>(y));
      double best = 1e30;
      for (int r = 0; r < reps; ++r) {
        const auto t0 = Clock::now();
        op.apply_device(static_cast<double*>(x), static_cast<double*>(y));
        best = std::min(best, seconds_since(t0));
      }
      double best_copy = 1e30;
      for (int r = 0; r < reps; ++r) {
        const auto t0 = Clock::now();
        cuda_rt::copy_d2d(y, x, dim * 8);
        cuda_rt::synchronize();
        best_copy = std::min(best_copy, seconds_since(t0));
      }
      const double gbs = 16.0 * dim / best / 1e9, copy_gbs = 16.0 * dim / best_copy / 1e9;
      std::printf("  %-34s %12lld %10.3f ms  %8.1f GB/s@16B  (d2d copy %8.1f GB/s: %5.1f%%)\n",
                  c.name, static_cast<long long>(dim), best * 1e3, gbs, copy_gbs,
                  100 * gbs / copy_gbs);
      csv_lines.push_back(cat("cuda,", c.name, ",", dim, ",", best * 1e3, ",,,", gbs, ",",
                              copy_gbs));
      cuda_rt::free_device(x);
      cuda_rt::free_device(y);
    }
  }
#endif
  if (big) {
    std::printf("# ground states (Lanczos tol 1e-12, %d threads)\n", threads);
    const std::pair<const char*, std::pair<Hamiltonian, int>> solves[] = {
        {"tfim chain N=28 parity even", {Hamiltonian(Lattice::chain(28, true), tfim_params()), -1}},
        {"heisenberg chain N=30 Sz=0", {Hamiltonian(Lattice::chain(30, true), heis_params()), 15}}};
    for (const auto& [name, hs] : solves) {
      const ed::EdSolution s = ed::solve_ground_state(hs.first, hs.second, Device::cpu());
      std::printf("  %-30s dim %11lld  E0 %.12f  E0/N %.12f  iter %d  matvecs %d  residual "
                  "%.2e  %.1f s  maxrss %ld MiB\n",
                  name, static_cast<long long>(s.dim), s.lanczos.energy,
                  s.observables.energy_per_site, s.lanczos.iterations, s.lanczos.matvecs,
                  s.lanczos.residual, s.seconds, maxrss_mib());
      std::fflush(stdout);
      csv_lines.push_back(cat("solve,", name, ",", s.dim, ",", s.seconds, ",", s.lanczos.matvecs,
                              ",", maxrss_mib()));
    }
  }
  if (csv) {
    std::printf("# csv: kind,case,dim,best_ms,median_ms,xdiag_ms,gbs,peak_gbs\n");
    for (const auto& l : csv_lines) std::printf("%s\n", l.c_str());
  }
  return 0;
}
