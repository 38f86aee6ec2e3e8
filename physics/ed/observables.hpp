// Ground-state observables from an ED vector ψ in a sector basis (DESIGN.md §1), per site:
//   m_z = Σ_i Z_i / N:  <|m_z|>, <m_z²>, <m_z⁴>, Binder ratio U = 1 − <m⁴>/(3<m²>²)
//   <X> = Σ_i <X_i> / N (0 in an Sz sector, where X leaves the sector)
//   staggered m_s = Σ_i (−1)^{x_i+y_i} Z_i / N: <m_s²>
//   C(r) = <Z_0 Z_r> for every site r (C(0) = 1)
// In the parity sector ψ_r stands for (|r> ± |~r>)/√2, so Z-diagonal quantities that are even
// under a global flip are Σ_r ψ_r² f(r). Sums use fixed blocks (thread-count independent).
// Tests: tests/unit/test_ed.cpp (full vs sector, closed-form <X>).
#pragma once
#include <vector>

#include "physics/ed/ed_operator.hpp"
#include "physics/operator/hamiltonian.hpp"

namespace naqs::ed {

struct EdObservables {
  double energy = 0;           // Pauli units
  double energy_per_site = 0;  // Pauli units
  double abs_mz = 0, mz2 = 0, mz4 = 0, binder = 0;
  double x_mean = 0;
  double ms2 = 0;
  std::vector<double> zz_corr;  // (N,) C(r) = <Z_0 Z_r>
};

// psi is (basis.dim(),), normalised; energy is the Lanczos energy (stored as is).
EdObservables measure(const Hamiltonian& H, const EdBasis& basis, const std::vector<double>& psi,
                      double energy);

}  // namespace naqs::ed
