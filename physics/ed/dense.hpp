// The dense Hamiltonian matrix of a sector, assembled row by row from the spin operator's
// primitive (Hamiltonian::connections), independently of the sector-specific fast matvec
// kernels that ED's Lanczos uses, for cross-checks on small systems (N <= 12 in the CLI, any
// dim up to a few thousand in tests). Eigenvalues: dense_eigen (lanczos.hpp, dsyev).
// Tests: tests/unit/test_ed.cpp.
#pragma once
#include <vector>

#include "physics/ed/ed_operator.hpp"
#include "physics/operator/hamiltonian.hpp"

namespace naqs::ed {

// (dim, dim) row-major, dim = basis.dim() (Error when dim > 8192).
std::vector<double> dense_matrix(const Hamiltonian& H, const EdBasis& basis);

}  // namespace naqs::ed
