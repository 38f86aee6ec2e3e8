// What the NAQS benchmark programs (bench_naqs_sampling.cpp, bench_naqs2d.cpp) share.
#pragma once
#include <cstdio>

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

}  // namespace naqs::bench
