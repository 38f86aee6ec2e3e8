// Lattice construction and bond enumeration (see lattice.hpp; tests: tests/unit/test_lattice.cpp).
#include "physics/lattice/lattice.hpp"

#include <algorithm>

#include "host/core/error.hpp"

namespace naqs {

namespace {

// Largest side accepted: keeps n_sites and site indices far from int overflow.
constexpr int kMaxLength = 1 << 14;

void check_length(const char* what, int length, bool periodic) {
  NAQS_REQUIRE(length >= 1 && length <= kMaxLength, what, " = ", length,
               " is not allowed: it must be an integer in [1, ", kMaxLength, "]");
  NAQS_REQUIRE(!periodic || length >= 3, what, " = ", length,
               " is not allowed with periodic boundaries: a periodic direction needs at least 3 "
               "sites (use open boundaries for shorter ones)");
}

}  // namespace

Lattice Lattice::chain(int length, bool periodic) {
  check_length("chain length L", length, periodic);
  return Lattice(LatticeKind::chain, length, 1, periodic, false);
}

Lattice Lattice::square(int length_x, int length_y, bool periodic_x, bool periodic_y) {
  check_length("square lattice Lx", length_x, periodic_x);
  check_length("square lattice Ly", length_y, periodic_y);
  NAQS_REQUIRE(static_cast<int64_t>(length_x) * length_y <= int64_t{kMaxLength} * 64,
               "square lattice ", length_x, "x", length_y, " has too many sites (at most ",
               kMaxLength * 64, ")");
  return Lattice(LatticeKind::square, length_x, length_y, periodic_x, periodic_y);
}

Lattice::Lattice(LatticeKind kind, int lx, int ly, bool px, bool py)
    : kind_(kind), length_x_(lx), length_y_(ly), periodic_x_(px), periodic_y_(py) {
  auto add = [&](int a, int b) { bonds_.emplace_back(std::min(a, b), std::max(a, b)); };
  for (int y = 0; y < ly; ++y)
    for (int x = 0; x < lx; ++x) {
      if (x + 1 < lx) add(site_of(x, y), site_of(x + 1, y));
      else if (px) add(site_of(x, y), site_of(0, y));  // lx >= 3: never a duplicate
    }
  for (int y = 0; y < ly; ++y)
    for (int x = 0; x < lx; ++x) {
      if (y + 1 < ly) add(site_of(x, y), site_of(x, y + 1));
      else if (py) add(site_of(x, y), site_of(x, 0));
    }
}

bool Lattice::is_bipartite() const {
  return (!periodic_x_ || length_x_ % 2 == 0) && (!periodic_y_ || length_y_ % 2 == 0);
}

std::vector<int> Lattice::site_order(bool snake) const {
  std::vector<int> order;
  order.reserve(n_sites());
  for (int y = 0; y < length_y_; ++y)
    for (int k = 0; k < length_x_; ++k)
      order.push_back(site_of(snake && (y & 1) ? length_x_ - 1 - k : k, y));
  return order;
}

std::string Lattice::str() const {
  if (kind_ == LatticeKind::chain)
    return cat("chain L=", length_x_, periodic_x_ ? " pbc" : " obc");
  return cat("square ", length_x_, "x", length_y_, " ", periodic_x_ ? "pbc" : "obc", ",",
             periodic_y_ ? "pbc" : "obc");
}

}  // namespace naqs
