// Metropolis sampling of |psi|^2 with many parallel chains, for any Wavefunction
// (physics/models/wavefunction.hpp).
//
// Moves: single-spin flips (TFIM), Sz-conserving exchange of the two spins of a random bond
// (Heisenberg; bonds from Lattice::bonds()), optionally mixed with global spin flips (probability
// p_global per step). One step = one proposal per chain; one sweep = n_sites steps.
// Per step: ops::metropolis_propose (Philox stream = chain, index = step), the wavefunction's
// log-psi ratios of the proposals (fast updates where the model has them), ops::metropolis_accept
// (CPU reference / CUDA kernel), ratio_update. The chain states therefore depend only on (seed,
// chain index, step), not on thread count or device (up to the rounding of the log-ratios).
// Initial states: independent per chain from Philox (stream = chain, indices from 2^62): random
// +-1 spins, or, when a magnetisation is given (required for exchange moves), a uniformly random
// configuration with sum_i sigma_i = magnetisation.
//
// Tests: tests/statistical/test_metropolis_stats.cpp (histograms vs exact |psi|^2, chi-square,
// fixed seeds), tests/unit/test_metropolis.cpp (Sz conservation, determinism, errors),
// tests/gpu/test_parity_rbm.cpp (a whole RBM run, CUDA vs CPU), tests/op_cases/metropolis_step.cpp.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "host/ops/metropolis_step.hpp"
#include "physics/models/wavefunction.hpp"

namespace naqs {

struct MetropolisConfig {
  int64_t n_chains = 16;
  int64_t first_chain = 0;  // global index of chain 0 (its Philox stream): an MPI rank runs
                            // chains [first_chain, first_chain + n_chains) of a larger set
  ops::MoveRule rule = ops::MoveRule::flip;
  double p_global = 0.0;               // global spin-flip proposals per step, in [0, 1)
  int64_t n_burn_in_sweeps = 100;       // before the first sample of sample()
  int64_t n_sweeps_between = 1;         // sweeps between consecutive samples of one chain
  uint64_t seed = 0;
  std::vector<std::pair<int, int>> bonds;  // exchange moves: nearest-neighbour bonds (i, j)
  std::optional<int64_t> magnetisation;    // sum_i sigma_i of the initial states
};

ops::MoveRule parse_move_rule(const std::string& s);  // "flip" | "exchange"; UsageError otherwise
const char* move_rule_name(ops::MoveRule r);

class MetropolisSampler {
 public:
  // psi must outlive the sampler. UsageError for inconsistent configs.
  MetropolisSampler(Wavefunction& psi, MetropolisConfig config);

  // Fresh initial states (see above) and step counter 0.
  void reset();
  // Re-reads log psi of the current states (call after the parameters changed).
  void rebind();
  // Continues from saved chain states sigma (C,N) and step counter (checkpoints): the chains
  // then proceed exactly as the saved sampler would have.
  void set_state(const Tensor& sigma, uint64_t step_count);
  void step();
  void sweep();
  // burn-in (config.n_burn_in_sweeps, after rebind()), then n_per_chain samples per chain with
  // n_sweeps_between sweeps before each: samples (n_per_chain * n_chains, N), row s*C + c is
  // sample s of chain c. log_re / log_im (same rows) are log psi of the samples.
  void sample(int64_t n_per_chain, Tensor& samples, Tensor& log_re, Tensor& log_im);

  const Tensor& state() const { return sigma_; }  // (C,N)
  const MetropolisConfig& config() const { return config_; }
  uint64_t step_count() const { return step_; }
  int64_t n_proposed() const { return n_proposed_; }
  int64_t n_accepted() const { return n_accepted_; }
  double acceptance_rate() const;  // accepted / proposed since reset() or reset_counters()
  void reset_counters();

 private:
  Wavefunction& psi_;
  MetropolisConfig config_;
  Tensor sigma_, bonds_, move_a_, move_b_, d_re_, d_im_, accepted_;
  uint64_t step_ = 0;
  int64_t n_proposed_ = 0, n_accepted_ = 0;
};

}  // namespace naqs
