// The compiled spin operator (host/ops/spin_operator.hpp, built by
// physics/operator/hamiltonian.hpp) against dense matrices built here independently from the Pauli
// matrices: H = Σ c P_1 P_2 applied to every basis state (X|s> = |s^i>, Y|up> = i|down>, Y|down> =
// -i|up>, Z|s> = s_i|s>), the bonds taken from the coordinates, the Marshall sign as the rotation
// Π_{i in B} Z_i. Both consumers of the operator are checked against it, for TFIM (with hz) and XXZ
// (with and without the Marshall sign), chains and squares, open, periodic and mixed boundaries:
//   - the VMC connections: ops::connected_generate + connected_configs over every configuration
//     (f64 and f32 batches), each configuration's diagonal plus its connected elements = the
//     dense column;
//   - the ED rows: the per-row reference (ops::ed_row, the CUDA kernel's formula) and the fast
//     CPU product (EdOperator::apply) on unit vectors = the dense matrix restricted to every
//     sector ED uses (full space, spin-flip parity +-1, every Sz sector).
// Tolerance: the dense sums and the operator add the same few coefficients (|c| <= 2.5) in other
// orders, so they agree to rounding: |a - b| <= 1e-12 (1 + |b|) for every element (the worst one
// is reported); the imaginary parts of the dense matrix must be exactly 0 (i * -i = 1 in complex
// arithmetic).
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <algorithm>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "host/core/error.hpp"
#include "host/ops/connected.hpp"
#include "host/ops/fill.hpp"
#include "physics/ed/ed_operator.hpp"
#include "physics/operator/hamiltonian.hpp"
#include "tests/support/models.hpp"

