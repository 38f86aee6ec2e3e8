// ED ground-state driver (see ed_solver.hpp).
#include "physics/ed/ed_solver.hpp"

#include <chrono>

#include "host/core/error.hpp"

namespace naqs::ed {

namespace {

// Dimension and table bytes of the sector make_basis would build, without building it.
int64_t sector_dim(const Hamiltonian& H, const SpinHilbert& hilbert, std::size_t& table_bytes) {
  const int n = H.n_sites();
  NAQS_REQUIRE(n <= kEdMaxSites, "exact diagonalisation handles at most ", kEdMaxSites,
               " sites, and ", H.lattice().str(), " has ", n);
  table_bytes = 0;
  if (hilbert.constrained()) {
    NAQS_REQUIRE(H.conserves_sz(), "a fixed magnetisation (", hilbert.str(), ") for ", H.str(),
                 ", which does not conserve Sz");
    const int n_lo = n / 2;
    table_bytes = (int64_t{1} << (n - n_lo)) * 8 + (int64_t{1} << n_lo) * 8;
    return EdBasis::sz_dimension(n, static_cast<int>(hilbert.n_down()));
  }
  if (H.params().model == Model::tfim && H.has_flip_symmetry()) return int64_t{1} << (n - 1);
  return int64_t{1} << n;
}

}  // namespace

int64_t ed_solve_bytes(const Hamiltonian& H, const SpinHilbert& hilbert) {
  std::size_t tables = 0;
  const int64_t dim = sector_dim(H, hilbert, tables);
  return ed_memory_bytes(dim, kEdVectors, tables);
}

EdSolution solve_ground_state(const Hamiltonian& H, const SpinHilbert& hilbert,
                              const Device& device, const LanczosOptions& opts,
                              bool keep_vector) {
  std::size_t tables = 0;
  const int64_t dim = sector_dim(H, hilbert, tables);
  const std::string what = cat("exact diagonalisation of ", H.str(), " (dimension ", dim, ")");
  require_memory(ed_memory_bytes(dim, kEdVectors, tables), Device::cpu(), what);
  if (device.is_cuda()) require_memory(ed_memory_bytes(dim, 2, tables), device, what);
  const auto t0 = std::chrono::steady_clock::now();
  EdBasis basis = make_basis(H, hilbert);
  EdOperator op(H, basis, device);
  EdSolution sol;
  sol.sector = basis.str();
  sol.dim = basis.dim();
  sol.lanczos = lanczos_ground_state(
      basis.dim(), [&](const double* x, double* y) { op.apply(x, y); }, opts);
  sol.observables = measure(H, basis, sol.lanczos.vector, sol.lanczos.energy);
  if (!keep_vector) std::vector<double>().swap(sol.lanczos.vector);
  sol.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sol;
}

}  // namespace naqs::ed
