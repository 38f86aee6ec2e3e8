// One ED ground-state solve: pick the sector, check memory, run Lanczos with the on-the-fly
// operator, measure observables. Used by `naqs ed`, the tests and the benchmark.
#pragma once
#include <cstdint>
#include <string>

#include "host/core/device.hpp"
#include "physics/ed/ed_operator.hpp"
#include "physics/ed/lanczos.hpp"
#include "physics/ed/observables.hpp"
#include "physics/operator/hamiltonian.hpp"

namespace naqs::ed {

struct EdSolution {
  std::string sector;        // EdBasis::str()
  int64_t dim = 0;
  LanczosResult lanczos;     // energy, vector, iterations, residual, stop criterion
  EdObservables observables;
  double seconds = 0;        // wall time of the solve (Lanczos + observables)
};

// Lanczos vectors held at once (lanczos.hpp: v_prev, v, w, ψ).
constexpr int kEdVectors = 4;

// Bytes a solve needs on the host (and, for CUDA, two vectors plus tables on the device).
int64_t ed_solve_bytes(const Hamiltonian& H, const SpinHilbert& hilbert);

// The ground state of H in `hilbert` (the sector of make_basis). UsageError when memory will not
// suffice.
EdSolution solve_ground_state(const Hamiltonian& H, const SpinHilbert& hilbert,
                              const Device& device,
                              const LanczosOptions& opts = {}, bool keep_vector = false);

}  // namespace naqs::ed
