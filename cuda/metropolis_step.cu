// CUDA twin of the Metropolis step (host/ops/metropolis_step.hpp): one thread per chain
// (grid-stride: grid_for caps the grid, so beyond ~5.4e8 chains a thread takes several), calling
// the same NAQS_HD per-chain functions as the CPU reference (host/ops/metropolis_step.cpp).
// Parity: tests/op_cases/metropolis_step.cpp (bitwise equal).
#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "host/ops/metropolis_step.hpp"

namespace naqs::ops::detail {
namespace {

template <class T>
__global__ void metropolis_propose_kernel(const T* sigma, int64_t n_chains, int32_t n_sites,
                                          const int32_t* bonds, int32_t n_bonds,
                                          MetropolisStepSpec spec, int32_t* move_a,
                                          int32_t* move_b) {
  NAQS_GRID_STRIDE(c, n_chains) {
    metropolis_propose_one<T>(spec.seed, spec.first_chain + static_cast<uint64_t>(c), spec.step,
                              static_cast<int32_t>(spec.rule), spec.p_global, sigma + c * n_sites,
                              n_sites, bonds, n_bonds, move_a[c], move_b[c]);
  }
}

template <class T>
__global__ void metropolis_accept_kernel(T* sigma, int64_t n_chains, int32_t n_sites,
                                         const T* d_re, const int32_t* move_a,
                                         const int32_t* move_b, MetropolisStepSpec spec,
                                         int32_t* accepted) {
  NAQS_GRID_STRIDE(c, n_chains) {
    const uint64_t chain = spec.first_chain + static_cast<uint64_t>(c);
    accepted[c] = metropolis_accept_one<T>(spec.seed, chain, spec.step,
                                           static_cast<double>(d_re[c]), move_a[c], move_b[c],
                                           sigma + c * n_sites, n_sites);
  }
}

}  // namespace

void metropolis_propose_cuda(const void* sigma, DType dtype, int64_t n_chains, int32_t n_sites,
                             const int32_t* bonds, int32_t n_bonds,
                             const MetropolisStepSpec& spec, int32_t* move_a, int32_t* move_b) {
  if (n_chains == 0) return;
  dispatch_float(dtype, "metropolis_propose", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n_chains), 256, 0, metropolis_propose_kernel<T>)(
        static_cast<const T*>(sigma), n_chains, n_sites, bonds, n_bonds, spec, move_a, move_b);
  });
}

void metropolis_accept_cuda(void* sigma, DType dtype, int64_t n_chains, int32_t n_sites,
                            const void* d_re, const int32_t* move_a, const int32_t* move_b,
                            const MetropolisStepSpec& spec, int32_t* accepted) {
  if (n_chains == 0) return;
  dispatch_float(dtype, "metropolis_accept", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n_chains), 256, 0, metropolis_accept_kernel<T>)(
        static_cast<T*>(sigma), n_chains, n_sites, static_cast<const T*>(d_re), move_a, move_b,
        spec, accepted);
  });
}

}  // namespace naqs::ops::detail
