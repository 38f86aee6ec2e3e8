// Perf mode of the op-case harness (tests/support/op_case.hpp): times every registered case
// (tests/op_cases/*.cpp) on the CPU and, where present, on CUDA device 0 (best of --reps runs,
// synchronised). Prints a table and CSV; never asserts timings.
// Usage: bench_ops [--op NAME] [--reps N]     (NAME: an op, e.g. gemm, softmax; default all)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/bench_common.hpp"
#include "host/core/build_info.hpp"
#include "host/core/device.hpp"
#include "tests/support/op_case.hpp"

using namespace naqs;
using naqs::testing::OpCase;

int main(int argc, char** argv) {
  std::string only;
  int reps = 5;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--op") && i + 1 < argc) {
      only = argv[++i];
    } else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_ops [--op NAME] [--reps N]\n");
      return 2;
    }
  }
  if (reps < 1) {
    std::fprintf(stderr, "bench_ops: --reps %d (allowed: >= 1)\n", reps);
    return 2;
  }
  const bool gpu = device_count() > 0;
  std::printf("# bench_ops: commit %s, load %.2f, cpu %s%s%s\n", git_commit(),
              bench::load_average(), device_name(Device::cpu()).c_str(), gpu ? ", gpu " : "",
              gpu ? device_name(Device::cuda(0)).c_str() : "");
  std::printf("%-60s %12s %12s\n", "case", "cpu_us", gpu ? "cuda_us" : "");
  std::string csv = "case,cpu_us,cuda_us\n";
  int n = 0;
  for (const OpCase& c : testing::op_cases()) {
    if (!only.empty() && c.op != only) continue;
    ++n;
    const double cpu = 1e6 * testing::time_case(c, Device::cpu(), reps);
    const double cuda = gpu ? 1e6 * testing::time_case(c, Device::cuda(0), reps) : -1;
    std::printf("%-60s %12.2f %12s\n", c.name().c_str(), cpu,
                gpu ? std::to_string(cuda).c_str() : "");
    csv += c.name() + "," + std::to_string(cpu) + "," + (gpu ? std::to_string(cuda) : "") + "\n";
  }
  if (n == 0) {
    std::fprintf(stderr, "bench_ops: no case of op '%s'\n", only.c_str());
    return 2;
  }
  std::printf("\n%s", csv.c_str());
  return 0;
}
