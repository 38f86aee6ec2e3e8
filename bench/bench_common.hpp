// What the benchmark programs share: the load average printed beside every measurement
// (bench_naqs_sampling.cpp, bench_naqs2d.cpp, bench_matmul.cpp) and alternating best-of timing
// (bench_gemm.cpp, bench_matmul.cpp).
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

namespace naqs::bench {

// The 1-minute load average (from /proc/loadavg; -1 where it cannot be read): printed with every
// measurement because the benchmark machines are shared.
inline double load_average() {
  double load = -1;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  return load;
}

// Best (minimum) seconds per call of each of fns, after one warm-up each; the calls alternate
// between the fns so that load from other processes affects all of them alike. sync() runs after
// each call (a device synchronisation for GPU work). Repeats until ~min_total seconds for the
// first fn or 50 rounds, at least 3.
inline std::vector<double> best_seconds(const std::vector<std::function<void()>>& fns,
                                        const std::function<void()>& sync,
                                        double min_total = 0.3) {
  for (const auto& fn : fns) fn();
  sync();
  std::vector<double> best(fns.size(), 1e300), total(fns.size(), 0);
  for (int round = 0; round < 3 || (total[0] < min_total && round < 50); ++round)
    for (std::size_t f = 0; f < fns.size(); ++f) {
      const auto t0 = std::chrono::steady_clock::now();
      fns[f]();
      sync();
      const double dt =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best[f] = std::min(best[f], dt);
      total[f] += dt;
    }
  return best;
}

}  // namespace naqs::bench