namespace naqs {
namespace {

using cplx = std::complex<double>;
using testing::heis;
using testing::tfim;

struct System {
  int lx, ly;
  bool px, py;
  ModelParams params;
  Lattice lattice() const {
    return ly == 1 ? Lattice::chain(lx, px) : Lattice::square(lx, ly, px, py);
  }
  int n() const { return lx * ly; }
};

// Nearest-neighbour pairs from the coordinates (row-major sites), without Lattice::bonds().
std::set<std::pair<int, int>> neighbour_pairs(const System& s) {
  std::set<std::pair<int, int>> pairs;
  auto add = [&](int a, int b) { pairs.insert({std::min(a, b), std::max(a, b)}); };
  for (int y = 0; y < s.ly; ++y)
    for (int x = 0; x < s.lx; ++x) {
      const int site = y * s.lx + x;
      if (x + 1 < s.lx) add(site, site + 1);
      else if (s.px && s.lx > 2) add(site, y * s.lx);
      if (y + 1 < s.ly) add(site, site + s.lx);
      else if (s.py && s.ly > 2) add(site, x);
    }
  return pairs;
}

// A Pauli string's action on the basis state s (bit i set = spin down): amplitude and target.
std::pair<cplx, uint64_t> apply_pauli(const std::vector<std::pair<int, char>>& string,
                                      uint64_t s) {
  cplx amp = 1;
  for (auto [i, p] : string) {  // rightmost factor first does not matter: distinct sites
    const bool down = (s >> i) & 1;
    if (p == 'Z') amp *= down ? -1.0 : 1.0;
    if (p == 'X') s ^= uint64_t{1} << i;
    if (p == 'Y') {
      amp *= down ? cplx(0, -1) : cplx(0, 1);
      s ^= uint64_t{1} << i;
    }
  }
  return {amp, s};
}

// Dense H[row][col] (dim x dim, row-major) from the definitions in
// physics/operator/hamiltonian.hpp.
std::vector<cplx> dense_hamiltonian(const System& sys) {
  const int n = sys.n();
  const uint64_t dim = uint64_t{1} << n;
  const ModelParams& p = sys.params;
  std::vector<std::pair<cplx, std::vector<std::pair<int, char>>>> terms;
  for (auto [i, j] : neighbour_pairs(sys)) {
    if (p.model == Model::tfim) {
      terms.push_back({-p.J, {{i, 'Z'}, {j, 'Z'}}});
    } else {
      terms.push_back({p.J, {{i, 'X'}, {j, 'X'}}});
      terms.push_back({p.J, {{i, 'Y'}, {j, 'Y'}}});
      terms.push_back({p.J * p.Delta, {{i, 'Z'}, {j, 'Z'}}});
    }
  }
  if (p.model == Model::tfim)
    for (int i = 0; i < n; ++i) {
      terms.push_back({-p.h, {{i, 'X'}}});
      terms.push_back({-p.hz, {{i, 'Z'}}});
    }
  std::vector<cplx> a(dim * dim, 0.0);
  for (uint64_t col = 0; col < dim; ++col)
    for (const auto& [coef, string] : terms) {
      const auto [amp, row] = apply_pauli(string, col);
      a[row * dim + col] += coef * amp;
    }
  if (p.marshall) {  // U H U with U = Π_{i on sublattice B} Z_i (diagonal, ±1)
    auto sign = [&](uint64_t s) {
      double d = 1;
      for (int i = 0; i < n; ++i)
        if (((i % sys.lx) + (i / sys.lx)) % 2 == 1 && ((s >> i) & 1)) d = -d;
      return d;
    };
    for (uint64_t r = 0; r < dim; ++r)
      for (uint64_t c = 0; c < dim; ++c) a[r * dim + c] *= sign(r) * sign(c);
  }
  return a;
}

std::vector<System> systems() {
  return {
      {8, 1, true, false, tfim(1, 0.7, 0.3)},    // periodic chain, hz
      {7, 1, false, false, tfim(-0.8, 1.3, -0.2)},  // open chain, hz
      {3, 3, true, true, tfim(1, 2.5, 0.4)},     // periodic square, hz
      {4, 2, true, false, tfim(1, 1.5)},         // mixed boundaries, no hz (parity sectors)
      {3, 3, false, false, tfim(0.6, 1.1)},      // open square, no hz
      {8, 1, true, false, heis(1, 0.6)},         // XXZ periodic chain
      {8, 1, true, false, heis(1, 0.6, true)},   //   with the Marshall sign
      {7, 1, false, false, heis(-1, 2, true)},   // open odd chain, Marshall, J < 0
      {4, 2, true, false, heis(1, 1.2)},         // XXZ square, mixed boundaries
      {4, 2, true, false, heis(1, 1.2, true)},   //   with the Marshall sign
      {3, 3, false, false, heis(1, 0.5, true)},  // open square, Marshall
      {3, 3, true, true, heis(0.9, 1)},          // periodic 3x3 (not bipartite), no Marshall
  };
}

std::string label(const System& s) { return Hamiltonian(s.lattice(), s.params).str(); }

// The worst |got - want| / (1 + |want|) over a matrix and where it is; imaginary parts of the
// dense matrix must be exactly 0.
struct Worst {
  double err = 0;
  std::string where = "nowhere";
  void add(double got, cplx want, int64_t r, int64_t c) {
    const double e = want.imag() != 0 ? INFINITY : std::abs(got - want.real()) /
                                                       (1 + std::abs(want.real()));
    if (!(e <= err)) {
      err = e;
      where = cat("H[", r, "][", c, "]: got ", got, ", dense ", want.real(), " + ", want.imag(),
                  "i");
    }
  }
};

TEST(SpinOperator, VmcConnectionsMatchDensePauliMatrix) {
  for (const System& sys : systems()) {
    const Hamiltonian H(sys.lattice(), sys.params);
    const int n = sys.n();
    const int64_t dim = int64_t{1} << n;
    const std::vector<cplx> a = dense_hamiltonian(sys);
    std::vector<double> spins(static_cast<std::size_t>(dim * n));
    for (int64_t k = 0; k < dim; ++k)
      for (int i = 0; i < n; ++i) spins[k * n + i] = ((k >> i) & 1) ? -1.0 : 1.0;
    for (DType dtype : {DType::f64, DType::f32}) {
      Tensor sigma = Tensor::empty({dim, n}, dtype);
      ops::cast(Tensor::from_vector(spins, {dim, n}), sigma);
      ops::ConnectedList c;
      ops::connected_generate(sigma, H.op(), c);
      ASSERT_GT(c.n_connected, 0) << label(sys);
      Tensor configs = Tensor::empty({c.n_connected, n}, dtype);
      ops::connected_configs(sigma, c.flips, configs);
      Tensor configs64 = Tensor::empty({c.n_connected, n}, DType::f64);
      ops::cast(configs, configs64);
      const std::vector<double> conf = configs64.to_vector<double>();
      const std::vector<double> diag = c.diagonal.to_vector<double>();
      const std::vector<int32_t> off = c.offsets.to_vector<int32_t>();
      const std::vector<double> el = c.elements.to_vector<double>();
      Worst worst;
      std::vector<double> column(static_cast<std::size_t>(dim));
      for (int64_t k = 0; k < dim; ++k) {
        std::fill(column.begin(), column.end(), 0.0);
        column[k] = diag[k];
        for (int32_t m = off[k]; m < off[k + 1]; ++m) {
          int64_t t = 0;
          for (int i = 0; i < n; ++i)
            if (conf[static_cast<std::size_t>(m) * n + i] < 0) t |= int64_t{1} << i;
          ASSERT_NE(t, k) << label(sys);
          column[t] += el[m];
        }
        for (int64_t r = 0; r < dim; ++r) worst.add(column[r], a[r * dim + k], r, k);
      }
      EXPECT_LE(worst.err, 1e-12) << label(sys) << " " << dtype_name(dtype) << " " << worst.where;
    }
  }
}

// <b_r| H |b_c> for the basis vectors of an ED sector, from the dense matrix.
cplx sector_element(const std::vector<cplx>& a, int64_t dim, const ed::EdBasis& basis, int64_t r,
                    int64_t c) {
  const uint64_t sr = basis.state(r), sc = basis.state(c);
  if (basis.kind() != ops::kEdParity) return a[sr * dim + sc];
  // |b_r> = (|r> + p |~r>)/sqrt 2
  const uint64_t all = static_cast<uint64_t>(dim) - 1;
  const double p = basis.parity_sign();
  return 0.5 * (a[sr * dim + sc] + p * a[sr * dim + (~sc & all)] +
                p * a[(~sr & all) * dim + sc] + a[(~sr & all) * dim + (~sc & all)]);
}

TEST(SpinOperator, EdRowsMatchDensePauliMatrixInEverySector) {
  for (const System& sys : systems()) {
    const Hamiltonian H(sys.lattice(), sys.params);
    const int n = sys.n();
    const int64_t dim = int64_t{1} << n;
    const std::vector<cplx> a = dense_hamiltonian(sys);
    std::vector<ed::EdBasis> sectors;
    sectors.push_back(ed::EdBasis::full(n));
    if (H.has_flip_symmetry()) {
      sectors.push_back(ed::EdBasis::parity(n, 1));
      sectors.push_back(ed::EdBasis::parity(n, -1));
    }
    if (H.conserves_sz())
      for (int n_down = 0; n_down <= n; ++n_down) sectors.push_back(ed::EdBasis::sz(n, n_down));
    for (const ed::EdBasis& basis : sectors) {
      const int64_t d = basis.dim();
      const ed::EdOperator op(H, basis);
      std::vector<double> x(d, 0.0), y_ref(d), y_fast(d);
      Worst worst_ref, worst_fast;
      for (int64_t c = 0; c < d; ++c) {
        x[c] = 1;
        ed::ed_matvec_reference_cpu(op.op_view(), basis.view(), x.data(), y_ref.data());
        op.apply(x.data(), y_fast.data());
        x[c] = 0;
        for (int64_t r = 0; r < d; ++r) {
          const cplx want = sector_element(a, dim, basis, r, c);
          worst_ref.add(y_ref[r], want, r, c);
          worst_fast.add(y_fast[r], want, r, c);
        }
      }
      EXPECT_LE(worst_ref.err, 1e-12) << "ed_row " << label(sys) << " " << basis.str() << " "
                                      << worst_ref.where;
      EXPECT_LE(worst_fast.err, 1e-12) << "fast product " << label(sys) << " " << basis.str()
                                       << " " << worst_fast.where;
    }
  }
}

// The two forms of the compiled operator (the table read through an array, the groups read
// through a packed state) give one configuration the same connections with the same elements
// (in the same order on chains: the groups follow the table there) and the same diagonal to
// rounding; and the count without listing equals the list's length.
TEST(SpinOperator, PackedAndArrayRowsAgree) {
  for (const System& sys : systems()) {
    const Hamiltonian H(sys.lattice(), sys.params);
    const ops::SpinOperatorView v = H.op().view();
    double sum_abs = 0;
    for (int32_t k = 0; k < v.n_zz + v.n_z; ++k) sum_abs += std::abs(v.coef[k]);
    const int n = sys.n();
    for (uint64_t s = 0; s < (uint64_t{1} << n); s += 7) {
      std::vector<float> spins(n);
      for (int i = 0; i < n; ++i) spins[i] = ((s >> i) & 1) ? -1.0f : 1.0f;
      std::vector<std::tuple<int, int, double>> from_packed, from_array;
      const double d_packed =
          ops::spin_connections(v, ops::PackedSpins{s},
                                [&](int a, int b, double e) { from_packed.push_back({a, b, e}); });
      const double d_array = ops::spin_connections(
          v, ops::SpinArray<float>{spins.data()},
          [&](int a, int b, double e) { from_array.push_back({a, b, e}); });
      EXPECT_NEAR(d_packed, d_array, 1e-13 * (1 + sum_abs)) << label(sys);
      EXPECT_EQ(ops::spin_connection_count(v, ops::PackedSpins{s}),
                static_cast<int32_t>(from_packed.size()));
      EXPECT_EQ(ops::spin_connection_count(v, ops::SpinArray<float>{spins.data()}),
                static_cast<int32_t>(from_array.size()));
      if (sys.ly == 1) EXPECT_EQ(from_packed, from_array) << label(sys);
      std::sort(from_packed.begin(), from_packed.end());
      std::sort(from_array.begin(), from_array.end());
      EXPECT_EQ(from_packed, from_array) << label(sys);
    }
  }
}

}  // namespace
}  // namespace naqs
