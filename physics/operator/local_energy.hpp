// Local energies of any wavefunction (physics/models/wavefunction.hpp; NAQS models, the RBM):
//     E_loc(sigma) = sum_sigma' H_{sigma sigma'} psi(sigma') / psi(sigma)
//                  = H_{sigma sigma} + sum_{sigma' != sigma} H_{sigma sigma'}
//                    exp(log psi(sigma') - log psi(sigma))
// for any Hamiltonian of physics/operator/hamiltonian.hpp (TFIM, Heisenberg/XXZ with or without the
// Marshall sign, chains and squares, periodic or open), through its compiled spin operator
// (Hamiltonian::op(), host/ops/spin_operator.hpp), the same operator and primitive ED's rows use.
//
// Batching and memory: samples are processed in groups; all connected configurations of a group
// go through ONE forward pass of the model. The group size is chosen so that the connected
// configurations of the group (each: the configuration, its connection row and element, its
// log psi and the model's activations, Wavefunction::forward_bytes_per_sample()) fit in
// memory_cap_bytes; a group has at least one sample. The result does not depend on the cap
// (tested).
//
// Complex values are (re, im) pairs: log psi = log_re + i log_im, E_loc = eloc_re + i eloc_im.
// Everything runs on the model's device through naqs::ops (host/ops/connected.hpp: connection
// counts, one scan, the connection list, the connected configurations, the combination), so a
// CUDA run copies one integer (the group's connection count) to the host per group.
// Test: tests/unit/test_local_energy.cpp (equals <sigma|H|psi>/psi(sigma) from the dense H of the
// same description to 1e-10 in float64, every model/boundary/sign option, capped and uncapped).
#pragma once
#include <cstddef>

#include "host/ops/connected.hpp"
#include "physics/models/autoregressive_wavefunction.hpp"
#include "physics/operator/hamiltonian.hpp"

namespace naqs {

struct LocalEnergyOptions {
  std::size_t memory_cap_bytes = std::size_t{512} << 20;  // 512 MiB per forward group
};

// sigma (B,N) +1/-1 on the model's device; log_re, log_im (B): log psi(sigma) as returned by
// log_psi() or the sampler; eloc_re, eloc_im (B) outputs on the model's device.
void local_energy(Wavefunction& psi, const Hamiltonian& hamiltonian,
                  const Tensor& sigma, const Tensor& log_re, const Tensor& log_im,
                  Tensor& eloc_re, Tensor& eloc_im, const LocalEnergyOptions& options = {});

// Number of samples per group under the options (exposed for tests and benchmarks).
int64_t local_energy_group_size(const Wavefunction& psi,
                                const Hamiltonian& hamiltonian,
                                const LocalEnergyOptions& options);

}  // namespace naqs
