// The samplers of the VMC driver (DESIGN.md §5): one interface, two implementations.
//
//   ExactSampler       exact i.i.d. ancestral sampling of an autoregressive wavefunction
//                      (physics/sampler/autoregressive.hpp). Draw k of a run uses Philox keyed by
//                      (seed, stream, index = sample * N + site): a sample depends only on
//                      (seed, stream, global index) and the parameters. No state to checkpoint.
//   MetropolisVmcSampler  Metropolis chains (physics/sampler/metropolis.hpp) over any Wavefunction.
//                      The chains persist across draws (training steps and observable
//                      measurements): every draw re-reads log psi at the new parameters, runs
//                      `burn_in` sweeps, then takes n / n_chains samples per chain,
//                      `sweeps_between` sweeps apart. Rows are CHAIN-major (row c * (n / n_chains)
//                      + s is sample s of chain c): a group of chains has consecutive rows.
//                      Its state (chain configurations (C,N) and the Philox step counter) goes
//                      into checkpoints, so a resumed run continues the same chains bit for bit.
//                      The stream argument is ignored: the step counter already makes every
//                      proposal's randomness unique.
//
// MPI ranks (host/dist/reduce_blocks.hpp): a sampler belongs to a communicator, and split(n)
// is the fixed cut of n samples into reduction blocks and whole blocks per rank; draw() draws
// this rank's rows only, in the chunks split(n).my_chunks(minibatch). Exact: a block is a range of
// global samples (dist::default_blocks), each drawn with its global index, so the samples are
// the one-rank samples. Metropolis: a block is a group of chains, min(C, dist::kMaxBlocks)
// groups fixed for the run (the batch size does not move chains between ranks); a rank runs only
// its own chains, each with its global chain index as Philox stream, so every chain moves as it
// would in a one-rank run. The acceptance rate is summed over all ranks; state_tensors() gathers
// every rank's chains in global order (collective), set_state() takes the full (C,N) state and
// keeps this rank's chains. More ranks than chain groups is a UsageError.
//
// Keys: the exact sampler uses the run's seed (as before Metropolis existed); the Metropolis
// chains use seed + kMetropolisSeedOffset, so they never share a Philox key with the model's
// initialisation (which draws from the run's seed).
// make_sampler picks the implementation: "exact" needs an AutoregressiveWavefunction (UsageError
// otherwise); "metropolis" uses single flips, or Sz-conserving exchanges over the lattice bonds
// when the run is constrained to Sz = 0 (starting from random Sz = 0 states), optionally mixed
// with global flips.
// Tests: tests/unit/test_vmc_sampling.cpp (exact draws equal sample_autoregressive, Metropolis
// state round trip, chunks, errors, short driver runs over RBM and NAQS, diagnostics in the
// output), tests/statistical/test_vmc_metropolis.cpp (RBM + SR accuracy), test_vmc_resume.cpp
// (bitwise resume of a Metropolis run), tests/cluster/test_mpi_vmc.cpp (1 vs 2 ranks, exact and
// Metropolis, bitwise).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "host/dist/reduce_blocks.hpp"
#include "physics/hilbert/hilbert.hpp"
#include "physics/models/autoregressive_wavefunction.hpp"
#include "physics/operator/hamiltonian.hpp"
#include "physics/sampler/metropolis.hpp"

