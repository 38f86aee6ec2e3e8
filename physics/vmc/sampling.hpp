// The samplers of the VMC driver (DESIGN.md §5): one interface, two implementations.
//
//   ExactSampler       exact i.i.d. ancestral sampling of an autoregressive wavefunction
//                      (physics/sampler.hpp). Draw k of a run uses Philox keyed by
//                      (seed, stream, index = sample * N + site): a sample depends only on
//                      (seed, stream, global index) and the parameters. No state to checkpoint.
//   MetropolisVmcSampler  Metropolis chains (physics/metropolis.hpp) over any Wavefunction.
//                      The chains persist across draws (training steps and observable
//                      measurements): every draw re-reads log psi at the new parameters, runs
//                      `burn_in` sweeps, then takes n / n_chains samples per chain, `sweeps_between`
//                      sweeps apart. Rows are sample-major (row s * n_chains + c is sample s of
//                      chain c), the layout physics/mcmc_diagnostics.hpp expects. Its state (chain
//                      configurations (C,N) and the Philox step counter) goes into checkpoints, so
//                      a resumed run continues the same chains bit for bit. The stream argument is
//                      ignored: the step counter already makes every proposal's randomness unique.
//
// Keys: the exact sampler uses the run's seed (as before Metropolis existed); the Metropolis
// chains use seed + kMetropolisSeedOffset, so they never share a Philox key with the model's
// initialisation (which draws from the run's seed).
// make_sampler picks the implementation: "exact" needs an AutoregressiveWavefunction (UsageError
// otherwise); "metropolis" uses single flips, or Sz-conserving exchanges over the lattice bonds
// when the run is constrained to Sz = 0 (starting from random Sz = 0 states), optionally mixed
// with global flips.
// Tests: tests/unit/test_vmc_sampling.cpp (exact draws equal sample_autoregressive, Metropolis
// state round trip, errors, short driver runs over RBM and NAQS, diagnostics in the output),
// tests/statistical/test_vmc_metropolis.cpp (RBM + SR accuracy), test_vmc_resume.cpp (bitwise
// resume of a Metropolis run).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "physics/hamiltonian.hpp"
#include "physics/metropolis.hpp"
#include "physics/wavefunction.hpp"

namespace naqs::vmc {

inline constexpr uint64_t kMetropolisSeedOffset = 0x9E3779B97F4A7C15ull;

// The samples of one draw, in mini-batches of at most `minibatch` rows (views of one buffer for
// Metropolis). sigma[k] (b_k,N), log_re[k], log_im[k] (b_k): log psi of the rows.
struct SampleSet {
  std::vector<Tensor> sigma, log_re, log_im;
  int64_t n_samples = 0;
  int64_t n_chains = 0;     // 0: independent samples; > 0: rows s * n_chains + c
  double acceptance = 0;    // Metropolis acceptance rate of this draw (burn-in included)
};

struct SamplerSettings {
  std::string kind = "auto";  // auto (exact for autoregressive models, else metropolis) | exact
                              // | metropolis
  int64_t n_chains = 16;
  int64_t burn_in = 10;         // sweeps at the start of every draw
  int64_t sweeps_between = 1;   // sweeps between consecutive samples of a chain
  double p_global = 0.0;        // probability of a global-flip proposal per step
  uint64_t seed = 0;
};

class VmcSampler {
 public:
  virtual ~VmcSampler() = default;
  virtual const char* kind() const = 0;  // "exact" | "metropolis"
  virtual int64_t n_chains() const { return 0; }
  // UsageError (naming `what`) unless n samples can be drawn (Metropolis: a multiple of the
  // chain count).
  virtual void check_sample_count(int64_t n, const std::string& what) const;
  virtual void draw(int64_t n, uint64_t stream, int64_t minibatch, SampleSet& out) = 0;
  // Rows [first, first + count) of the n rows draw(n, ...) gives: one MPI rank's share
  // (host/dist/comm.hpp). The exact sampler draws exactly those global samples; the default
  // refuses anything but the whole range (Metropolis chains are not split over ranks yet).
  virtual void draw_range(int64_t n, int64_t first, int64_t count, uint64_t stream,
                          int64_t minibatch, SampleSet& out);
  // Checkpoint state: named tensors (allocated with their final shapes) and one counter.
  virtual std::vector<std::pair<std::string, Tensor>> state_tensors() const { return {}; }
  virtual uint64_t state_counter() const { return 0; }
  virtual void set_state(const std::vector<std::pair<std::string, Tensor>>& tensors,
                         uint64_t counter);
  virtual std::string str() const = 0;  // one-line description for the log
};

class ExactSampler final : public VmcSampler {
 public:
  ExactSampler(AutoregressiveWavefunction& psi, uint64_t seed) : psi_(psi), seed_(seed) {}
  const char* kind() const override { return "exact"; }
  void draw(int64_t n, uint64_t stream, int64_t minibatch, SampleSet& out) override;
  void draw_range(int64_t n, int64_t first, int64_t count, uint64_t stream, int64_t minibatch,
                  SampleSet& out) override;
  std::string str() const override { return "exact autoregressive sampling"; }

 private:
  AutoregressiveWavefunction& psi_;
  uint64_t seed_;
};

class MetropolisVmcSampler final : public VmcSampler {
 public:
  MetropolisVmcSampler(Wavefunction& psi, MetropolisConfig config);
  const char* kind() const override { return "metropolis"; }
  int64_t n_chains() const override { return sampler_.config().n_chains; }
  void check_sample_count(int64_t n, const std::string& what) const override;
  void draw(int64_t n, uint64_t stream, int64_t minibatch, SampleSet& out) override;
  std::vector<std::pair<std::string, Tensor>> state_tensors() const override;
  uint64_t state_counter() const override { return sampler_.step_count(); }
  void set_state(const std::vector<std::pair<std::string, Tensor>>& tensors,
                 uint64_t counter) override;
  std::string str() const override;
  const MetropolisSampler& chains() const { return sampler_; }

 private:
  MetropolisSampler sampler_;
};

// "auto" -> "exact" for autoregressive models, "metropolis" otherwise; other kinds unchanged.
std::string resolve_sampler_kind(const std::string& kind, bool autoregressive);

// The sampler of a run: see the header comment. psi and H must outlive it.
std::unique_ptr<VmcSampler> make_sampler(const SamplerSettings& settings, Wavefunction& psi,
                                         const Hamiltonian& H, bool sz_zero);

}  // namespace naqs::vmc
