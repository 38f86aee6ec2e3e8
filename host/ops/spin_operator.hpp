// The compiled spin-1/2 operator and its one connected-elements primitive (after NetKet's
// DiscreteOperator.get_conn: configuration -> (connected configurations, matrix elements)).
// Every evaluation of a Hamiltonian's matrix elements goes through spin_connections below: the
// VMC connected configurations (host/ops/connected.hpp, cuda/connected.cu), the ED rows
// (host/ops/ed_matvec.hpp, cuda/ed_matvec.cu) and the dense matrices of the tests.
//
// The operator is a table of terms, one row (i, j, coef) per term, stored by kind:
//   zz        n_zz rows    diagonal += coef * s_i * s_j
//   z         n_z rows     diagonal += coef * s_i                               (j = -1)
//   flip      n_flip rows  connection: flip site i, element coef                (j = -1)
//   exchange  n_exch rows  connection: flip i and j, element coef, only when s_i != s_j
// (physics/operator/hamiltonian.hpp compiles TFIM and Heisenberg/XXZ models into it). For N <= 64,
// make_spin_operator also compiles the same rows into bit-mask groups (SpinBitGroup: rows of one
// kind with the same partner shift j - i and coefficient share one mask of their lower sites i),
// so a packed state's row costs a few popcounts instead of a pass over every term.
// Spins s_i = +-1; a configuration is read through an accessor:
//   SpinArray<T>  a row of N values +-1 in a float tensor (VMC; any N): the table, in order;
//   PackedSpins   a uint64, bit i = site i, set bit = s_i = -1 (ED; N <= 64): the groups.
// Both give the same connections with the same elements (the groups list them group by group,
// which is the table's order on chains) and the same diagonal up to rounding (bit for bit when
// the coefficients' sums are exact, e.g. integer J): tests/unit/test_spin_operator.cpp checks
// both against dense matrices built from the Pauli matrices.
//
// SpinOperator owns the table (and groups) in tensors on one device; SpinOperatorView is its
// POD form (pointers on that device) that kernels take by value.
#pragma once
#include <cstdint>
#include <vector>

#include "host/core/hd.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ops {

// Rows of one kind with equal shift and coefficient: sites i in mask, partner i + shift (0 for
// single-site kinds).
struct SpinBitGroup {
  uint64_t mask;
  int32_t shift;
  double coef;
};

struct SpinOperatorView {
  const int32_t* sites;  // (n_terms, 2): (i, j), j = -1 for single-site terms
  const double* coef;    // (n_terms)
  int32_t n_zz, n_z, n_flip, n_exch;
  // The grouped form (N <= 64; groups == nullptr otherwise): zz groups, then z, flip, exchange.
  const SpinBitGroup* groups;
  int32_t g_zz, g_z, g_flip, g_exch;
  double diag_const;  // Σ coef over the zz and z rows, in table order
};

struct SpinOperator {
  int32_t n_sites = 0;
  int32_t n_zz = 0, n_z = 0, n_flip = 0, n_exch = 0;
  Tensor sites;  // (n_terms, 2) i32; undefined when there are no terms
  Tensor coef;   // (n_terms) f64; undefined when there are no terms
  // The grouped form for N <= 64: the SpinBitGroup records as bytes (u8), by kind.
  Tensor groups;
  int32_t g_zz = 0, g_z = 0, g_flip = 0, g_exch = 0;
  double diag_const = 0;
  int32_t n_groups() const { return g_zz + g_z + g_flip + g_exch; }
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

// Builds an operator on the CPU from rows in kind order (sites 2 per row, coef 1 per row), and
// its grouped form when n_sites <= 64.
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

NAQS_HD int spin_popcount(uint64_t v) {
#if defined(__CUDA_ARCH__)
  return __popcll(v);
#else
  return __builtin_popcountll(v);
#endif
}

NAQS_HD int32_t spin_lowest_bit(uint64_t v) {  // v != 0
#if defined(__CUDA_ARCH__)
  return __ffsll(static_cast<long long>(v)) - 1;
#else
  return __builtin_ctzll(v);
#endif
}

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

// ---- the primitive on packed states: the grouped form ---------------------------------------
// diagonal = diag_const − 2 Σ_zz coef·popcount((s ^ (s >> shift)) & mask)
//                      − 2 Σ_z  coef·popcount(s & mask)
NAQS_HD double spin_diagonal(const SpinOperatorView& op, const PackedSpins& c) {
  const uint64_t s = c.bits;
  double d = op.diag_const;
  const SpinBitGroup* g = op.groups;
  for (int32_t k = 0; k < op.g_zz; ++k, ++g)
    d -= 2 * g->coef * spin_popcount((s ^ (s >> g->shift)) & g->mask);
  for (int32_t k = 0; k < op.g_z; ++k, ++g) d -= 2 * g->coef * spin_popcount(s & g->mask);
  return d;
}

template <class F>
NAQS_HD void for_each_spin_connection(const SpinOperatorView& op, const PackedSpins& c, F&& f) {
  const uint64_t s = c.bits;
  const SpinBitGroup* g = op.groups + op.g_zz + op.g_z;
  for (int32_t k = 0; k < op.g_flip; ++k, ++g)
    for (uint64_t m = g->mask; m; m &= m - 1) f(spin_lowest_bit(m), -1, g->coef);
  for (int32_t k = 0; k < op.g_exch; ++k, ++g)
    for (uint64_t m = (s ^ (s >> g->shift)) & g->mask; m; m &= m - 1) {
      const int32_t a = spin_lowest_bit(m);
      f(a, a + g->shift, g->coef);
    }
}

NAQS_HD int32_t spin_connection_count(const SpinOperatorView& op,
                                      const PackedSpins& c) {
  const uint64_t s = c.bits;
  int32_t count = op.n_flip;
  const SpinBitGroup* g = op.groups + op.g_zz + op.g_z + op.g_flip;
  for (int32_t k = 0; k < op.g_exch; ++k, ++g)
    count += spin_popcount((s ^ (s >> g->shift)) & g->mask);
  return count;
}

}  // namespace naqs::ops
