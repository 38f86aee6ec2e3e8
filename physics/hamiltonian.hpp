// The one Hamiltonian description shared by exact diagonalisation and the VMC local energies
// (DESIGN.md §1 and §5). Pauli units throughout:
//   TFIM        H = -J Σ_<ij> Z_i Z_j - h Σ_i X_i - hz Σ_i Z_i
//   Heisenberg  H =  J Σ_<ij> (X_i X_j + Y_i Y_j + Δ Z_i Z_j)     (S·S units: ¼ of this)
// Spins σ_i = ±1 (Z eigenvalue); packed form: bit i of a uint64 = site i, set bit = σ_i = −1.
//
// A model is compiled once into four term lists, and everything else is derived from them:
//   zz_terms       coef · Z_i Z_j                      (diagonal)
//   z_terms        coef · Z_i                          (diagonal)
//   flip_terms     coef · X_i: element coef to σ with site i flipped
//   exchange_terms coef · (σ⁺_i σ⁻_j + σ⁻_i σ⁺_j): element coef to σ with i and j flipped,
//                  nonzero only when σ_i ≠ σ_j. J (X_i X_j + Y_i Y_j) has coef = 2J, and with
//                  the Marshall sign rule (a rotation by Z on one sublattice, bipartite lattices
//                  only) coef = −2J, which makes the ground state positive.
// The "connected states" primitive comes in two forms built from these lists: for a ±1 spin
// array of any length (int8_t*, for VMC with N > 64), and for a packed uint64 (N <= 64, for ED).
// Batched local energies use the same lists on the model's device (naqs::spin_terms in
// physics/local_energy.hpp -> host/ops/connected.hpp).
// PackedTerms groups the same terms into bit masks for ED's matrix-vector product, so ED and VMC
// cannot disagree about H (tests/unit/test_hamiltonian.cpp checks both forms against
// hand-computed elements and against each other).
#pragma once
#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "physics/lattice.hpp"

namespace naqs {

enum class Model { tfim, heisenberg };

// Parses "tfim" | "heisenberg" (UsageError naming the value and the choices otherwise).
Model parse_model(const std::string& name);
const char* model_name(Model m);

struct ModelParams {
  Model model = Model::tfim;
  double J = 1.0;
  double h = 1.0;       // TFIM transverse field
  double hz = 0.0;      // TFIM longitudinal field
  double Delta = 1.0;   // Heisenberg anisotropy
  bool marshall = false;  // Heisenberg: Marshall sign rule (bipartite lattices only)
};

// One group of identical terms in packed (bit mask) form: sites i in `mask`, partner site
// i + shift (shift 0 for single-site terms), coefficient `coef`. POD, so it can be copied to a
// GPU as is.
struct BitGroup {
  uint64_t mask;
  int32_t shift;
  double coef;
};

// Bit-mask form of the term lists for N <= 64 (see hamiltonian.hpp header):
//   diagonal(s) = diag_const − 2 Σ_zz coef·popcount((s ^ (s >> shift)) & mask)
//                            − 2 Σ_z  coef·popcount(s & mask)
//   flips:     for each i in mask:                       s ^ (1 << i),               coef
//   exchange:  for each i in (s ^ (s >> shift)) & mask:  s ^ (1 << i | 1 << i+shift), coef
struct PackedTerms {
  int n_sites = 0;
  double diag_const = 0;
  std::vector<BitGroup> zz, z, flip, exchange;
};

class Hamiltonian {
 public:
  struct PairTerm {
    int i, j;  // i < j
    double coef;
  };
  struct SiteTerm {
    int i;
    double coef;
  };
  // One connected configuration, as the sites flipped relative to σ (site_b = −1 for a single
  // flip) and the matrix element H_σσ'.
  struct Connection {
    int32_t site_a, site_b;
    double element;
  };

  // UsageError when Marshall is asked for on a non-bipartite lattice, or a parameter is not
  // finite. Terms whose coefficient is exactly 0 are dropped (h = 0 gives no flips).
  Hamiltonian(const Lattice& lattice, const ModelParams& params);

  const Lattice& lattice() const { return lattice_; }
  const ModelParams& params() const { return params_; }
  int n_sites() const { return lattice_.n_sites(); }
  const std::vector<PairTerm>& zz_terms() const { return zz_; }
  const std::vector<SiteTerm>& z_terms() const { return z_; }
  const std::vector<SiteTerm>& flip_terms() const { return flip_; }
  const std::vector<PairTerm>& exchange_terms() const { return exchange_; }

  // Symmetries ED uses: total Sz conserved (no single flips), global spin flip Π X_i
  // commutes with H (no single-site Z terms).
  bool conserves_sz() const { return flip_.empty(); }
  bool has_flip_symmetry() const { return z_.empty(); }
  // Upper bound on the number of connected σ' ≠ σ of any σ.
  int max_connected() const { return static_cast<int>(flip_.size() + exchange_.size()); }

  // ---- connected states of a ±1 spin array of length n_sites() (any length) ----
  double diagonal(const int8_t* spins) const;  // spins is (N,), entries ±1
  // Calls f(site_a, site_b, element) for each connected σ' ≠ σ (site_b = −1: single flip).
  template <class F>
  void for_each_connected(const int8_t* spins, F&& f) const {
    for (const SiteTerm& t : flip_) f(t.i, -1, t.coef);
    for (const PairTerm& t : exchange_)
      if (spins[t.i] != spins[t.j]) f(t.i, t.j, t.coef);
  }
  // Fills out (cleared first) and returns the diagonal element H_σσ.
  double connected(const int8_t* spins, std::vector<Connection>& out) const;

  // ---- packed form (N <= 64) ----
  const PackedTerms& packed() const;  // Error when n_sites() > 64
  double diagonal(uint64_t s) const { return packed_diagonal(packed(), s); }
  template <class F>
  void for_each_connected(uint64_t s, F&& f) const {
    packed_for_each_connected(packed(), s, f);
  }

  static double packed_diagonal(const PackedTerms& p, uint64_t s) {
    double d = p.diag_const;
    for (const BitGroup& g : p.zz) d -= 2 * g.coef * std::popcount((s ^ (s >> g.shift)) & g.mask);
    for (const BitGroup& g : p.z) d -= 2 * g.coef * std::popcount(s & g.mask);
    return d;
  }
  template <class F>
  static void packed_for_each_connected(const PackedTerms& p, uint64_t s, F&& f) {
    for (const BitGroup& g : p.flip)
      for (uint64_t m = g.mask; m; m &= m - 1) f(s ^ (m & (~m + 1)), g.coef);
    for (const BitGroup& g : p.exchange)
      for (uint64_t m = (s ^ (s >> g.shift)) & g.mask; m; m &= m - 1) {
        const uint64_t low = m & (~m + 1);
        f(s ^ (low | (low << g.shift)), g.coef);
      }
  }

  // "tfim J=1 h=0.5 hz=0 on chain L=16 pbc".
  std::string str() const;

 private:
  Lattice lattice_;
  ModelParams params_;
  std::vector<PairTerm> zz_, exchange_;
  std::vector<SiteTerm> z_, flip_;
  PackedTerms packed_;
  bool have_packed_ = false;
};

}  // namespace naqs
