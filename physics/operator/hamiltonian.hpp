// The Hamiltonians of the package, compiled into the one spin operator shared by exact
// diagonalisation and the VMC local energies (DESIGN.md §1 and §5). Pauli units throughout:
//   TFIM        H = -J Σ_<ij> Z_i Z_j - h Σ_i X_i - hz Σ_i Z_i
//   Heisenberg  H =  J Σ_<ij> (X_i X_j + Y_i Y_j + Δ Z_i Z_j)     (S·S units: ¼ of this)
// Spins σ_i = ±1 (Z eigenvalue); packed form: bit i of a uint64 = site i, set bit = σ_i = −1.
//
// A model is compiled once into an ops::SpinOperator (host/ops/spin_operator.hpp): term rows
//   zz        coef · Z_i Z_j                      (diagonal; one row per bond)
//   z         coef · Z_i                          (diagonal)
//   flip      coef · X_i: element coef to σ with site i flipped
//   exchange  coef · (σ⁺_i σ⁻_j + σ⁻_i σ⁺_j): element coef to σ with i and j flipped,
//             nonzero only when σ_i ≠ σ_j. J (X_i X_j + Y_i Y_j) has coef = 2J, and with the
//             Marshall sign rule (a rotation by Z on one sublattice, bipartite lattices only)
//             coef = −2J, which makes the ground state positive.
// in the lattice's bond order. Everything that evaluates H goes through the operator's one
// primitive: the batched local energies (host/ops/connected.hpp on the model's device), the ED
// rows (host/ops/ed_matvec.hpp, CPU and CUDA) and connections() here; so ED and VMC cannot
// disagree about H (tests/unit/test_spin_operator.cpp checks both against dense matrices built
// independently from the Pauli matrices).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "host/ops/spin_operator.hpp"
#include "physics/lattice/lattice.hpp"

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

class Hamiltonian {
 public:
  // UsageError when Marshall is asked for on a non-bipartite lattice, or a parameter is not
  // finite. Terms whose coefficient is exactly 0 are dropped (h = 0 gives no flips).
  Hamiltonian(const Lattice& lattice, const ModelParams& params);

  const Lattice& lattice() const { return lattice_; }
  const ModelParams& params() const { return params_; }
  int n_sites() const { return lattice_.n_sites(); }
  // The compiled operator (its table on the CPU; .to(device) for a GPU).
  const ops::SpinOperator& op() const { return op_; }

  // Symmetries ED uses: total Sz conserved (no single flips), global spin flip Π X_i
  // commutes with H (no single-site Z terms).
  bool conserves_sz() const { return op_.conserves_sz(); }
  bool has_flip_symmetry() const { return op_.has_flip_symmetry(); }
  // Upper bound on the number of connected σ' ≠ σ of any σ.
  int max_connected() const { return op_.max_connected(); }

  // The row of one configuration on the host through the operator's primitive: calls
  // f(site_a, site_b, element) for each connected σ' ≠ σ (site_b = −1: a single flip) and
  // returns H_σσ. `config` is an accessor: ops::SpinArray<T>{spins} (any N) or
  // ops::PackedSpins{bits} (N <= 64).
  template <class Config, class F>
  double connections(const Config& config, F&& f) const {
    return ops::spin_connections(view_, config, f);
  }

  // "tfim J=1 h=0.5 hz=0 on chain L=16 pbc".
  std::string str() const;

 private:
  Lattice lattice_;
  ModelParams params_;
  ops::SpinOperator op_;
  ops::SpinOperatorView view_{};  // host pointers into op_ (tensors share their buffers)
};

}  // namespace naqs
