// Hamiltonian: matrix elements against hand-computed small cases, the spin operator's primitive
// on int8 arrays and on packed states against each other (the batched ops:
// tests/unit/test_connected.cpp; dense Pauli matrices: tests/unit/test_spin_operator.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "host/core/error.hpp"
#include "physics/operator/hamiltonian.hpp"
#include "tests/support/models.hpp"

namespace naqs {
namespace {

using testing::heis;
using testing::tfim;

uint64_t pack(const std::vector<int8_t>& s) {
  uint64_t b = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] < 0) b |= uint64_t{1} << i;
  return b;
}

struct Connection {
  int site_a, site_b;
  double element;
  bool operator==(const Connection&) const = default;
};

// The row of a configuration through the primitive: returns H_ss, fills the connections.
template <class Config>
double row(const Hamiltonian& H, const Config& s, std::vector<Connection>& out) {
  out.clear();
  return H.connections(s, [&](int a, int b, double e) { out.push_back({a, b, e}); });
}

double row(const Hamiltonian& H, const std::vector<int8_t>& s, std::vector<Connection>& out) {
  return row(H, ops::SpinArray<int8_t>{s.data()}, out);
}

TEST(Hamiltonian, TfimHandComputed) {
  // L=3 periodic, J=1, h=0.5, hz=0.2, σ = (+,+,−): bonds (0,1) (1,2) (0,2) give ZZ = 1, −1, −1,
  // so −J ΣZZ = +1; −hz ΣZ = −0.2·1; diagonal 0.8. Three single flips with −h = −0.5.
  Hamiltonian H(Lattice::chain(3, true), tfim(1, 0.5, 0.2));
  std::vector<int8_t> s{1, 1, -1};
  std::vector<Connection> c;
  EXPECT_DOUBLE_EQ(row(H, s, c), 0.8);
  ASSERT_EQ(c.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c[i].site_a, i);
    EXPECT_EQ(c[i].site_b, -1);
    EXPECT_DOUBLE_EQ(c[i].element, -0.5);
  }
  std::vector<Connection> c_packed;
  EXPECT_NEAR(row(H, ops::PackedSpins{pack(s)}, c_packed), 0.8, 1e-14);
  EXPECT_EQ(c_packed, c);
  EXPECT_FALSE(H.conserves_sz());
  EXPECT_FALSE(H.has_flip_symmetry());
  EXPECT_TRUE(Hamiltonian(Lattice::chain(3, true), tfim(1, 0.5, 0)).has_flip_symmetry());
}

TEST(Hamiltonian, HeisenbergHandComputed) {
  // L=4 open, J=1, Δ=0.5, σ = (+,−,−,+): ZZ on (0,1) (1,2) (2,3) = −1, +1, −1: JΔΣ = −0.5.
  // Antiparallel bonds (0,1) and (2,3): exchange element 2J = 2 (Marshall: −2).
  for (bool marshall : {false, true}) {
    Hamiltonian H(Lattice::chain(4, false), heis(1, 0.5, marshall));
    std::vector<int8_t> s{1, -1, -1, 1};
    std::vector<Connection> c;
    EXPECT_DOUBLE_EQ(row(H, s, c), -0.5);
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[0].site_a, 0);
    EXPECT_EQ(c[0].site_b, 1);
    EXPECT_EQ(c[1].site_a, 2);
    EXPECT_EQ(c[1].site_b, 3);
    for (auto& x : c) EXPECT_DOUBLE_EQ(x.element, marshall ? -2.0 : 2.0);
    std::map<uint64_t, double> packed;
    const ops::PackedSpins p{pack(s)};
    H.connections(p, [&](int a, int b, double e) { packed[p.flipped(a, b)] += e; });
    EXPECT_EQ(packed.size(), 2u);
    EXPECT_DOUBLE_EQ(packed[pack({-1, 1, -1, 1})], marshall ? -2.0 : 2.0);
    EXPECT_DOUBLE_EQ(packed[pack({1, -1, 1, -1})], marshall ? -2.0 : 2.0);
    EXPECT_TRUE(H.conserves_sz());
  }
  // Two-site singlet check: H = J(XX+YY+ZZ) on one bond has eigenvalues J (triplet), −3J.
  // In the Sz=0 block {|+−>, |−+>}: diagonal −J, off-diagonal 2J -> eigenvalues J and −3J.
  Hamiltonian H2(Lattice::chain(2, false), heis(1, 1, false));
  std::vector<int8_t> s{1, -1};
  std::vector<Connection> c;
  EXPECT_DOUBLE_EQ(row(H2, s, c), -1.0);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_DOUBLE_EQ(c[0].element, 2.0);
}

