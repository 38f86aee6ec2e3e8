// bench_metropolis: Metropolis single-spin-flip proposals per second (propose + RBM log-psi
// ratios + accept + ratio update, all chains) on CPU, and on CUDA when a device is present.
// CPU uses the RBM's O(M) theta updates; CUDA uses full re-evaluation (no CUDA fast path yet).
// Prints a table and CSV rows (commit, device, N, alpha, chains, steps, proposals/s, acceptance).
// Usage: bench_metropolis [n_sites=64] [alpha=1] [steps=200]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "host/core/build_info.hpp"
#include "host/core/device.hpp"
#include "physics/metropolis.hpp"
#include "physics/rbm.hpp"

namespace {

void run(naqs::Device device, int64_t n, double alpha, int64_t chains, int64_t steps) {
  naqs::Rbm rbm({n, alpha, false}, naqs::DType::f32, device);
  rbm.init_random(1, 0.05);
  naqs::MetropolisConfig cfg;
  cfg.n_chains = chains;
  naqs::MetropolisSampler sampler(rbm, cfg);
  for (int i = 0; i < 10; ++i) sampler.step();  // warm-up
  sampler.reset_counters();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) sampler.step();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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
