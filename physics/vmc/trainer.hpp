// The VMC training step (DESIGN.md §5): `Trainer` holds everything of one training run that
// lives across steps (Hamiltonian, wavefunction, sampler, schedules, optimiser) and runs one step
// at a time; the run loop is physics/vmc/driver.hpp.
//
// One step s (s = 0, 1, ...):
//   1. B = batch size of step s from the batch schedule ("128:200,1024:300,8192": 128 samples for
//      200 steps, then 1024 for 300, then 8192 to the end).
//   2. Samples: B samples from the sampler, in mini-batches of `minibatch` samples. Exact: global
//      samples 0..B-1 with Philox keyed by (seed, stream = s, index = sample * N + site).
//      Metropolis: the persistent chains continue (burn-in sweeps, then B / chains samples per
//      chain). Local energies E_loc of every mini-batch (physics/operator/local_energy.hpp).
//   3. Statistics: E = mean Re E_loc, Var = mean |E_loc - E|^2, error sqrt(Var/B) for exact
//      samples; for Metropolis the chain-aware error of physics/vmc/observables.hpp
//      (estimate_chains: autocorrelation and chain-mean spread), plus the acceptance rate,
//      tau_int and split-R-hat of E_loc in the trace.
//   4. Gradient g = dE/dtheta = 2 Re <(E_loc - E)^* d log psi>: grad_log_psi with weights
//      2 (E_loc - E)/B per reduction block of the sampler's split (its mini-batch pieces in
//      order), the blocks added along the fixed tree of host/dist/reduce_blocks.hpp, so memory
//      is bounded and the sum is the same for any number of MPI ranks. For sr / minsr the
//      per-sample gradients O (B,P) are collected instead and the direction d solves
//      (S + lambda I) d = g/2 (physics/optim/sr.hpp).
//   5. Non-finite energies or gradient: stop with an Error (exit 1) naming the step; the last good
//      checkpoint is kept untouched.
//   6. Update theta <- theta - lr(s) * (Adam/SGD of g, or d for sr/minsr); trace row appended and
//      flushed; checkpoint every `checkpoint_every` steps, at the end, and when SIGTERM/SIGUSR1/
//      SIGINT arrived during the step (then the run returns with `interrupted`; `naqs vmc` exits
//      with status 3).
// Because the randomness is keyed by (seed, step, sample) (exact) or by (seed, chain, Metropolis
// step counter) and the state in the checkpoint is complete (parameters, optimiser moments and
// counter, step, Metropolis chain states and step counter), a resumed run repeats exactly what
// the uninterrupted run would have done: bitwise on the CPU with the same thread count (tested by
// tests/statistical/test_vmc_resume.cpp, which SIGKILLs `naqs vmc` mid-run).
#pragma once
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "host/dist/comm.hpp"
#include "nn/lr_schedule.hpp"
#include "physics/vmc/checkpoint.hpp"
#include "physics/vmc/config.hpp"

namespace naqs::vmc {

struct StepRecord {
  int64_t step = 0, batch_size = 0;
  double lr = 0, energy_mean = 0, energy_err = 0, energy_var = 0, energy_imag = 0;
  double grad_norm = 0, sr_residual = 0, seconds = 0;
  int sr_iterations = 0;
  // Metropolis only (NaN for exact samples): acceptance rate of the step's draw, tau_int and
  // split-R-hat of Re E_loc over the chains.
  double acceptance = std::numeric_limits<double>::quiet_NaN();
  double energy_tau = std::numeric_limits<double>::quiet_NaN();
  double energy_r_hat = std::numeric_limits<double>::quiet_NaN();
};

// Everything of one training run that lives across steps.
class Trainer {
 public:
  explicit Trainer(const VmcConfig& c);

  const Hamiltonian& hamiltonian() const { return H_; }
  Wavefunction& psi() { return *psi_; }
  VmcSampler& sampler() { return *sampler_; }
  const BatchSchedule& schedule() const { return schedule_; }
  nn::Optimizer& optimizer() { return *optimizer_; }

  // The run's state after `step` steps (collective with MPI ranks: gathers the chains).
  CheckpointState checkpoint_state(int64_t step);
  // Restores parameters and optimiser state and `run_id`; returns the step to continue from.
  int64_t restore(const std::string& path);

  // Step s (the header comment): samples, statistics, gradient, update.
  StepRecord step(int64_t s);

  std::string run_id;  // the run identity's random part (host/io/ownership.hpp)

 private:
  dist::Communicator& comm_ = dist::world();  // before sampler_, which keeps it
  VmcConfig c_;
  Hamiltonian H_;
  std::unique_ptr<Wavefunction> psi_;
  std::unique_ptr<VmcSampler> sampler_;
  BatchSchedule schedule_;
  nn::LrSchedule lr_;
  std::unique_ptr<nn::Optimizer> optimizer_;
  Tensor grad_;
};

}  // namespace naqs::vmc