TEST(Hamiltonian, MarshallNeedsBipartite) {
  EXPECT_THROW(Hamiltonian(Lattice::chain(5, true), heis(1, 1, true)), UsageError);
  EXPECT_NO_THROW(Hamiltonian(Lattice::chain(6, true), heis(1, 1, true)));
  EXPECT_THROW(Hamiltonian(Lattice::square(3, 3, true, true), heis(1, 1, true)), UsageError);
  EXPECT_THROW(Hamiltonian(Lattice::chain(4, true), tfim(1, 1, std::nan(""))), UsageError);
  EXPECT_THROW(parse_model("ising"), UsageError);
}

TEST(Hamiltonian, ZeroCoefficientsAreDropped) {
  Hamiltonian H(Lattice::chain(4, true), tfim(1, 0, 0));
  EXPECT_EQ(H.max_connected(), 0);
  EXPECT_EQ(H.op().n_flip, 0);
  EXPECT_EQ(H.op().n_terms(), 4);  // the four bonds' ZZ
}

// The primitive on an int8 array (the operator's table) and on a packed state (its grouped form)
// of the same configuration: the same connections with the same elements (in the same order on
// chains) and the same diagonal to rounding.
TEST(Hamiltonian, PackedAndArrayAccessorsAgree) {
  std::vector<Hamiltonian> models{
      Hamiltonian(Lattice::chain(7, true), tfim(0.7, 1.3, 0.4)),
      Hamiltonian(Lattice::square(4, 3, true, false), tfim(1, 2, 0)),
      Hamiltonian(Lattice::square(3, 3, true, true), heis(1.1, 0.6, false)),
      Hamiltonian(Lattice::square(4, 4, true, true), heis(1, 1, true)),
      Hamiltonian(Lattice::chain(64, true), heis(1, 2, true)),
      Hamiltonian(Lattice::chain(64, false), tfim(1, 0.5, -0.25))};
  std::mt19937_64 gen(7);
  auto by_sites = [](const Connection& x, const Connection& y) {
    return std::pair{x.site_a, x.site_b} < std::pair{y.site_a, y.site_b};
  };
  for (const Hamiltonian& H : models) {
    const int n = H.n_sites();
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<int8_t> s(n);
      for (auto& x : s) x = (gen() & 1) ? 1 : -1;
      std::vector<Connection> from_int8, from_packed;
      EXPECT_NEAR(row(H, s, from_int8), row(H, ops::PackedSpins{pack(s)}, from_packed),
                  1e-12 * n) << H.str();
      if (H.lattice().length_y() == 1) EXPECT_EQ(from_int8, from_packed) << H.str();
      std::sort(from_int8.begin(), from_int8.end(), by_sites);
      std::sort(from_packed.begin(), from_packed.end(), by_sites);
      EXPECT_EQ(from_int8, from_packed) << H.str();
    }
  }
}

TEST(Hamiltonian, ArrayFormHasNoSizeLimit) {
  Hamiltonian H(Lattice::chain(65, true), tfim(1, 1, 0));
  std::vector<int8_t> s(65, 1);
  std::vector<Connection> c;
  EXPECT_DOUBLE_EQ(row(H, s, c), -65.0);
  EXPECT_EQ(c.size(), 65u);
}

}  // namespace
}  // namespace naqs
