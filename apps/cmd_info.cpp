// naqs info: version, git commit, build type, CUDA compiled in or not, devices, BLAS, OpenMP.
#include <cblas.h>
#include <omp.h>

#include <cstdio>

#include "host/cli/command.hpp"
#include "host/core/build_info.hpp"
#include "host/core/device.hpp"

namespace {

void info_options(naqs::po::options_description&) {}

int info_run(const naqs::CommandContext&) {
  std::printf("naqs %s\n", NAQS_VERSION);
  std::printf("git commit      %s%s\n", naqs::git_commit(), naqs::git_dirty() ? " (dirty)" : "");
  std::printf("build type      %s (%s)\n", NAQS_BUILD_TYPE, NAQS_CXX_COMPILER);
  std::printf("CUDA            %s\n",
              NAQS_HAVE_CUDA ? "compiled in (architectures " NAQS_CUDA_ARCHITECTURES ")"
                             : "not compiled in");
  const int n = naqs::device_count();
  std::printf("CUDA devices    %d\n", n);
  for (int i = 0; i < n; ++i)
    std::printf("  cuda:%d        %s\n", i, naqs::device_name(naqs::Device::cuda(i)).c_str());
  std::printf("BLAS            OpenBLAS %s, %d threads\n", openblas_get_config(),
              openblas_get_num_threads());
  std::printf("OpenMP threads  %d\n", omp_get_max_threads());
  return 0;
}

}  // namespace

NAQS_COMMAND("info", "print version, build, devices, BLAS and OpenMP threads", info_options,
             info_run);
