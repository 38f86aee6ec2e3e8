// Lattices for the spin models (DESIGN.md §1): a chain of L sites or an Lx x Ly square lattice,
// periodic or open per direction, sites numbered row-major (site = y * Lx + x; a chain is the
// row y = 0). The nearest-neighbour bond list has no duplicates and every bond is stored as
// (i, j) with i < j.
//
// A periodic direction needs at least 3 sites: with 2 sites the wrap-around bond would repeat
// the bond that is already there (the chain of L = 2 would count the pair twice, a convention
// that silently doubles the coupling), and with 1 site it would be a self-bond. Such a request
// is a UsageError rather than a silent convention.
//
// Bipartite: every open lattice, and periodic ones whose periodic lengths are even. The
// sublattice parity (x + y) mod 2 is what the Marshall sign rule uses.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace naqs {

enum class LatticeKind { chain, square };

class Lattice {
 public:
  // UsageError for L < 1, or L < 3 with periodic boundaries.
  static Lattice chain(int length, bool periodic);
  // UsageError for Lx < 1 or Ly < 1, or a periodic direction shorter than 3 sites.
  static Lattice square(int length_x, int length_y, bool periodic_x, bool periodic_y);

  LatticeKind kind() const { return kind_; }
  const char* kind_name() const { return kind_ == LatticeKind::chain ? "chain" : "square"; }
  int n_sites() const { return length_x_ * length_y_; }
  int length_x() const { return length_x_; }  // L for a chain
  int length_y() const { return length_y_; }  // 1 for a chain
  bool periodic_x() const { return periodic_x_; }
  bool periodic_y() const { return periodic_y_; }
  int x_of(int site) const { return site % length_x_; }
  int y_of(int site) const { return site / length_x_; }
  int site_of(int x, int y) const { return y * length_x_ + x; }

  // Nearest-neighbour bonds (i, j), i < j, each once; horizontal bonds first, then vertical.
  const std::vector<std::pair<int, int>>& bonds() const { return bonds_; }
  int n_bonds() const { return static_cast<int>(bonds_.size()); }

  bool is_bipartite() const;
  int sublattice(int site) const { return (x_of(site) + y_of(site)) & 1; }  // 0 or 1

  // Autoregressive site order: raster (row-major, the site numbering itself) or snake (odd
  // rows reversed, so consecutive sites in the order are always neighbours).
  std::vector<int> site_order(bool snake) const;

  // "chain L=16 pbc" / "square 4x4 pbc,obc".
  std::string str() const;

 private:
  Lattice(LatticeKind kind, int lx, int ly, bool px, bool py);
  LatticeKind kind_;
  int length_x_, length_y_;
  bool periodic_x_, periodic_y_;
  std::vector<std::pair<int, int>> bonds_;
};

}  // namespace naqs