namespace naqs::vmc {

inline constexpr uint64_t kMetropolisSeedOffset = 0x9E3779B97F4A7C15ull;

// This rank's samples of one draw, in chunks of at most `minibatch` rows (views of one buffer for
// Metropolis). sigma[k] (b_k,N), log_re[k], log_im[k] (b_k): log psi of the rows; rows[k]: their
// global rows (consecutive chunks of this rank's range split(n).my_rows()).
struct SampleSet {
  std::vector<Tensor> sigma, log_re, log_im;
  std::vector<dist::Slice> rows;
  int64_t n_samples = 0;    // all ranks together
  int64_t n_chains = 0;     // 0: independent samples; > 0: rows c * (n_samples / n_chains) + s
  double acceptance = 0;    // Metropolis acceptance rate of this draw over every chain (burn-in
                            // included)
};

// auto: exact for autoregressive models, else metropolis (names: physics/vmc/config.hpp).
enum class SamplerKind { automatic, exact, metropolis };

struct SamplerSettings {
  SamplerKind kind = SamplerKind::automatic;
  int64_t n_chains = 16;
  int64_t burn_in = 10;         // sweeps at the start of every draw
  int64_t sweeps_between = 1;   // sweeps between consecutive samples of a chain
  double p_global = 0.0;        // probability of a global-flip proposal per step
  uint64_t seed = 0;
};

class VmcSampler {
 public:
  explicit VmcSampler(dist::Communicator& comm) : comm_(comm) {}
  virtual ~VmcSampler() = default;
  virtual const char* kind() const = 0;  // "exact" | "metropolis"
  virtual int64_t n_chains() const { return 0; }
  dist::Communicator& comm() const { return comm_; }
  // UsageError (naming `what`) unless n samples can be drawn (Metropolis: a multiple of the
  // chain count).
  virtual void check_sample_count(int64_t n, const std::string& what) const;
  // The reduction blocks of n samples and this rank's share (see the header comment).
  virtual dist::SampleSplit split(int64_t n) const;
  // This rank's rows of n samples (collective over comm()).
  virtual void draw(int64_t n, uint64_t stream, int64_t minibatch, SampleSet& out) = 0;
  // Checkpoint state: named tensors (allocated with their final shapes) and one counter.
  // Collective over comm(): every rank must call it.
  virtual std::vector<std::pair<std::string, Tensor>> state_tensors() const { return {}; }
  virtual uint64_t state_counter() const { return 0; }
  virtual void set_state(const std::vector<std::pair<std::string, Tensor>>& tensors,
                         uint64_t counter);
  virtual std::string str() const = 0;  // one-line description for the log

 private:
  dist::Communicator& comm_;
};

class ExactSampler final : public VmcSampler {
 public:
  ExactSampler(AutoregressiveWavefunction& psi, uint64_t seed,
               dist::Communicator& comm = dist::serial())
      : VmcSampler(comm), psi_(psi), seed_(seed) {}
  const char* kind() const override { return "exact"; }
  void draw(int64_t n, uint64_t stream, int64_t minibatch, SampleSet& out) override;
  std::string str() const override { return "exact autoregressive sampling"; }

 private:
  AutoregressiveWavefunction& psi_;
  uint64_t seed_;
};

class MetropolisVmcSampler final : public VmcSampler {
 public:
  // config.n_chains: all chains of all ranks (config.first_chain must be 0).
  MetropolisVmcSampler(Wavefunction& psi, MetropolisConfig config,
                       dist::Communicator& comm = dist::serial());
  const char* kind() const override { return "metropolis"; }
  int64_t n_chains() const override { return n_chains_; }
  void check_sample_count(int64_t n, const std::string& what) const override;
  dist::SampleSplit split(int64_t n) const override;
  void draw(int64_t n, uint64_t stream, int64_t minibatch, SampleSet& out) override;
  std::vector<std::pair<std::string, Tensor>> state_tensors() const override;
  uint64_t state_counter() const override { return sampler_.step_count(); }
  void set_state(const std::vector<std::pair<std::string, Tensor>>& tensors,
                 uint64_t counter) override;
  std::string str() const override;
  const MetropolisSampler& chains() const { return sampler_; }  // this rank's chains

 private:
  int64_t n_chains_, n_blocks_;  // all chains; chain groups (reduction blocks)
  MetropolisSampler sampler_;
};

// automatic -> exact for autoregressive models, metropolis otherwise; other kinds unchanged.
SamplerKind resolve_sampler_kind(SamplerKind kind, bool autoregressive);

// The sampler of a run: see the header comment. psi, H and comm must outlive it. `hilbert` is
// the space the samples live in: with a fixed magnetisation, Metropolis uses Sz-conserving
// exchange moves over H's bonds from initial states in the space, and an exact sampler needs the
// model constrained to the same space (UsageError otherwise).
std::unique_ptr<VmcSampler> make_sampler(const SamplerSettings& settings, Wavefunction& psi,
                                         const Hamiltonian& H, const SpinHilbert& hilbert,
                                         dist::Communicator& comm = dist::serial());

}  // namespace naqs::vmc
