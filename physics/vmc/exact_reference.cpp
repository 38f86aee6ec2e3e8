#include "physics/vmc/exact_reference.hpp"

#include <chrono>

#include "physics/ed/ed_solver.hpp"
#include "physics/ed/tfim_exact.hpp"

namespace naqs::vmc {

ExactReference exact_reference(const Hamiltonian& H, int max_ed_sites, const Device& ed_device) {
  const auto t0 = std::chrono::steady_clock::now();
  ExactReference ref;
  const Lattice& lat = H.lattice();
  const ModelParams& p = H.params();
  const int n = H.n_sites();
  const bool closed = p.model == Model::tfim &&
                      tfim_closed_form_applies(lat.kind() == LatticeKind::chain,
                                               lat.periodic_x(), n, p.J, p.hz);
  if (closed) {
    ref.method = "jordan_wigner";
    ref.energy = tfim_chain_energy(n, p.J, p.h);
    ref.x_mean = tfim_chain_x_mean(n, p.J, p.h);
  }
  if (max_ed_sites > 0 && n <= max_ed_sites) {
    // Sz conserved: the ground state's sector, total Sz = 0 (N even)
    const SpinHilbert sector = H.conserves_sz() && n % 2 == 0
                                   ? SpinHilbert::with_magnetisation(n, 0)
                                   : SpinHilbert::full(n);
    const ed::EdSolution sol = ed::solve_ground_state(H, sector, ed_device);
    const ed::EdObservables& o = sol.observables;
    ref.method = closed ? "jordan_wigner+lanczos" : "lanczos";
    if (!closed) {
      ref.energy = o.energy;
      ref.x_mean = o.x_mean;
    }
    ref.abs_mz = o.abs_mz;
    ref.mz2 = o.mz2;
    ref.ms2 = o.ms2;
    ref.zz_corr = o.zz_corr;
    ref.ed_sector = sol.sector;
  }
  ref.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return ref;
}

}  // namespace naqs::vmc
