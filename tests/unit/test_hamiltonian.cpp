// Hamiltonian: matrix elements against hand-computed small cases, the int8 and packed forms of
// the connected-states primitive against each other (the batched ops: tests/unit/test_connected.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "host/core/error.hpp"
#include "physics/hamiltonian.hpp"
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

TEST(Hamiltonian, TfimHandComputed) {
  // L=3 periodic, J=1, h=0.5, hz=0.2, σ = (+,+,−): bonds (0,1) (1,2) (0,2) give ZZ = 1, −1, −1,
  // so −J ΣZZ = +1; −hz ΣZ = −0.2·1; diagonal 0.8. Three single flips with −h = −0.5.
  Hamiltonian H(Lattice::chain(3, true), tfim(1, 0.5, 0.2));
  std::vector<int8_t> s{1, 1, -1};
  std::vector<Hamiltonian::Connection> c;
  EXPECT_DOUBLE_EQ(H.connected(s.data(), c), 0.8);
  ASSERT_EQ(c.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c[i].site_a, i);
    EXPECT_EQ(c[i].site_b, -1);
    EXPECT_DOUBLE_EQ(c[i].element, -0.5);
  }
  EXPECT_NEAR(H.diagonal(pack(s)), 0.8, 1e-14);
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
    std::vector<Hamiltonian::Connection> c;
    EXPECT_DOUBLE_EQ(H.connected(s.data(), c), -0.5);
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[0].site_a, 0);
    EXPECT_EQ(c[0].site_b, 1);
    EXPECT_EQ(c[1].site_a, 2);
    EXPECT_EQ(c[1].site_b, 3);
    for (auto& x : c) EXPECT_DOUBLE_EQ(x.element, marshall ? -2.0 : 2.0);
    std::map<uint64_t, double> packed;
    H.for_each_connected(pack(s), [&](uint64_t t, double e) { packed[t] += e; });
    EXPECT_EQ(packed.size(), 2u);
    EXPECT_DOUBLE_EQ(packed[pack({-1, 1, -1, 1})], marshall ? -2.0 : 2.0);
    EXPECT_DOUBLE_EQ(packed[pack({1, -1, 1, -1})], marshall ? -2.0 : 2.0);
    EXPECT_TRUE(H.conserves_sz());
  }
  // Two-site singlet check: H = J(XX+YY+ZZ) on one bond has eigenvalues J (triplet), −3J.
  // In the Sz=0 block {|+−>, |−+>}: diagonal −J, off-diagonal 2J -> eigenvalues J and −3J.
  Hamiltonian H2(Lattice::chain(2, false), heis(1, 1, false));
  std::vector<int8_t> s{1, -1};
  std::vector<Hamiltonian::Connection> c;
  EXPECT_DOUBLE_EQ(H2.connected(s.data(), c), -1.0);
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
  EXPECT_EQ(H.flip_terms().size(), 0u);
}

// The int8 and packed forms agree on random configurations of several models and lattices.
TEST(Hamiltonian, PackedAgreesWithInt8) {
  std::vector<Hamiltonian> models{
      Hamiltonian(Lattice::chain(7, true), tfim(0.7, 1.3, 0.4)),
      Hamiltonian(Lattice::square(4, 3, true, false), tfim(1, 2, 0)),
      Hamiltonian(Lattice::square(3, 3, true, true), heis(1.1, 0.6, false)),
      Hamiltonian(Lattice::square(4, 4, true, true), heis(1, 1, true)),
      Hamiltonian(Lattice::chain(64, true), heis(1, 2, true)),
      Hamiltonian(Lattice::chain(64, false), tfim(1, 0.5, -0.25))};
  std::mt19937_64 gen(7);
  for (const Hamiltonian& H : models) {
    const int n = H.n_sites();
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<int8_t> s(n);
      for (auto& x : s) x = (gen() & 1) ? 1 : -1;
      const uint64_t b = pack(s);
      EXPECT_NEAR(H.diagonal(s.data()), H.diagonal(b), 1e-12 * n) << H.str();
      std::map<uint64_t, double> from_int8, from_packed;
      H.for_each_connected(s.data(), [&](int a, int c, double e) {
        uint64_t t = b ^ (uint64_t{1} << a);
        if (c >= 0) t ^= uint64_t{1} << c;
        from_int8[t] += e;
      });
      H.for_each_connected(b, [&](uint64_t t, double e) { from_packed[t] += e; });
      EXPECT_EQ(from_int8, from_packed) << H.str();
    }
  }
}

TEST(Hamiltonian, PackedRefusesMoreThan64Sites) {
  Hamiltonian H(Lattice::chain(65, true), tfim(1, 1, 0));
  EXPECT_THROW(H.packed(), Error);
  std::vector<int8_t> s(65, 1);
  EXPECT_DOUBLE_EQ(H.diagonal(s.data()), -65.0);  // the int8 form has no size limit
}

}  // namespace
}  // namespace naqs
