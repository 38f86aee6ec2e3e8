// bench_metropolis: Metropolis single-spin-flip proposals per second (propose + RBM log-psi
// ratios + accept + ratio update, all chains) on CPU (per second of process CPU time), and on
// CUDA (wall time) when a device is present.
// CPU uses the RBM's O(M) theta updates; CUDA uses full re-evaluation (no CUDA fast path yet).
// Prints a table and CSV rows (commit, device, N, alpha, chains, steps, proposals/s, acceptance).
// Usage: bench_metropolis [n_sites=64] [alpha=1] [steps=200]
//
// Second mode, effective samples per second on the SAME trained wavefunction across h:
//   bench_metropolis models DIR [n_samples=4096] [chains=32] [burn_in=20]
// reads every DIR/naqs_h*.h5 written by `naqs breakdown` (trained 1D NAQS per field) and times
// the sampler alone (local energies excluded): exact ancestral sampling vs Metropolis single
// flips (full re-evaluation of log psi per proposal: one batched forward per step), reporting
// samples/s, Metropolis proposals/s, tau_int and split-R-hat of m_z / |m_z|, and ESS/s of |m_z|
// and m_z^2 (exact samples: ESS = n). Rates are per second of process CPU time (run it with
// OMP_NUM_THREADS=1: then they do not depend on the machine's load); the wall seconds are printed
// too. CSV rows: commit, h, method, samples/s, proposals/s, tau(|m_z|), R-hat(m_z),
// ESS/s(|m_z|), ESS/s(m_z^2), cpu seconds, wall seconds.
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "host/core/build_info.hpp"
#include "host/core/device.hpp"
#include "physics/models/rbm.hpp"
#include "physics/sampler/mcmc_diagnostics.hpp"
#include "physics/sampler/metropolis.hpp"
#include "physics/vmc/driver.hpp"
#include "validation/breakdown/breakdown.hpp"

namespace {

double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void compare_models(const std::string& dir, int64_t n, int64_t chains, int64_t burn_in) {
  std::map<double, std::string> files;  // by h
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("naqs_h", 0) != 0 || e.path().extension() != ".h5") continue;
    double h = 0;
    naqs::breakdown::load_naqs_run(e.path().string(), h);
    files[h] = e.path().string();
  }
  if (files.empty()) throw naqs::UsageError("bench_metropolis: no naqs_h*.h5 in '" + dir + "'");
  std::printf("bench_metropolis models  commit %s  (cpu, trained NAQS of %s; %lld samples; "
              "Metropolis %lld chains, %lld burn-in sweeps; sampler CPU time only)\n",
              naqs::git_commit(), dir.c_str(), static_cast<long long>(n),
              static_cast<long long>(chains), static_cast<long long>(burn_in));
  std::printf("%6s %-11s %12s %13s %10s %10s %14s %14s %8s %8s\n", "h", "method", "samples/s",
              "proposals/s", "tau(|mz|)", "Rhat(mz)", "ESS/s(|mz|)", "ESS/s(mz^2)", "cpu s",
              "wall s");
  for (const auto& [h, path] : files) {
    double h_read = 0;
    auto psi = naqs::breakdown::load_naqs_run(path, h_read);
    naqs::vmc::VmcConfig c;
    c.length_x = static_cast<int>(psi->n_sites());
    const naqs::Hamiltonian H = naqs::vmc::make_hamiltonian(c);
    for (const auto kind : {naqs::vmc::SamplerKind::exact, naqs::vmc::SamplerKind::metropolis}) {
      naqs::vmc::SamplerSettings s;
      s.kind = kind;
      s.n_chains = chains;
      s.burn_in = burn_in;
      s.seed = 1;
      auto sampler = naqs::vmc::make_sampler(s, *psi, H, naqs::SpinHilbert::full(H.n_sites()));
      naqs::vmc::SampleSet set;
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_seconds();
      sampler->draw(n, 0, 1024, set);
      const double sec = cpu_seconds() - c0, wall = seconds_since(t0);
      const int64_t N = psi->n_sites();
      std::vector<double> mz, abs_mz, mz2;
      for (const naqs::Tensor& t : set.sigma) {
        const std::vector<double> v = naqs::to_host_f64(t);
        for (std::size_t r = 0; r * N < v.size(); ++r) {
          double m = 0;
          for (int64_t i = 0; i < N; ++i) m += v[r * N + i];
          m /= static_cast<double>(N);
          mz.push_back(m);
          abs_mz.push_back(std::abs(m));
          mz2.push_back(m * m);
        }
      }
      double tau = 1, r_hat = NAN, ess_abs = static_cast<double>(n), ess_mz2 = ess_abs;
      double proposals = NAN;
      if (set.n_chains > 0) {
        const naqs::ChainSummary a = naqs::summarize_chains(abs_mz, set.n_chains);
        tau = a.tau;
        ess_abs = a.ess;
        ess_mz2 = naqs::summarize_chains(mz2, set.n_chains).ess;
        r_hat = naqs::split_r_hat(mz, set.n_chains);
        proposals = static_cast<double>(sampler->state_counter() * chains) / sec;
      }
      const char* name = naqs::cli::name_of(kind);
      std::printf("%6.2f %-11s %12.4g %13.4g %10.3g %10.3g %14.4g %14.4g %8.3g %8.3g\n", h, name,
                  n / sec, proposals, tau, r_hat, ess_abs / sec, ess_mz2 / sec, sec, wall);
      std::printf("CSV,%s,%g,%s,%.6e,%.6e,%.4g,%.4g,%.6e,%.6e,%.4g,%.4g\n", naqs::git_commit(), h,
                  name, n / sec, proposals, tau, r_hat, ess_abs / sec, ess_mz2 / sec, sec, wall);
    }
  }
}

