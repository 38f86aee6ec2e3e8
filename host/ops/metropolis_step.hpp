// The Metropolis propose/accept step over many parallel chains (used by
// physics/sampler/metropolis.hpp).
//
// Randomness: chain c at step t uses ONE Philox block philox_block(seed, stream = c, index = t)
// (host/core/philox.hpp; c = spec.first_chain + row, the global chain index): w0 decides a global
// flip (uniform f32 < p_global), w1 picks the site or bond (floor(w1 * n / 2^32)), w2/w3 give the
// acceptance uniform u = 1 - uniform_f64 in (0,1]. So results depend only on (seed, chain, step),
// not on thread count or device. Moves (see physics/models/wavefunction.hpp): (a, b) i32 per chain;
// flip: (k, -1); exchange on bond (i, j): (i, j) if sigma_i != sigma_j else (-1, -1) (no move,
// ratio 1); global: (-2, -1).
// Acceptance: accept iff hd_log(u) <= 2 Re[log psi(sigma') - log psi(sigma)], i.e. with
// probability min(1, |psi(sigma')/psi(sigma)|^2); hd_log is the bitwise-deterministic log of
// philox.hpp, so CPU and CUDA accept identically given identical log-ratios.
//
//   metropolis_propose: sigma (C,N) f32/f64, bonds (n_bonds,2) i32 (exchange only; may be
//                       undefined for flips) -> move_a, move_b (C) i32.
//   metropolis_accept:  sigma (C,N) updated in place, d_re (C) sigma's dtype, move_a/b (C) i32
//                       -> accepted (C) i32 (1 where the move was applied).
// CPU reference: host/ops/metropolis_step.cpp; CUDA twin: cuda/metropolis_step.cu (one thread per
// chain; both call the NAQS_HD functions below). Tests: tests/unit/test_metropolis.cpp
// (moves, Sz conservation), tests/op_cases/metropolis_step.cpp (bitwise equal moves,
// decisions and states: the step is integer/bit logic on identical inputs).
#pragma once
#include <cstdint>

#include "host/core/hd.hpp"
#include "host/core/philox.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ops {

inline constexpr int32_t kMoveGlobalFlip = -2;
enum class MoveRule : int32_t { flip = 0, exchange = 1 };

struct MetropolisStepSpec {
  MoveRule rule = MoveRule::flip;
  double p_global = 0.0;  // probability of proposing a global spin flip instead
  uint64_t seed = 0;
  uint64_t step = 0;      // Philox index
  uint64_t first_chain = 0;  // row c is chain first_chain + c (Philox stream): an MPI rank's
                             // rows are its slice of the global chains
};

void metropolis_propose(const Tensor& sigma, const Tensor& bonds, const MetropolisStepSpec& spec,
                        Tensor& move_a, Tensor& move_b);
void metropolis_accept(Tensor& sigma, const Tensor& d_re, const Tensor& move_a,
                       const Tensor& move_b, const MetropolisStepSpec& spec, Tensor& accepted);

// ---- per-chain logic shared by the CPU reference and the CUDA kernels ----------------------
NAQS_HD uint32_t scale_u32(uint32_t w, uint32_t n) {
  return static_cast<uint32_t>((static_cast<uint64_t>(w) * n) >> 32);
}

template <class T>
NAQS_HD void metropolis_propose_one(uint64_t seed, uint64_t chain, uint64_t step, int32_t rule,
                                    double p_global, const T* sigma_row, int32_t n_sites,
                                    const int32_t* bonds, int32_t n_bonds, int32_t& a,
                                    int32_t& b) {
  const PhiloxBlock r = philox_block(seed, chain, step);
  b = -1;
  if (p_global > 0 && static_cast<double>(uniform_f32_from(r.w[0])) < p_global) {
    a = kMoveGlobalFlip;
    return;
  }
  if (rule == static_cast<int32_t>(MoveRule::flip)) {
    a = static_cast<int32_t>(scale_u32(r.w[1], static_cast<uint32_t>(n_sites)));
    return;
  }
  const int32_t k = static_cast<int32_t>(scale_u32(r.w[1], static_cast<uint32_t>(n_bonds)));
  const int32_t i = bonds[2 * k], j = bonds[2 * k + 1];
  if (sigma_row[i] != sigma_row[j]) {
    a = i;
    b = j;
  } else {
    a = -1;
  }
}

template <class T>
NAQS_HD int32_t metropolis_accept_one(uint64_t seed, uint64_t chain, uint64_t step, double d_re,
                                      int32_t a, int32_t b, T* sigma_row, int32_t n_sites) {
  const PhiloxBlock r = philox_block(seed, chain, step);
  const double u = 1.0 - uniform_f64_from(r.w[2], r.w[3]);  // (0, 1]
  if (!(hd_log(u) <= 2.0 * d_re)) return 0;
  if (a == kMoveGlobalFlip) {
    for (int32_t i = 0; i < n_sites; ++i) sigma_row[i] = -sigma_row[i];
  } else {
    if (a >= 0) sigma_row[a] = -sigma_row[a];
    if (b >= 0) sigma_row[b] = -sigma_row[b];
  }
  return 1;
}

namespace detail {
void metropolis_propose_cuda(const void* sigma, DType dtype, int64_t n_chains, int32_t n_sites,
                             const int32_t* bonds, int32_t n_bonds,
                             const MetropolisStepSpec& spec, int32_t* move_a, int32_t* move_b);
void metropolis_accept_cuda(void* sigma, DType dtype, int64_t n_chains, int32_t n_sites,
                            const void* d_re, const int32_t* move_a, const int32_t* move_b,
                            const MetropolisStepSpec& spec, int32_t* accepted);
}  // namespace detail

}  // namespace naqs::ops
