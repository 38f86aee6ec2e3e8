// Observables of a wavefunction from the samples of a VmcSampler (DESIGN.md §1, §5), each with an
// error bar. Exact i.i.d. samples: the standard error sqrt(Var / n). Metropolis chains
// (physics/sampler/mcmc_diagnostics.hpp): per observable the integrated autocorrelation time tau,
// split-R-hat and ESS = n / tau; the error is the largest of sqrt(Var / ESS), the i.i.d. error
// sqrt(Var / n) (a tau < 1 from short chains is estimator noise) and the spread of the chain
// means, sd(chain means) / sqrt(C) (the last stays honest when chains do not mix, e.g. when each
// is stuck in one ferromagnetic sector and tau within a chain looks small). A warning
// names every observable with R-hat > 1.1 or ESS < kMinEss. Pauli units; per-site quantities as
// in DESIGN.md §1:
//   energy          E = <E_loc>, and its sample variance Var = <|E_loc - E|^2>
//                   (error of Var from the fourth central moment: sqrt((m4 - Var^2) / n))
//   energy_per_site E / N;  vscore = N Var / E^2 (Wu et al., Science 2024)
//   mz, abs_mz, mz2 <m_z>, <|m_z|>, <m_z^2>, m_z = sum_i Z_i / N (diagonal: from the samples)
//   x_mean          <X> = sum_i <X_i> / N, estimated per sample as
//                   (1/N) sum_i Re psi(sigma with i flipped) / psi(sigma) through the same
//                   connected-states primitive as the local energies (a Hamiltonian sum_i X_i)
//   ms2             staggered <m_s^2>, m_s = sum_i (-1)^(x_i + y_i) Z_i / N
//   zz_corr[r]      <Z_0 Z_r> for every site r (C(0) = 1), as ED's observables
// Randomness: the exact sampler's (seed, stream, global index) keying (the caller picks a stream
// that training never uses, kObservableStream + k); Metropolis continues its chains.
// Tests: tests/unit/test_vmc_observables.cpp (estimators vs full enumeration of |psi|^2 on a
// small chain: exact expectations from the same model within 4 error bars, and the per-sample
// formulas on hand-made configurations).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "physics/models/autoregressive_wavefunction.hpp"
#include "physics/operator/hamiltonian.hpp"
#include "physics/sampler/mcmc_diagnostics.hpp"
#include "physics/sampler/sampler.hpp"

namespace naqs::vmc {

inline constexpr uint64_t kObservableStream = uint64_t{1} << 48;

struct Estimate {
  double mean = 0, err = 0;
};

// Mean and standard error of values (n >= 2 for an error; n = 1 gives err 0).
Estimate estimate(const std::vector<double>& values);

// Effective sample size below which an observable gets a warning.
inline constexpr double kMinEss = 100.0;

// Mean and error of values from n_chains chains, CHAIN-major as the VMC samplers give them
// (values[c * n + s] is sample s of chain c, n = values.size() / n_chains); n_chains = 0:
// independent samples (estimate()). summary (may be null) receives the chain diagnostics.
Estimate estimate_chains(const std::vector<double>& values, int64_t n_chains,
                         ChainSummary* summary = nullptr);

struct VmcObservables {
  int64_t n_samples = 0;
  std::string sampler = "exact";  // kind of the sampler that drew the samples
  int64_t n_chains = 0;           // 0 for exact samples
  double acceptance = 0;          // Metropolis acceptance rate of the draw
  Estimate energy, energy_imag, energy_var, energy_per_site, vscore;
  Estimate mz, abs_mz, mz2, x_mean, ms2;
  std::vector<Estimate> zz_corr;  // (N)
  // Metropolis only: diagnostics of (energy, mz, abs_mz, mz2, x, ms2), in that order, and one
  // line per observable with R-hat > kRHatWarn or ESS < kMinEss.
  std::vector<std::pair<std::string, ChainSummary>> diagnostics;
  std::vector<std::string> warnings;
};

struct ObservableOptions {
  int64_t n_samples = 16384;
  int64_t batch_size = 4096;       // samples evaluated together (results do not depend on it)
  uint64_t seed = 0;
  uint64_t stream = kObservableStream;
  std::size_t memory_cap_bytes = std::size_t{512} << 20;
  // Polled between mini-batches (single process only); when it returns true the measurement
  // stops by throwing MeasurementStopped (a stop signal during the final measurement).
  std::function<bool()> should_stop;
};

// Thrown by measure_observables when should_stop() asked it to stop; not an error.
struct MeasurementStopped {};

// Draws options.n_samples samples with `sampler` (stream options.stream; options.seed unused)
// and estimates every observable. With a sampler over several MPI ranks (collective): each rank
// draws its rows, the per-sample values are gathered in global order, and every rank returns the
// same estimates.
VmcObservables measure_observables(Wavefunction& psi, const Hamiltonian& H, VmcSampler& sampler,
                                   const ObservableOptions& options);
// Exact sampling of an autoregressive wavefunction keyed by (options.seed, options.stream).
VmcObservables measure_observables(AutoregressiveWavefunction& psi, const Hamiltonian& H,
                                   const ObservableOptions& options);

// Per-sample diagonal observables of one ±1 configuration (exposed for tests).
struct DiagonalSample {
  double mz, ms;
};
DiagonalSample diagonal_sample(const Lattice& lattice, const double* sigma);

}  // namespace naqs::vmc
