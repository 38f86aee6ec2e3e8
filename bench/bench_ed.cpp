// ED benchmark (a program, never a test): milliseconds per H·v of the on-the-fly matvec for the
// TFIM chain N=20 (full space) and the Heisenberg chain N=24 (Sz=0), against the XDiag timings
// on the reference 2-core machine (113 ms and 375 ms with 2 threads), against the per-row
// reference formula (ed_matvec_reference_cpu, the path before the fast kernels), and against
// this machine's memory bandwidth measured in the same run (STREAM copy and triad). The floor of
// a matvec is about 16 bytes per state (read x once, write y once) at the copy bandwidth; the
// table prints the fraction of it reached. The machine may be shared: every timing is repeated,
// minimum and median are printed with the CPU time per product (all threads) and the load
// average before and after.
// With --big it also solves the ground states of TFIM N=28 (parity sector) and Heisenberg N=30
// (Sz=0) once, reporting wall time and peak memory (getrusage maxrss). With a CUDA device the
// matvec is also timed on the GPU (x, y in device memory) against a device-to-device copy.
//
// --big-case tfim|heisenberg solves only that one (no matvec table), for runs under time -v.
// --scan (instead of the table) times the TFIM chain (full space) for N = 12..26 to show where
// the caches run out.
//
//   bench_ed [--threads 2] [--reps 10] [--big | --big-case NAME] [--scan] [--tol 1e-12] [--csv]
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "host/core/build_info.hpp"
#include "host/core/device.hpp"
#include "host/core/error.hpp"
#include "host/core/tensor.hpp"
#include "physics/ed/ed_solver.hpp"

using namespace naqs;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double cpu_seconds() {  // CPU time of the process, all threads
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

std::string load_average() {
  double l[3] = {0, 0, 0};
  if (getloadavg(l, 3) != 3) return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", l[0], l[1], l[2]);
  return buf;
}

// Minimum, median and median CPU time of `reps` timed calls of f (after one warm-up call).
struct Timing {
  double best_ms, median_ms, cpu_ms;
};

template <class F>
Timing time_calls(int reps, F&& f) {
  f();
  std::vector<double> wall, cpu;
  for (int r = 0; r < reps; ++r) {
    const double c0 = cpu_seconds();
    const auto t0 = Clock::now();
    f();
    wall.push_back(seconds_since(t0) * 1e3);
    cpu.push_back((cpu_seconds() - c0) * 1e3);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall.front(), wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

// STREAM copy (a = b, 16 bytes per element) and triad (a = b + s c, 24 bytes; STREAM's
// convention: write-allocate traffic not counted) over 2^25 doubles per array (768 MiB in all).
struct Stream {
  Timing copy, triad;
  double copy_gbs, triad_gbs, copy_median_gbs, triad_median_gbs;
};

Stream stream_bandwidth(int reps) {
  const int64_t n = int64_t{1} << 25;
  std::unique_ptr<double[]> a(new double[n]), b(new double[n]), c(new double[n]);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    a[i] = 0;
    b[i] = 1;
    c[i] = 2;
  }
  Stream s{};
  s.copy = time_calls(reps, [&] {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) a[i] = b[i];
  });
  s.triad = time_calls(reps, [&] {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) a[i] = b[i] + 0.5 * c[i];
  });
  if (a[n / 2] != 2.0) std::printf("stream check failed\n");
  s.copy_gbs = 16.0 * n / s.copy.best_ms / 1e6;
  s.copy_median_gbs = 16.0 * n / s.copy.median_ms / 1e6;
  s.triad_gbs = 24.0 * n / s.triad.best_ms / 1e6;
  s.triad_median_gbs = 24.0 * n / s.triad.median_ms / 1e6;
  return s;
}

