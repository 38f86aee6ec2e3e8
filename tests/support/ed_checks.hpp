// ED check shared by the unit and slow tiers: the periodic TFIM chain against its closed form
// (physics/ed/tfim_exact.hpp). Errors: E relative 1e-10, <X> relative 1e-9 (the Lanczos
// residual is <= 1e-12 relative, and <X> is first order in the vector error).
#pragma once
#include <gtest/gtest.h>

#include <cmath>

#include "physics/ed/ed_solver.hpp"
#include "physics/ed/tfim_exact.hpp"

namespace naqs::testing {

inline void expect_tfim_chain_matches_closed_form(int n, double h) {
  ModelParams p;
  p.J = 1;
  p.h = h;
  ed::EdSolution s =
      ed::solve_ground_state(Hamiltonian(Lattice::chain(n, true), p), SpinHilbert::full(n),
                             Device::cpu());
  const double e = tfim_chain_energy(n, 1, h), x = tfim_chain_x_mean(n, 1, h);
  EXPECT_NEAR(s.lanczos.energy, e, 1e-10 * std::abs(e)) << "N=" << n << " h=" << h;
  EXPECT_NEAR(s.observables.x_mean, x, 1e-9 * std::abs(x)) << "N=" << n << " h=" << h;
  EXPECT_LE(s.lanczos.residual, 1e-12) << "N=" << n << " h=" << h;
}

}  // namespace naqs::testing
