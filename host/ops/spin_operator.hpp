// The compiled spin-1/2 operator and its one connected-elements primitive (after NetKet's
// DiscreteOperator.get_conn: configuration -> (connected configurations, matrix elements)).
// Every evaluation of a Hamiltonian's matrix elements goes through spin_connections below: the
// VMC connected configurations (host/ops/connected.hpp, cuda/connected.cu), the ED rows
// (host/ops/ed_matvec.hpp, cuda/ed_matvec.cu) and the dense matrices of the tests. So ED and VMC
// agree about H by construction: one term table, one function.
//
// The operator is a table of terms, one row (i, j, coef) per term, stored by kind:
//   zz        n_zz rows    diagonal += coef * s_i * s_j
//   z         n_z rows     diagonal += coef * s_i                               (j = -1)
//   flip      n_flip rows  connection: flip site i, element coef                (j = -1)
//   exchange  n_exch rows  connection: flip i and j, element coef, only when s_i != s_j
// (physics/hamiltonian.hpp compiles TFIM and Heisenberg/XXZ models into it.) Spins s_i = +-1;
// a configuration is read through an accessor with spin(i) (a +-1 double) and differs(i, j):
//   SpinArray<T>  a row of N values +-1 in a float tensor (VMC; any N);
//   PackedSpins   a uint64, bit i = site i, set bit = s_i = -1 (ED; N <= 64).
// Both accessors give the same doubles, and the primitive adds them in the table's order, so the
// two representations of one configuration give bit-identical diagonals and the same
// connections in the same order (tests/unit/test_spin_operator.cpp).
//
// SpinOperator owns the table in tensors on one device (sites (n_terms,2) i32, coef (n_terms)
// f64); SpinOperatorView is its POD form (pointers on that device) that kernels take by value.
#pragma once
#include <cstdint>
#include <vector>

#include "host/core/hd.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ops {

struct SpinOperatorView {
  const int32_t* sites;  // (n_terms, 2): (i, j), j = -1 for single-site terms
  const double* coef;    // (n_terms)
  int32_t n_zz, n_z, n_flip, n_exch;
};

struct SpinOperator {
  int32_t n_sites = 0;
  int32_t n_zz = 0, n_z = 0, n_flip = 0, n_exch = 0;
  Tensor sites;  // (n_terms, 2) i32; undefined when there are no terms
  Tensor coef;   // (n_terms) f64; undefined when there are no terms
  int32_t n_terms() const { return n_zz + n_z + n_flip + n_exch; }
  // Upper bound on the number of connected configurations s' != s of any s.
  int32_t max_connected() const { return n_flip + n_exch; }
  // Total Sz is conserved (no single flips); the global flip prod_i X_i commutes (no Z terms).
  bool conserves_sz() const { return n_flip == 0; }
  bool has_flip_symmetry() const { return n_z == 0; }
  Device device() const { return sites.defined() ? sites.device() : Device::cpu(); }
  SpinOperator to(Device device) const;
  // The POD view (pointers on device()); checks the table's shapes and dtypes (`op` names the
  // caller in the error).
  SpinOperatorView view(const char* op = "SpinOperator") const;
};

// Builds an operator on the CPU from rows in kind order (sites 2 per row, coef 1 per row).
SpinOperator make_spin_operator(int32_t n_sites, int32_t n_zz, int32_t n_z, int32_t n_flip,
                                int32_t n_exch, const std::vector<int32_t>& sites,
                                const std::vector<double>& coef);

// ---- configuration accessors ----------------------------------------------------------------
template <class T>
struct SpinArray {
  const T* s;  // (N,) +-1
  NAQS_HD double spin(int32_t i) const { return static_cast<double>(s[i]); }
  NAQS_HD bool differs(int32_t i, int32_t j) const { return s[i] != s[j]; }
};

struct PackedSpins {
  uint64_t bits;  // bit i set <=> s_i = -1
  NAQS_HD double spin(int32_t i) const { return ((bits >> i) & 1) ? -1.0 : 1.0; }
  NAQS_HD bool differs(int32_t i, int32_t j) const { return ((bits >> i) ^ (bits >> j)) & 1; }
  // The configuration with sites a and b (b = -1: none) flipped.
  NAQS_HD uint64_t flipped(int32_t a, int32_t b) const {
    return bits ^ (uint64_t{1} << a) ^ (b >= 0 ? uint64_t{1} << b : uint64_t{0});
  }
};

// ---- the primitive --------------------------------------------------------------------------
// H_ss: the diagonal element of configuration c, summed from 0 in table order.
template <class Config>
NAQS_HD double spin_diagonal(const SpinOperatorView& op, const Config& c) {
  double d = 0;
  int32_t k = 0;
  for (; k < op.n_zz; ++k) d += op.coef[k] * c.spin(op.sites[2 * k]) * c.spin(op.sites[2 * k + 1]);
  for (; k < op.n_zz + op.n_z; ++k) d += op.coef[k] * c.spin(op.sites[2 * k]);
  return d;
}

// Calls f(a, b, element) for every connected s' != s in table order: s' is s with site a flipped
// and, when b >= 0, site b too; element = H_ss'.
template <class Config, class F>
NAQS_HD void for_each_spin_connection(const SpinOperatorView& op, const Config& c, F&& f) {
  const int32_t first_flip = op.n_zz + op.n_z, first_exch = first_flip + op.n_flip;
  for (int32_t k = first_flip; k < first_exch; ++k) f(op.sites[2 * k], -1, op.coef[k]);
  for (int32_t k = first_exch; k < first_exch + op.n_exch; ++k) {
    const int32_t i = op.sites[2 * k], j = op.sites[2 * k + 1];
    if (c.differs(i, j)) f(i, j, op.coef[k]);
  }
}

// The whole row of configuration c: calls f for every connection and returns H_ss.
template <class Config, class F>
NAQS_HD double spin_connections(const SpinOperatorView& op, const Config& c, F&& f) {
  for_each_spin_connection(op, c, f);
  return spin_diagonal(op, c);
}

// Number of connections of c (without listing them).
template <class Config>
NAQS_HD int32_t spin_connection_count(const SpinOperatorView& op, const Config& c) {
  int32_t count = op.n_flip;
  const int32_t first_exch = op.n_zz + op.n_z + op.n_flip;
  for (int32_t k = first_exch; k < first_exch + op.n_exch; ++k)
    count += c.differs(op.sites[2 * k], op.sites[2 * k + 1]) ? 1 : 0;
  return count;
}

}  // namespace naqs::ops
