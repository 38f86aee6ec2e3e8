// Lattice symmetry groups as site-permutation tables (with an optional global spin flip), for
// the symmetrised wavefunction (physics/models/symmetric_wavefunction.hpp).
//
// An element g acts on a configuration by (g sigma)_i = f * sigma_{perm[i]}, f = -1 when the
// element flips every spin, +1 otherwise. Composition: (g h) sigma = g (h sigma) has
// perm_{gh}[i] = perm_h[perm_g[i]] and flip_{gh} = flip_g xor flip_h. A group is built as the
// closure of its generators under composition, so it is always a group (contains the identity,
// inverses and products) with each element listed once; element 0 is the identity.
//
// SymmetryGroup::of_lattice generators (every one maps the lattice's bonds onto its bonds, so a
// Hamiltonian on the lattice is invariant; tests/unit/test_symmetry.cpp checks this):
//   - translations by one site along every periodic direction (chain: Z_L; square: Z_Lx x Z_Ly)
//   - point group: chain: the reflection x -> L-1-x; square: reflections x -> Lx-1-x and
//     y -> Ly-1-y, plus the diagonal reflection (x,y) -> (y,x) when Lx == Ly and both directions
//     have the same boundary (giving D4, else D2)
//   - global spin flip (Z2) when asked (TFIM at zero longitudinal field; Heisenberg)
// So an open L x L square gets D4 (8 elements; x Z2 = 16), a periodic one D4 x translations
// (8 L^2; x Z2).
// Tests: tests/unit/test_symmetry.cpp (group axioms, sizes, bonds preserved).
#pragma once
#include <cstdint>
#include <vector>

#include "physics/lattice/lattice.hpp"

namespace naqs {

struct SymmetryElement {
  std::vector<int32_t> perm;  // (N): (g sigma)_i = sigma_{perm[i]} (times -1 when flip)
  bool flip = false;
};

class SymmetryGroup {
 public:
  // Closure of the generators (each a permutation of 0..n_sites-1; UsageError otherwise).
  static SymmetryGroup generate(int64_t n_sites, const std::vector<SymmetryElement>& generators);
  // The trivial group {identity}.
  static SymmetryGroup trivial(int64_t n_sites);
  // The lattice group described above; point_group / translations / spin_flip select the parts.
  static SymmetryGroup of_lattice(const Lattice& lattice, bool translations = true,
                                  bool point_group = true, bool spin_flip = false);

  int64_t n_sites() const { return n_sites_; }
  int64_t size() const { return static_cast<int64_t>(elements_.size()); }
  const SymmetryElement& element(int64_t g) const { return elements_[static_cast<std::size_t>(g)]; }
  bool has_flip() const;  // some element flips the spins

  // out (batch,N) = g applied to every row of sigma (batch,N); host arrays, row-major.
  void apply(int64_t g, const double* sigma, double* out, int64_t batch) const;

 private:
  int64_t n_sites_ = 0;
  std::vector<SymmetryElement> elements_;
};

}  // namespace naqs