Timing time_matvec(int64_t dim, int reps,
                   const std::function<void(const double*, double*)>& apply) {
  ed::VectorBuffer x = ed::make_vector_buffer(dim), y = ed::make_vector_buffer(dim);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < dim; ++i) {
    x[i] = 1.0 / (1 + i % 7);
    y[i] = 0;
  }
  return time_calls(reps, [&] { apply(x.get(), y.get()); });
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
  bool big = false, skip_table = false, csv = false, scan = false;
  std::string big_case;
  double tol = 1e-12;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--tol") && i + 1 < argc) tol = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--big")) big = true;
    else if (!std::strcmp(argv[i], "--big-case") && i + 1 < argc) {
      big = skip_table = true;
      big_case = argv[++i];
    }
    else if (!std::strcmp(argv[i], "--csv")) csv = true;
    else if (!std::strcmp(argv[i], "--scan")) scan = skip_table = true;
    else {
      std::fprintf(stderr, "usage: bench_ed [--threads N] [--reps N] [--big | --big-case "
                           "tfim|heisenberg] [--scan] [--tol T] [--csv]\n");
      return 2;
    }
  }
  if (threads < 1 || reps < 1 || !(tol > 0) ||
      !(big_case.empty() || big_case == "tfim" || big_case == "heisenberg")) {
    std::fprintf(stderr, "bench_ed: --threads and --reps must be >= 1, --tol > 0, --big-case "
                         "tfim or heisenberg\n");
    return 2;
  }
  omp_set_num_threads(threads);
  std::printf("# bench_ed  commit %s%s  threads %d  reps %d  load average %s\n", git_commit(),
              git_dirty() ? " (dirty)" : "", threads, reps, load_average().c_str());
  std::vector<std::string> csv_lines;
  struct Case {
    const char* name;
    Hamiltonian H;
    int n_down;
    ed::EdBasis basis;
    double xdiag_ms;
  };
  std::vector<Case> cases;
  if (!skip_table) {
    cases.push_back({"tfim chain N=20 full", Hamiltonian(Lattice::chain(20, true), tfim_params()),
                     -1, ed::EdBasis::full(20), 113});
    cases.push_back({"tfim chain N=20 parity even",
                     Hamiltonian(Lattice::chain(20, true), tfim_params()), -1,
                     ed::EdBasis::parity(20, 1), 0});
    cases.push_back({"heisenberg chain N=24 Sz=0",
                     Hamiltonian(Lattice::chain(24, true), heis_params()), 12,
                     ed::EdBasis::sz(24, 12), 375});
  }
  if (!skip_table) {
    const Stream bw = stream_bandwidth(reps);
    std::printf("# memory bandwidth (%d threads): copy %.2f GB/s best, %.2f median (cpu %.0f ms "
                "per %.0f ms median); triad %.2f best, %.2f median\n",
                threads, bw.copy_gbs, bw.copy_median_gbs, bw.copy.cpu_ms, bw.copy.median_ms,
                bw.triad_gbs, bw.triad_median_gbs);
    csv_lines.push_back(cat("stream,copy,", bw.copy_gbs, ",", bw.copy_median_gbs));
    csv_lines.push_back(cat("stream,triad,", bw.triad_gbs, ",", bw.triad_median_gbs));
    std::printf("# %-28s %9s %-5s %8s %8s %8s %8s %7s %7s %9s %8s\n", "case", "dim", "path",
                "min ms", "med ms", "cpu ms", "XDiag", "vs XD", "vs XD", "GB/s@16B", "floor");
    std::printf("# %-28s %9s %-5s %8s %8s %8s %8s %7s %7s %9s %8s\n", "", "", "", "", "",
                "(median)", "ms", "(min)", "(med)", "(min)", "(min)");
    for (const Case& c : cases) {
      ed::EdOperator op(c.H, c.basis, Device::cpu());
      const int64_t dim = c.basis.dim();
      for (int path = 0; path < 2; ++path) {
        const Timing t = time_matvec(dim, path == 0 ? std::max(1, reps / 2) : reps,
                                     [&](const double* x, double* y) {
          if (path == 0) ed::ed_matvec_reference_cpu(op.op_view(), c.basis.view(), x, y);
          else op.apply(x, y);
        });
        const double gbs = 16.0 * dim / t.best_ms / 1e6;
        const char* name = path == 0 ? "ref" : "fast";
        if (c.xdiag_ms > 0)
          std::printf("  %-28s %9lld %-5s %8.2f %8.2f %8.2f %8.0f %6.1fx %6.1fx %9.2f %7.1f%%\n",
                      c.name, static_cast<long long>(dim), name, t.best_ms, t.median_ms,
                      t.cpu_ms, c.xdiag_ms, c.xdiag_ms / t.best_ms, c.xdiag_ms / t.median_ms,
                      gbs, 100 * gbs / bw.copy_gbs);
        else
          std::printf("  %-28s %9lld %-5s %8.2f %8.2f %8.2f %8s %7s %7s %9.2f %7.1f%%\n", c.name,
                      static_cast<long long>(dim), name, t.best_ms, t.median_ms, t.cpu_ms, "-",
                      "-", "-", gbs, 100 * gbs / bw.copy_gbs);
        csv_lines.push_back(cat("cpu,", c.name, ",", name, ",", dim, ",", t.best_ms, ",",
                                t.median_ms, ",", t.cpu_ms, ",", c.xdiag_ms, ",", gbs, ",",
                                bw.copy_gbs));
      }
    }
    std::printf("# load average after: %s\n", load_average().c_str());
  }
  if (scan) {
    std::printf("# tfim chain, full space, fast path: ns per state (wall min, wall median, cpu "
                "median) and GB/s at 16 B/state\n");
    for (int n = 12; n <= 26; n += 2) {
      const Hamiltonian H(Lattice::chain(n, true), tfim_params());
      const ed::EdBasis basis = ed::EdBasis::full(n);
      ed::EdOperator op(H, basis, Device::cpu());
      const int64_t dim = basis.dim();
      const int r = static_cast<int>(std::clamp<int64_t>((int64_t{reps} << 22) / dim, 3, 2000));
      const Timing t = time_matvec(dim, r, [&](const double* x, double* y) { op.apply(x, y); });
      std::printf("  N=%2d  dim %9lld  %7.2f %7.2f %7.2f ns/state  %6.2f GB/s  (%d reps)\n", n,
                  static_cast<long long>(dim), t.best_ms * 1e6 / dim, t.median_ms * 1e6 / dim,
                  t.cpu_ms * 1e6 / dim, 16.0 * dim / t.best_ms / 1e6, r);
      csv_lines.push_back(cat("scan,", n, ",", dim, ",", t.best_ms, ",", t.median_ms, ",",
                              t.cpu_ms));
    }
  }
  if (device_count() > 0) {
    const Device gpu = Device::cuda(0);
    std::printf("# GPU: %s\n", device_name(gpu).c_str());
    for (const Case& c : cases) {
      ed::EdOperator op(c.H, c.basis, gpu);
      const int64_t dim = c.basis.dim();
      Tensor x = Tensor::zeros({dim}, DType::f64, gpu), y = Tensor::empty({dim}, DType::f64, gpu);
      op.apply_device(x.data<double>(), y.data<double>());
      double best = 1e30;
      for (int r = 0; r < reps; ++r) {
        const auto t0 = Clock::now();
        op.apply_device(x.data<double>(), y.data<double>());
        best = std::min(best, seconds_since(t0));
      }
      double best_copy = 1e30;
      for (int r = 0; r < reps; ++r) {
        const auto t0 = Clock::now();
        y.copy_from(x);
        synchronize(gpu);
        best_copy = std::min(best_copy, seconds_since(t0));
      }
      const double gbs = 16.0 * dim / best / 1e9, copy_gbs = 16.0 * dim / best_copy / 1e9;
      std::printf("  %-34s %12lld %10.3f ms  %8.1f GB/s@16B  (d2d copy %8.1f GB/s: %5.1f%%)\n",
                  c.name, static_cast<long long>(dim), best * 1e3, gbs, copy_gbs,
                  100 * gbs / copy_gbs);
      csv_lines.push_back(cat("cuda,", c.name, ",", dim, ",", best * 1e3, ",,,", gbs, ",",
                              copy_gbs));
    }
  }
  if (big) {
    std::printf("# ground states (Lanczos tol %.0e, %d threads)\n", tol, threads);
    struct Solve {
      const char* key;
      const char* name;
      Hamiltonian H;
      int n_down;
    };
    const Solve solves[] = {
        {"tfim", "tfim chain N=28 h=1 parity even",
         Hamiltonian(Lattice::chain(28, true), tfim_params()), -1},
        {"heisenberg", "heisenberg chain N=30 Sz=0", Hamiltonian(Lattice::chain(30, true),
                                                                 heis_params()), 15}};
    for (const Solve& sv : solves) {
      if (!big_case.empty() && big_case != sv.key) continue;
      ed::LanczosOptions opts;
      opts.tol = tol;
      const auto t_start = Clock::now();
      opts.progress = [&](const ed::LanczosProgress& p) {
        if (p.step % 10 != 0) return;
        if (p.pass == 1)
          std::printf("    pass 1 step %4d  theta %.12f  residual estimate %.2e  %7.1f s\n",
                      p.step, p.energy, p.residual_estimate, seconds_since(t_start));
        else
          std::printf("    pass 2 step %4d / %d  %7.1f s\n", p.step, p.steps,
                      seconds_since(t_start));
        std::fflush(stdout);
      };
      const double c0 = cpu_seconds();
      const SpinHilbert space = sv.n_down < 0 ? SpinHilbert::full(sv.H.n_sites())
                                : SpinHilbert::with_magnetisation(sv.H.n_sites(),
                                                                  sv.H.n_sites() - 2 * sv.n_down);
      const ed::EdSolution s = ed::solve_ground_state(sv.H, space, Device::cpu(), opts);
      const double cpu_s = cpu_seconds() - c0;
      const ed::LanczosResult& l = s.lanczos;
      std::printf("  %s (%s, dim %lld)\n    E0 %.12f  E0/N %.12f  (S.S units E0/N %.12f)\n"
                  "    iterations %d  matvecs %d  restarts %d  residual %.2e  converged %s\n"
                  "    stop: %s\n    <|m_z|> %.10f  <m_z^2> %.10f  <X> %.10f  <m_s^2> %.10f\n"
                  "    wall %.1f s  cpu %.1f s  (%.2f s wall per matvec incl. vector ops)  "
                  "maxrss %ld MiB  load average %s\n",
                  sv.name, s.sector.c_str(), static_cast<long long>(s.dim), l.energy,
                  s.observables.energy_per_site, s.observables.energy_per_site / 4,
                  l.iterations, l.matvecs, l.restarts, l.residual, l.converged ? "yes" : "no",
                  l.stop_criterion.c_str(), s.observables.abs_mz, s.observables.mz2,
                  s.observables.x_mean, s.observables.ms2, s.seconds, cpu_s,
                  s.seconds / std::max(1, l.matvecs), maxrss_mib(), load_average().c_str());
      std::fflush(stdout);
      csv_lines.push_back(cat("solve,", sv.name, ",", s.dim, ",", l.energy, ",", l.residual, ",",
                              s.seconds, ",", cpu_s, ",", l.matvecs, ",", maxrss_mib()));
    }
  }
  if (csv) {
    std::printf("# csv: stream,kind,best_gbs,median_gbs | cpu,case,path,dim,best_ms,median_ms,"
                "cpu_ms,xdiag_ms,gbs,copy_gbs | scan,n,dim,best_ms,median_ms,cpu_ms | "
                "cuda,case,dim,best_ms,,,gbs,copy_gbs | solve,case,dim,energy,residual,wall_s,"
                "cpu_s,matvecs,maxrss_mib\n");
    for (const auto& l : csv_lines) std::printf("%s\n", l.c_str());
  }
  return 0;
}
