// Model parameters for tests: TFIM and Heisenberg/XXZ (Pauli units, physics/hamiltonian.hpp).
#pragma once
#include "physics/hamiltonian.hpp"

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

}  // namespace naqs::testing
