// CUDA twin of ed_matvec_cpu (physics/ed/ed_operator.cpp): y = H x in one ED sector, one
// thread per output row, grid-stride loop. The row formula is ops::ed_row (host/ops/ed_matvec.hpp,
// the spin operator's primitive), shared with the CPU. Parity test:
// tests/gpu/test_ed_matvec_gpu.cpp.
#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "host/ops/ed_matvec.hpp"

namespace naqs::ops::detail {

namespace {

template <int Kind>
__global__ void ed_matvec_kernel(const SpinOperatorView terms, const EdSectorView sector,
                                 const double* __restrict__ x, double* __restrict__ y) {
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < sector.dim; i += stride) {
    const uint64_t s = ed_state<Kind>(sector, i);
    y[i] = ed_row<Kind>(terms, sector, s, i, x);
  }
}

}  // namespace

void ed_matvec_cuda(const SpinOperatorView& terms, const EdSectorView& sector, const double* x,
                    double* y) {
  constexpr int kBlock = 256;
  const unsigned grid = cuda_rt::grid_for(sector.dim, kBlock);
  switch (sector.kind) {
    case kEdFull:
      NAQS_LAUNCH(grid, kBlock, 0, ed_matvec_kernel<kEdFull>)(terms, sector, x, y);
      break;
    case kEdParity:
      NAQS_LAUNCH(grid, kBlock, 0, ed_matvec_kernel<kEdParity>)(terms, sector, x, y);
      break;
    default:
      NAQS_LAUNCH(grid, kBlock, 0, ed_matvec_kernel<kEdSz>)(terms, sector, x, y);
      break;
  }
  NAQS_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace naqs::ops::detail
