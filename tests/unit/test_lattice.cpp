// Lattice: sizes, bonds (hand-listed for small cases), bipartiteness, orders, bad sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "host/core/error.hpp"
#include "physics/lattice/lattice.hpp"

namespace naqs {
namespace {

using Bonds = std::vector<std::pair<int, int>>;

TEST(Lattice, ChainBonds) {
  EXPECT_EQ(Lattice::chain(4, false).bonds(), (Bonds{{0, 1}, {1, 2}, {2, 3}}));
  EXPECT_EQ(Lattice::chain(4, true).bonds(), (Bonds{{0, 1}, {1, 2}, {2, 3}, {0, 3}}));
  EXPECT_EQ(Lattice::chain(3, true).n_bonds(), 3);
  EXPECT_EQ(Lattice::chain(1, false).n_bonds(), 0);
  EXPECT_EQ(Lattice::chain(2, false).bonds(), (Bonds{{0, 1}}));
}

TEST(Lattice, SquareBonds) {
  // 2x2 open: sites 0 1 / 2 3.
  EXPECT_EQ(Lattice::square(2, 2, false, false).bonds(),
            (Bonds{{0, 1}, {2, 3}, {0, 2}, {1, 3}}));
  // 3x3 periodic: 2N bonds, all distinct, every site has degree 4.
  Lattice sq = Lattice::square(3, 3, true, true);
  EXPECT_EQ(sq.n_sites(), 9);
  EXPECT_EQ(sq.n_bonds(), 18);
  std::set<std::pair<int, int>> unique(sq.bonds().begin(), sq.bonds().end());
  EXPECT_EQ(unique.size(), 18u);
  std::vector<int> degree(9, 0);
  for (auto [i, j] : sq.bonds()) {
    EXPECT_LT(i, j);
    ++degree[i];
    ++degree[j];
  }
  for (int d : degree) EXPECT_EQ(d, 4);
  // Mixed boundaries: 4x3 periodic in x, open in y: 4*3 horizontal + 4*2 vertical.
  EXPECT_EQ(Lattice::square(4, 3, true, false).n_bonds(), 20);
  EXPECT_EQ(Lattice::square(4, 4, true, true).n_bonds(), 32);
}

TEST(Lattice, RowMajorAndSublattice) {
  Lattice sq = Lattice::square(4, 3, false, false);
  EXPECT_EQ(sq.site_of(1, 2), 9);
  EXPECT_EQ(sq.x_of(9), 1);
  EXPECT_EQ(sq.y_of(9), 2);
  EXPECT_EQ(sq.sublattice(0), 0);
  EXPECT_EQ(sq.sublattice(1), 1);
  EXPECT_EQ(sq.sublattice(4), 1);  // (0,1)
  EXPECT_EQ(sq.sublattice(5), 0);  // (1,1)
  for (auto [i, j] : sq.bonds()) EXPECT_NE(sq.sublattice(i), sq.sublattice(j));
}

TEST(Lattice, Bipartite) {
  EXPECT_TRUE(Lattice::chain(5, false).is_bipartite());
  EXPECT_FALSE(Lattice::chain(5, true).is_bipartite());
  EXPECT_TRUE(Lattice::chain(6, true).is_bipartite());
  EXPECT_FALSE(Lattice::square(4, 3, true, true).is_bipartite());
  EXPECT_TRUE(Lattice::square(4, 3, true, false).is_bipartite());
}

TEST(Lattice, SnakeOrder) {
  Lattice sq = Lattice::square(3, 2, false, false);
  EXPECT_EQ(sq.site_order(false), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(sq.site_order(true), (std::vector<int>{0, 1, 2, 5, 4, 3}));
}

TEST(Lattice, BadSizesAreUsageErrors) {
  auto message = [](auto f) {
    try {
      f();
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no UsageError");
  };
  EXPECT_NE(message([] { Lattice::chain(0, false); }).find("L = 0"), std::string::npos);
  EXPECT_NE(message([] { Lattice::chain(-3, true); }).find("L = -3"), std::string::npos);
  EXPECT_NE(message([] { Lattice::chain(2, true); }).find("at least 3"), std::string::npos);
  EXPECT_NE(message([] { Lattice::square(4, 0, true, false); }).find("Ly = 0"),
            std::string::npos);
  EXPECT_NE(message([] { Lattice::square(2, 4, true, true); }).find("Lx = 2"),
            std::string::npos);
}

}  // namespace
}  // namespace naqs
