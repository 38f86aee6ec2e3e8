// Model parameters for tests: TFIM and Heisenberg/XXZ (Pauli units,
// physics/operator/hamiltonian.hpp).
#pragma once
#include "physics/hilbert/hilbert.hpp"
#include "physics/operator/hamiltonian.hpp"

namespace naqs::testing {

inline ModelParams tfim(double J, double h, double hz = 0) {
  ModelParams p;
  p.model = Model::tfim;
  p.J = J;
  p.h = h;
  p.hz = hz;
  return p;
}

inline ModelParams heis(double J, double delta, bool marshall = false) {
  ModelParams p;
  p.model = Model::heisenberg;
  p.J = J;
  p.h = 0;
  p.Delta = delta;
  p.marshall = marshall;
  return p;
}

// The space of an ED test case: n_down < 0 = all configurations, else the Sz sector with n_down
// spins down (Σσ = N − 2 n_down).
inline SpinHilbert sector(const Hamiltonian& H, int n_down) {
  const int n = H.n_sites();
  return n_down < 0 ? SpinHilbert::full(n) : SpinHilbert::with_magnetisation(n, n - 2 * n_down);
}

}  // namespace naqs::testing
