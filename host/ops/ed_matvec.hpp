// ED matrix-vector product y = H x in one symmetry sector, with matrix elements computed on the
// fly by the compiled spin operator's primitive (host/ops/spin_operator.hpp) on packed states.
//   x, y: (dim,) float64, indexed by the sector's basis (see EdSectorView).
// Gather form: each output row y[index(s)] = H_ss x[index(s)] + Σ_{s'≠s} H_ss' sign(s') x[index(s')]
// is computed by one thread (H is real symmetric), so there are no write conflicts and the result
// is the same for any thread count. The per-row formula below is NAQS_HD and shared by the CPU
// reference (ed_matvec_reference_cpu in physics/ed/ed_operator.cpp, OpenMP) and its CUDA twin
// (cuda/ed_matvec.cu); the CPU product ed_matvec_cpu rearranges the same terms for cache and
// SIMD (cache-blocked TFIM, Sz rows grouped by their high part).
// Tests: tests/unit/test_ed.cpp (vs dense matrices from the same primitive;
// fast CPU paths vs the reference rows within 1e-12 of the row bound);
// tests/gpu/test_ed_matvec_gpu.cpp (CUDA vs CPU, atol 1e-13·N: the same float64 terms, summed
// in another order by the CPU's fast paths, so they differ by rounding only).
#pragma once
#include <cstdint>

#include "host/core/hd.hpp"

#include "host/core/device.hpp"
#include "host/ops/spin_operator.hpp"

namespace naqs::ops {

enum EdSectorKind : int32_t { kEdFull = 0, kEdParity = 1, kEdSz = 2 };

// A symmetry sector's basis. Pointers are host or device memory, matching where it is used.
//   full:   states s in [0, 2^N), index(s) = s.
//   parity: states r with bit N-1 clear stand for (|r> + p |~r>)/√2, p = parity_sign = ±1;
//           index(r) = r. A state t with bit N-1 set maps to index(~t) with sign p.
//   sz:     states with exactly n_set set bits (n_set spins down), Lin tables over n_lo low bits:
//           index(s) = hi_offset[s >> n_lo] + lo_rank[s & (2^n_lo − 1)]; states in increasing
//           order. lo_values lists all n_lo-bit values sorted by (popcount, value), and those
//           with popcount k start at lo_start[k].
struct EdSectorView {
  int32_t kind;
  int32_t n_sites;
  int32_t parity_sign;
  int32_t n_lo;
  int32_t n_set;
  int64_t dim;
  const int64_t* hi_offset;    // (2^(N−n_lo) + 1,)
  const int32_t* lo_rank;      // (2^n_lo,)
  const uint32_t* lo_values;   // (2^n_lo,)
  const int64_t* lo_start;     // (n_lo + 2,)
};

NAQS_HD int ed_popcount(uint64_t v) {
#if defined(__CUDA_ARCH__)
  return __popcll(v);
#else
  return __builtin_popcountll(v);
#endif
}

// Index (and sign) of any state s that lies in the sector (for the sz sector s must have n_set
// set bits; H never leaves the sector).
template <int Kind>
NAQS_HD int64_t ed_index(const EdSectorView& v, uint64_t s, double& sign) {
  if constexpr (Kind == kEdFull) {
    (void)v;
    sign = 1;
    return static_cast<int64_t>(s);
  } else if constexpr (Kind == kEdParity) {
    const uint64_t top = (s >> (v.n_sites - 1)) & 1;
    const uint64_t all = v.n_sites == 64 ? ~uint64_t{0} : (uint64_t{1} << v.n_sites) - 1;
    sign = top ? v.parity_sign : 1;
    return static_cast<int64_t>(top ? (~s & all) : s);
  } else {
    sign = 1;
    return v.hi_offset[s >> v.n_lo] + v.lo_rank[s & ((uint64_t{1} << v.n_lo) - 1)];
  }
}

// The basis state of index i (sz: a binary search over hi_offset).
template <int Kind>
NAQS_HD uint64_t ed_state(const EdSectorView& v, int64_t i) {
  if constexpr (Kind != kEdSz) {
    (void)v;
    return static_cast<uint64_t>(i);
  } else {
    int64_t lo = 0, hi = (int64_t{1} << (v.n_sites - v.n_lo)) - 1;  // last hi with offset <= i
    while (lo < hi) {
      const int64_t mid = (lo + hi + 1) / 2;
      if (v.hi_offset[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    const int k = v.n_set - ed_popcount(static_cast<uint64_t>(lo));
    const uint64_t low = v.lo_values[v.lo_start[k] + (i - v.hi_offset[lo])];
    return (static_cast<uint64_t>(lo) << v.n_lo) | low;
  }
}

// (H x)[i] for the basis state s of index i: the spin operator's row of s (its one
// primitive, host/ops/spin_operator.hpp), each connection mapped to its index and sign.
template <int Kind>
NAQS_HD double ed_row(const SpinOperatorView& op, const EdSectorView& v, uint64_t s, int64_t i,
                      const double* x) {
  const PackedSpins c{s};
  double acc = spin_diagonal(op, c) * x[i];
  for_each_spin_connection(op, c, [&](int32_t a, int32_t b, double element) {
    double sign;
    const int64_t j = ed_index<Kind>(v, c.flipped(a, b), sign);
    acc += element * (sign * x[j]);
  });
  return acc;
}

// y = H x on a CUDA device: x, y (dim), the operator's table (`terms` points into it) and the
// sector's tables live in `device`'s memory (the ED operator keeps them in tensors there). An
// error for the CPU (use ed_matvec_cpu) or in a build without CUDA.
void ed_matvec_device(const SpinOperatorView& terms, const EdSectorView& sector, const double* x,
                      double* y, Device device);

namespace detail {
// CUDA twin (cuda/ed_matvec.cu): y = H x with x, y, the operator and the sector's tables in
// device memory.
void ed_matvec_cuda(const SpinOperatorView& terms, const EdSectorView& sector, const double* x,
                    double* y);
}  // namespace detail

}  // namespace naqs::ops
