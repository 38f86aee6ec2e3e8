// The VMC driver (DESIGN.md §5, §7): trains a wavefunction (a NAQS model or an RBM, through the
// Wavefunction base class) on a Hamiltonian with samples from a VmcSampler (exact i.i.d.
// autoregressive sampling or Metropolis chains, physics/vmc/sampling.hpp), writes traces,
// checkpoints and final observables with exact references.
//
// One step s (s = 0, 1, ...):
//   1. B = batch size of step s from the batch schedule ("128:200,1024:300,8192": 128 samples for
//      200 steps, then 1024 for 300, then 8192 to the end).
//   2. Samples: B samples from the sampler, in mini-batches of `minibatch` samples. Exact: global
//      samples 0..B-1 with Philox keyed by (seed, stream = s, index = sample * N + site).
//      Metropolis: the persistent chains continue (burn-in sweeps, then B / chains samples per
//      chain). Local energies E_loc of every mini-batch (physics/local_energy.hpp).
//   3. Statistics: E = mean Re E_loc, Var = mean |E_loc - E|^2, error sqrt(Var/B) for exact
//      samples; for Metropolis the chain-aware error of physics/vmc/observables.hpp
//      (estimate_chains: autocorrelation and chain-mean spread), plus the acceptance rate,
//      tau_int and split-R-hat of E_loc in the trace.
//   4. Gradient g = dE/dtheta = 2 Re <(E_loc - E)^* d log psi>: grad_log_psi with weights
//      2 (E_loc - E)/B per reduction block of the sampler's split (its mini-batch pieces in
//      order), the blocks added along the fixed tree of host/dist/reduce_blocks.hpp, so memory
//      is bounded and the sum is the same for any number of MPI ranks. For sr / minsr the per-sample gradients O (B,P) are collected instead and the
//      direction d solves (S + lambda I) d = g/2 (physics/optim/sr.hpp).
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
//
// Output (HDF5, docs/HDF5_LAYOUT.md): provenance on "/", /system, /model and /sampler attributes,
// /model/layout and /model/parameters (final), the /train trace (columns kTrainColumns),
// /observables trace when observe_every > 0, /results (final estimates, `<q>_mean`, `<q>_err`,
// relative errors `<q>_rel_err` against /exact; for Metropolis also `<q>_tau`, `<q>_r_hat`,
// `<q>_ess`, `acceptance` and the `warnings` text) and /exact (with `method`).
#pragma once
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "nn/lr_schedule.hpp"
#include "physics/hamiltonian.hpp"
#include "physics/vmc/config.hpp"
#include "physics/vmc/exact_reference.hpp"
#include "physics/vmc/observables.hpp"
#include "physics/vmc/sampling.hpp"
#include "physics/wavefunction.hpp"

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

struct VmcResult {
  int64_t steps_done = 0;
  int64_t first_step = 0;          // > 0 when resumed
  bool interrupted = false;        // stopped by a signal after writing a checkpoint
  int stop_signal = 0;
  std::vector<StepRecord> trace;   // the steps run by this invocation
  bool have_observables = false;
  VmcObservables observables;
  ExactReference exact;
  int64_t n_params = 0;
  double seconds = 0;
};

// The config with its preset (if any) applied: network, width, depth and kernel from
// naqs_conv2d_preset; UsageError if the lattice is not the preset's square. Idempotent; run_vmc
// and make_wavefunction apply it.
VmcConfig apply_preset(VmcConfig c);

// Builds the Hamiltonian and wavefunction from the config (exposed for tests): c.model picks
// make_naqs (the autoregressive models, network conv1d | conv2d) or make_rbm.
Hamiltonian make_hamiltonian(const VmcConfig& c);
// The run's configuration space: the configurations of total magnetisation c.magnetisation
// (--magnetisation; --sz-zero is 0), else all of them. The
// autoregressive model's constraint and the sampler use it (the exact reference solves H's
// ground-state sector: Sz = 0 whenever H conserves Sz and N is even).
SpinHilbert make_hilbert(const VmcConfig& c);
std::unique_ptr<Wavefunction> make_wavefunction(const VmcConfig& c);
std::unique_ptr<AutoregressiveWavefunction> make_naqs(const VmcConfig& c);
std::unique_ptr<Wavefunction> make_rbm(const VmcConfig& c);

// Runs (or resumes) the whole job. Throws UsageError for bad configs and refused checkpoints,
// Error for failures (non-finite energies included).
VmcResult run_vmc(const VmcConfig& config);

// The observables table printed at the end (VMC ± error, exact, relative error, deviation in
// error bars); also used by `naqs vmc`.
std::string observables_table(const VmcObservables& o, const ExactReference& exact, int n_sites);

}  // namespace naqs::vmc
