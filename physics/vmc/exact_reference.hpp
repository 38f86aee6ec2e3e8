// Exact references for a VMC run (printed and stored beside the VMC estimates):
//   - the periodic TFIM chain (even N, hz = 0): closed-form energy and <X> (Jordan-Wigner,
//     physics/ed/tfim_exact.hpp), any N;
//   - any system with N <= max_ed_sites: Lanczos ground state (physics/ed), in the Sz = 0
//     sector for Heisenberg (even N) and the even parity sector for the TFIM, with the
//     observables of physics/ed/observables.hpp (energy, <|m_z|>, <m_z^2>, <X>, <m_s^2>,
//     <Z_0 Z_r>). When both exist the closed form supplies E and <X> (exact to rounding) and
//     ED the rest; `method` says which ("jordan_wigner", "lanczos", "jordan_wigner+lanczos").
// Tests: tests/statistical/test_vmc_accuracy.cpp uses it against the closed form directly.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "host/core/device.hpp"
#include "physics/operator/hamiltonian.hpp"

namespace naqs::vmc {

struct ExactReference {
  std::string method;  // empty when nothing exact was computed
  std::optional<double> energy, x_mean, abs_mz, mz2, ms2;
  std::vector<double> zz_corr;  // (N) <Z_0 Z_r>, empty without ED
  std::string ed_sector;        // e.g. "parity even"
  double seconds = 0;
  bool any() const { return !method.empty(); }
};

// max_ed_sites <= 0 disables ED.
ExactReference exact_reference(const Hamiltonian& H, int max_ed_sites, const Device& ed_device);

}  // namespace naqs::vmc