void run(naqs::Device device, int64_t n, double alpha, int64_t chains, int64_t steps) {
  naqs::Rbm rbm({n, alpha, false}, naqs::DType::f32, device);
  rbm.init_random(1, 0.05);
  naqs::MetropolisConfig cfg;
  cfg.n_chains = chains;
  naqs::MetropolisSampler sampler(rbm, cfg);
  for (int i = 0; i < 10; ++i) sampler.step();  // warm-up
  sampler.reset_counters();
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = cpu_seconds();
  for (int64_t i = 0; i < steps; ++i) sampler.step();
  // CUDA: wall time (the host CPU waits for the device); CPU: process CPU time (load-independent
  // with OMP_NUM_THREADS=1)
  const double s = device.is_cpu() ? cpu_seconds() - c0 : seconds_since(t0);
  const double rate = static_cast<double>(chains * steps) / s;
  std::printf("%-8s %6lld %6.2f %8lld %7lld %14.3e %10.3f\n", device.is_cpu() ? "cpu" : "cuda",
              static_cast<long long>(n), alpha, static_cast<long long>(chains),
              static_cast<long long>(steps), rate, sampler.acceptance_rate());
  std::printf("CSV,%s,%s,%lld,%g,%lld,%lld,%.6e,%.4f\n", naqs::git_commit(),
              device.is_cpu() ? "cpu" : "cuda", static_cast<long long>(n), alpha,
              static_cast<long long>(chains), static_cast<long long>(steps), rate,
              sampler.acceptance_rate());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc > 2 && std::string(argv[1]) == "models") {
      compare_models(argv[2], argc > 3 ? std::atoll(argv[3]) : 4096,
                     argc > 4 ? std::atoll(argv[4]) : 32, argc > 5 ? std::atoll(argv[5]) : 20);
      return 0;
    }
    const int64_t n = argc > 1 ? std::atoll(argv[1]) : 64;
    const double alpha = argc > 2 ? std::atof(argv[2]) : 1.0;
    const int64_t steps = argc > 3 ? std::atoll(argv[3]) : 200;
    std::printf("bench_metropolis  commit %s  (f32 RBM, single flips)\n", naqs::git_commit());
    std::printf("%-8s %6s %6s %8s %7s %14s %10s\n", "device", "N", "alpha", "chains", "steps",
                "proposals/s", "accept");
    for (int64_t chains : {64, 1024}) run(naqs::Device::cpu(), n, alpha, chains, steps);
    if (naqs::device_count() > 0)
      for (int64_t chains : {1024, 16384}) run(naqs::Device::cuda(0), n, alpha, chains, steps);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_metropolis: %s\n", e.what());
    return 1;
  }
  return 0;
}
