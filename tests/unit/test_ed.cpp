// Exact diagonalisation: the fast matvec vs dense matrices from the operator's primitive, Lanczos
// vs dense LAPACK, sectors vs the full space, the closed-form TFIM chain (energy, <X>,
// Hellmann–Feynman), the 4x4 Heisenberg reference, hand-computed observables, memory refusal.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "host/core/error.hpp"
#include "physics/ed/dense.hpp"
#include "physics/ed/ed_solver.hpp"
#include "tests/support/ed_checks.hpp"
#include "tests/support/models.hpp"
#include "physics/ed/tfim_exact.hpp"

namespace naqs::ed {
namespace {

using naqs::testing::expect_tfim_chain_matches_closed_form;
using naqs::testing::heis;
using naqs::testing::sector;
using naqs::testing::tfim;

struct Case {
  Hamiltonian H;
  int n_down;  // −1: no Sz sector
};

// Small systems covering both models, chains and squares, all boundary kinds, hz, Δ, Marshall.
std::vector<Case> small_cases() {
  return {
      {Hamiltonian(Lattice::chain(8, true), tfim(1, 0.5)), -1},
      {Hamiltonian(Lattice::chain(9, false), tfim(1, 1.3)), -1},
      {Hamiltonian(Lattice::chain(8, true), tfim(0.8, 1.1, 0.3)), -1},
      {Hamiltonian(Lattice::square(3, 3, true, true), tfim(1, 2.5)), -1},
      {Hamiltonian(Lattice::square(4, 2, true, false), tfim(1, 3, -0.2)), -1},
      {Hamiltonian(Lattice::chain(10, true), heis(1, 1)), 5},
      {Hamiltonian(Lattice::chain(10, true), heis(1, 1, true)), 5},
      {Hamiltonian(Lattice::chain(9, true), heis(1, 0.5)), 4},
      {Hamiltonian(Lattice::chain(8, false), heis(-1, 2)), 3},
      {Hamiltonian(Lattice::square(4, 2, true, false), heis(1, 1.5, true)), 4},
      {Hamiltonian(Lattice::square(3, 3, false, false), heis(1, 1)), -1},
  };
}

double lowest_dense(const Hamiltonian& H, const EdBasis& basis) {
  return dense_eigen(dense_matrix(H, basis), basis.dim())[0];
}

TEST(Ed, MatvecMatchesDenseMatrixFromPrimitive) {
  std::mt19937_64 gen(11);
  std::uniform_real_distribution<double> u(-1, 1);
  for (const Case& c : small_cases()) {
    for (int variant = 0; variant < 2; ++variant) {  // the solver's sector, then full space
      EdBasis basis = variant == 0 ? make_basis(c.H, sector(c.H, c.n_down))
                                   : EdBasis::full(c.H.n_sites());
      const int64_t dim = basis.dim();
      std::vector<double> a = dense_matrix(c.H, basis), x(dim), y(dim);
      for (auto& v : x) v = u(gen);
      EdOperator op(c.H, basis);
      op.apply(x.data(), y.data());
      for (int64_t i = 0; i < dim; ++i) {
        double ref = 0, mag = 0;
        for (int64_t j = 0; j < dim; ++j) {
          ref += a[i * dim + j] * x[j];
          mag += std::abs(a[i * dim + j] * x[j]);
        }
        // Same terms summed in a different order: rounding only, relative to Σ|a x|.
        ASSERT_NEAR(y[i], ref, 1e-13 * (mag + 1)) << c.H.str() << " " << basis.str() << " row " << i;
      }
    }
  }
}

// The fast CPU paths (cache-blocked TFIM; grouped Sz sector) against the per-row reference
// formula (ops::ed_row, the CUDA twin's), on systems large enough that flips reach beyond one
// block (the TFIM block is 2^11 states) and exchanges cross the Lin tables' low/high split.
// Both sum the same float64 terms of size <= |diag| + Σ|coef| in other orders, so they differ
// by rounding only: tolerance 1e-12 relative to that row bound (observed ~1e-16).
TEST(Ed, FastMatvecMatchesReferenceRows) {
  std::mt19937_64 gen(5);
  std::uniform_real_distribution<double> u(-1, 1);
  const std::vector<Case> cases = {
      {Hamiltonian(Lattice::chain(15, true), tfim(1, 0.7)), -1},             // parity 2^14
      {Hamiltonian(Lattice::chain(14, false), tfim(0.9, 1.3, 0.4)), -1},     // full 2^14, hz
      {Hamiltonian(Lattice::square(4, 4, true, true), tfim(1, 3.04)), -1},   // parity 2^15
      {Hamiltonian(Lattice::square(3, 4, false, true), tfim(-1, 2, 0.1)), -1},  // full 2^12
      {Hamiltonian(Lattice::chain(3, true), tfim(1, 0.5)), -1},              // parity dim 4
      {Hamiltonian(Lattice::chain(2, false), tfim(1, 0.5)), -1},             // parity dim 2
      {Hamiltonian(Lattice::chain(1, false), tfim(1, 0.5, 0.2)), -1},        // full dim 2
      {Hamiltonian(Lattice::chain(16, true), heis(1, 1)), 8},
      {Hamiltonian(Lattice::chain(15, false), heis(1, 0.4, true)), 6},
      {Hamiltonian(Lattice::square(4, 4, true, true), heis(1, 1, true)), 8},
      {Hamiltonian(Lattice::square(5, 3, true, false), heis(-1, 2)), 7},
      {Hamiltonian(Lattice::chain(13, true), heis(1, 1)), 0},                // dim 1
      {Hamiltonian(Lattice::chain(12, true), heis(1, 1)), -1},               // full space
  };
  for (const Case& c : cases) {
    const EdBasis basis = make_basis(c.H, sector(c.H, c.n_down));
    // |row| <= Σ_k |coef_k| for |x| <= 1: the diagonal terms and the connections together.
    const ops::SpinOperatorView terms = c.H.op().view();
    double bound = 0;
    for (int32_t k = 0; k < terms.n_zz + terms.n_z + terms.n_flip + terms.n_exch; ++k)
      bound += std::abs(terms.coef[k]);
    const int64_t dim = basis.dim();
    std::vector<double> x(dim), fast(dim, std::nan("")), ref(dim, std::nan(""));
    for (auto& v : x) v = u(gen);
    ed_matvec_cpu(terms, basis.view(), x.data(), fast.data());
    ed_matvec_reference_cpu(terms, basis.view(), x.data(), ref.data());
    double worst = 0;
    for (int64_t i = 0; i < dim; ++i) worst = std::max(worst, std::abs(fast[i] - ref[i]));
    EXPECT_LE(worst, 1e-12 * bound) << c.H.str() << " " << basis.str();  // NaN fails too
    EXPECT_TRUE(std::all_of(fast.begin(), fast.end(), [](double v) { return std::isfinite(v); }))
        << c.H.str();
  }
}

TEST(Ed, LanczosMatchesDenseLapack) {
  for (const Case& c : small_cases()) {
    EdBasis basis = make_basis(c.H, sector(c.H, c.n_down));
    const double e_dense = lowest_dense(c.H, basis);
    EdSolution sol = solve_ground_state(c.H, sector(c.H, c.n_down), Device::cpu());
    EXPECT_TRUE(sol.lanczos.converged) << c.H.str() << ": " << sol.lanczos.stop_criterion;
    EXPECT_LE(sol.lanczos.residual, 1e-12) << c.H.str();
    // Both are float64 eigen-solvers of the same matrix: agreement to ~1e-13 relative.
    EXPECT_NEAR(sol.lanczos.energy, e_dense, 1e-11 * std::abs(e_dense)) << c.H.str();
  }
}

TEST(Ed, SectorsMatchFullSpace) {
  // TFIM without hz: the even parity sector holds the ground state of the full space.
  for (double h : {0.3, 1.0, 2.0}) {
    Hamiltonian H(Lattice::chain(10, true), tfim(1, h));
    const double e_full = lowest_dense(H, EdBasis::full(10));
    const double e_even = solve_ground_state(H, sector(H, -1), Device::cpu()).lanczos.energy;
    EXPECT_NEAR(e_even, e_full, 1e-11 * std::abs(e_full)) << "h = " << h;
    // The odd sector lies above (by ~ (h/J)^N in the ordered phase).
    const double e_odd = lowest_dense(H, EdBasis::parity(10, -1));
    EXPECT_GT(e_odd, e_even - 1e-12);
  }
  // Heisenberg: the lowest over all Sz sectors is the full-space ground state; the full-space
  // Lanczos (no sector) finds it too.
  for (const Hamiltonian& H : {Hamiltonian(Lattice::chain(9, true), heis(1, 0.7)),
                               Hamiltonian(Lattice::square(4, 2, true, false), heis(1, 1, true))}) {
    const int n = H.n_sites();
    const double e_full = lowest_dense(H, EdBasis::full(n));
    double e_min = 1e300;
    for (int k = 0; k <= n; ++k)
      e_min = std::min(e_min,
                       solve_ground_state(H, sector(H, k), Device::cpu()).lanczos.energy);
    EXPECT_NEAR(e_min, e_full, 1e-11 * std::abs(e_full)) << H.str();
    EXPECT_NEAR(solve_ground_state(H, sector(H, -1), Device::cpu()).lanczos.energy, e_full,
                1e-11 * std::abs(e_full)) << H.str();
  }
}

TEST(Ed, ObservablesSectorMatchFullSpace) {
  // Disordered side (h = 1.5), so the full-space Lanczos is not troubled by a tiny gap.
  Hamiltonian H(Lattice::chain(8, true), tfim(1, 1.5));
  EdBasis full = EdBasis::full(8);
  EdOperator op(H, full);
  LanczosResult r = lanczos_ground_state(full.dim(), [&](const double* x, double* y) { op.apply(x, y); });
  EdObservables a = measure(H, full, r.vector, r.energy);
  EdObservables b = solve_ground_state(H, sector(H, -1), Device::cpu()).observables;
  // Observables are first order in the vector error (residual <= 1e-12): 1e-10 is ample.
  EXPECT_NEAR(a.abs_mz, b.abs_mz, 1e-10);
  EXPECT_NEAR(a.mz2, b.mz2, 1e-10);
  EXPECT_NEAR(a.binder, b.binder, 1e-9);
  EXPECT_NEAR(a.x_mean, b.x_mean, 1e-10);
  EXPECT_NEAR(a.ms2, b.ms2, 1e-10);
  for (int r2 = 0; r2 < 8; ++r2) EXPECT_NEAR(a.zz_corr[r2], b.zz_corr[r2], 1e-10);
  EXPECT_DOUBLE_EQ(b.zz_corr[0], b.zz_corr[0]);
  EXPECT_NEAR(b.zz_corr[0], 1.0, 1e-12);
  EXPECT_NEAR(b.zz_corr[1], b.zz_corr[7], 1e-10);  // reflection symmetry of the ring
}

TEST(Ed, ObservablesHandComputed) {
  // Two free spins in a field (J = 0, h = 1, open): ground state |→→>. m = (Z0+Z1)/2 takes
  // 1, 0, 0, −1 with probability ¼ each: <|m|> = ½, <m²> = ½, <m⁴> = ½, Binder 1 − ½/(3·¼) = ⅓,
  // <X> = 1, C(1) = 0, staggered <m_s²> = ½, E = −2.
  Hamiltonian H(Lattice::chain(2, false), tfim(0, 1));
  EdSolution s = solve_ground_state(H, sector(H, -1), Device::cpu());
  EXPECT_NEAR(s.observables.energy, -2, 1e-13);
  EXPECT_NEAR(s.observables.energy_per_site, -1, 1e-13);
  EXPECT_NEAR(s.observables.abs_mz, 0.5, 1e-13);
  EXPECT_NEAR(s.observables.mz2, 0.5, 1e-13);
  EXPECT_NEAR(s.observables.mz4, 0.5, 1e-13);
  EXPECT_NEAR(s.observables.binder, 1.0 / 3, 1e-13);
  EXPECT_NEAR(s.observables.x_mean, 1.0, 1e-13);
  EXPECT_NEAR(s.observables.ms2, 0.5, 1e-13);
  EXPECT_NEAR(s.observables.zz_corr[1], 0.0, 1e-13);
  // Néel-like check: the 2-site Heisenberg singlet has C(1) = −1, <m_s²> = 1, <m_z²> = 0.
  EdSolution t = solve_ground_state(Hamiltonian(Lattice::chain(2, false), heis(1, 1)),
                                    SpinHilbert::with_magnetisation(2, 0), Device::cpu());
  EXPECT_NEAR(t.observables.energy, -3, 1e-13);
  EXPECT_NEAR(t.observables.zz_corr[1], -1, 1e-13);
  EXPECT_NEAR(t.observables.ms2, 1, 1e-13);
  EXPECT_NEAR(t.observables.mz2, 0, 1e-13);
  EXPECT_EQ(t.observables.x_mean, 0.0);
}

// ED vs the closed form (DESIGN.md §1). Errors: E relative 1e-10, <X> relative 1e-9.
// N = 20 is in tests/slow/test_ed_slow.cpp.
TEST(Ed, TfimChainMatchesClosedForm) {
  for (int n : {8, 12, 16})
    for (double h : {0.5, 1.0, 2.0}) expect_tfim_chain_matches_closed_form(n, h);
}

// <X> = −(1/N) dE0/dh from a five-point central difference of ED energies (step 1e-3:
// truncation ~δ⁴ ≈ 1e-12, rounding ~1e-16·|E|/δ ≈ 1e-12 relative): agreement to 1e-8.
TEST(Ed, HellmannFeynman) {
  const int n = 12;
  for (double h : {0.5, 1.0, 2.0}) {
    auto energy = [&](double hh) {
      return solve_ground_state(Hamiltonian(Lattice::chain(n, true), tfim(1, hh)),
                                SpinHilbert::full(n), Device::cpu()).lanczos.energy;
    };
    const double d = 1e-3;
    const double de = (-energy(h + 2 * d) + 8 * energy(h + d) - 8 * energy(h - d) +
                       energy(h - 2 * d)) / (12 * d);
    const double x = solve_ground_state(Hamiltonian(Lattice::chain(n, true), tfim(1, h)),
                                        SpinHilbert::full(n), Device::cpu()).observables.x_mean;
    EXPECT_NEAR(x, -de / n, 1e-8 * std::abs(x)) << "h = " << h;
  }
}

TEST(Ed, Heisenberg4x4Periodic) {
  // Reference (DESIGN.md §1): −11.2284832084 in S·S units = −44.9139328337 in Pauli units.
  for (bool marshall : {false, true}) {
    Hamiltonian H(Lattice::square(4, 4, true, true), heis(1, 1, marshall));
    EdSolution s = solve_ground_state(H, sector(H, 8), Device::cpu());
    EXPECT_NEAR(s.lanczos.energy, -44.9139328337, 2e-10);  // the reference's last digit
    EXPECT_NEAR(s.lanczos.energy / 4, -11.2284832084, 1e-10);
  }
}

TEST(Ed, LanczosOnTinyAndInvariantSpaces) {
  // dim 1 (all spins down in an Sz sector) and dim 2: Krylov space exhausted at once.
  Hamiltonian H(Lattice::chain(4, true), heis(1, 1));
  EdSolution s = solve_ground_state(H, sector(H, 0), Device::cpu());
  EXPECT_EQ(s.dim, 1);
  EXPECT_NEAR(s.lanczos.energy, 4.0, 1e-14);  // ferromagnetic state: 4 bonds of ZZ = +1
  EXPECT_TRUE(s.lanczos.converged);
}

TEST(Ed, MemoryEstimateRefusesTooLarge) {
  EXPECT_GT(memory_available_bytes(), 0);
  try {
    require_memory(int64_t{1} << 60, Device::cpu(), "test problem");
    FAIL() << "no UsageError";
  } catch (const UsageError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("1152921504606846976 bytes"), std::string::npos) << m;
    EXPECT_NE(m.find("available"), std::string::npos) << m;
  }
  // A 40-site full space needs 2^40 * 8 * 4 bytes: refused before anything is allocated.
  Hamiltonian H(Lattice::chain(40, true), tfim(1, 1, 0.1));
  EXPECT_THROW(solve_ground_state(H, sector(H, -1), Device::cpu()), UsageError);
  EXPECT_THROW(solve_ground_state(Hamiltonian(Lattice::chain(41, true), tfim(1, 1)),
                                  SpinHilbert::full(41), Device::cpu()), UsageError);
}

}  // namespace
}  // namespace naqs::ed
