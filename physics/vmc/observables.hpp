// Observables of an autoregressive wavefunction from exact i.i.d. samples (DESIGN.md §1, §5),
// each with its standard error sqrt(Var / n) (the samples are independent, so there is no
// autocorrelation to correct for). Pauli units; per-site quantities as in DESIGN.md §1:
//   energy          E = <E_loc>, and its sample variance Var = <|E_loc - E|^2>
//                   (error of Var from the fourth central moment: sqrt((m4 - Var^2) / n))
//   energy_per_site E / N;  vscore = N Var / E^2 (Wu et al., Science 2024)
//   abs_mz, mz2     <|m_z|>, <m_z^2>, m_z = sum_i Z_i / N (diagonal: from the samples)
//   x_mean          <X> = sum_i <X_i> / N, estimated per sample as
//                   (1/N) sum_i Re psi(sigma with i flipped) / psi(sigma) through the same
//                   connected-states primitive as the local energies (a Hamiltonian sum_i X_i)
//   ms2             staggered <m_s^2>, m_s = sum_i (-1)^(x_i + y_i) Z_i / N
//   zz_corr[r]      <Z_0 Z_r> for every site r (C(0) = 1), as ED's observables
// Randomness: the sampler's (seed, stream, global index) keying; the caller picks a stream that
// training never uses (kObservableStream + k).
// Tests: tests/unit/test_vmc_observables.cpp (estimators vs full enumeration of |psi|^2 on a
// small chain: exact expectations from the same model within 4 error bars, and the per-sample
// formulas on hand-made configurations).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "physics/hamiltonian.hpp"
#include "physics/wavefunction.hpp"

namespace naqs::vmc {

inline constexpr uint64_t kObservableStream = uint64_t{1} << 48;

struct Estimate {
  double mean = 0, err = 0;
};

// Mean and standard error of values (n >= 2 for an error; n = 1 gives err 0).
Estimate estimate(const std::vector<double>& values);

struct VmcObservables {
  int64_t n_samples = 0;
  Estimate energy, energy_imag, energy_var, energy_per_site, vscore;
  Estimate abs_mz, mz2, x_mean, ms2;
  std::vector<Estimate> zz_corr;  // (N)
};

struct ObservableOptions {
  int64_t n_samples = 16384;
  int64_t batch_size = 4096;       // samples evaluated together (results do not depend on it)
  uint64_t seed = 0;
  uint64_t stream = kObservableStream;
  std::size_t memory_cap_bytes = std::size_t{512} << 20;
};

VmcObservables measure_observables(AutoregressiveWavefunction& psi, const Hamiltonian& H,
                                   const ObservableOptions& options);

// Per-sample diagonal observables of one ±1 configuration (exposed for tests).
struct DiagonalSample {
  double mz, ms;
};
DiagonalSample diagonal_sample(const Lattice& lattice, const double* sigma);

}  // namespace naqs::vmc
