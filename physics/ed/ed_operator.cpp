// Sectors, memory estimates and the CPU/CUDA Hamiltonian operator for ED (see ed_operator.hpp).
#include "physics/ed/ed_operator.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "host/core/error.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ed {

namespace {

int64_t binomial(int n, int k) {
  if (k < 0 || k > n) return 0;
  int64_t r = 1;
  for (int i = 1; i <= k; ++i) r = r * (n - k + i) / i;  // exact at every step
  return r;
}

void check_sites(int n_sites) {
  NAQS_REQUIRE(n_sites >= 1 && n_sites <= kEdMaxSites, "exact diagonalisation handles 1 to ",
               kEdMaxSites, " sites, and this lattice has ", n_sites);
}

}  // namespace

EdBasis EdBasis::full(int n_sites) {
  check_sites(n_sites);
  EdBasis b;
  b.view_.kind = ops::kEdFull;
  b.view_.n_sites = n_sites;
  b.view_.parity_sign = 1;
  b.view_.dim = int64_t{1} << n_sites;
  return b;
}

EdBasis EdBasis::parity(int n_sites, int sign) {
  check_sites(n_sites);
  NAQS_CHECK(sign == 1 || sign == -1, "EdBasis::parity: sign ", sign);
  EdBasis b;
  b.view_.kind = ops::kEdParity;
  b.view_.n_sites = n_sites;
  b.view_.parity_sign = sign;
  b.view_.dim = int64_t{1} << (n_sites - 1);
  return b;
}

int64_t EdBasis::sz_dimension(int n_sites, int n_down) { return binomial(n_sites, n_down); }

EdBasis EdBasis::sz(int n_sites, int n_down) {
  check_sites(n_sites);
  NAQS_REQUIRE(n_down >= 0 && n_down <= n_sites, "the Sz sector needs 0 <= n_down <= N = ",
               n_sites, ", got n_down = ", n_down);
  EdBasis b;
  b.view_.kind = ops::kEdSz;
  b.view_.n_sites = n_sites;
  b.view_.parity_sign = 1;
  b.view_.n_set = n_down;
  const int n_lo = n_sites / 2, n_hi = n_sites - n_lo;
  b.view_.n_lo = n_lo;
  // Low tables: values sorted by (popcount, value); rank within their popcount.
  const int64_t n_lo_values = int64_t{1} << n_lo;
  b.lo_start_.assign(n_lo + 2, 0);
  for (int64_t v = 0; v < n_lo_values; ++v) ++b.lo_start_[std::popcount(uint64_t(v)) + 1];
  for (int k = 0; k <= n_lo; ++k) b.lo_start_[k + 1] += b.lo_start_[k];
  b.lo_values_.resize(n_lo_values);
  b.lo_rank_.resize(n_lo_values);
  std::vector<int64_t> fill(b.lo_start_.begin(), b.lo_start_.end() - 1);
  for (int64_t v = 0; v < n_lo_values; ++v) {
    const int k = std::popcount(uint64_t(v));
    b.lo_rank_[v] = static_cast<int32_t>(fill[k] - b.lo_start_[k]);
    b.lo_values_[fill[k]++] = static_cast<uint32_t>(v);
  }
  // High offsets: states in increasing order, grouped by their high part.
  const int64_t n_hi_values = int64_t{1} << n_hi;
  b.hi_offset_.assign(n_hi_values + 1, 0);
  for (int64_t hv = 0; hv < n_hi_values; ++hv)
    b.hi_offset_[hv + 1] =
        b.hi_offset_[hv] + binomial(n_lo, n_down - std::popcount(uint64_t(hv)));
  b.view_.dim = b.hi_offset_.back();
  NAQS_CHECK(b.view_.dim == binomial(n_sites, n_down), "EdBasis::sz: dimension mismatch");
  b.refresh_view();
  return b;
}

void EdBasis::refresh_view() {
  view_.hi_offset = hi_offset_.empty() ? nullptr : hi_offset_.data();
  view_.lo_rank = lo_rank_.empty() ? nullptr : lo_rank_.data();
  view_.lo_values = lo_values_.empty() ? nullptr : lo_values_.data();
  view_.lo_start = lo_start_.empty() ? nullptr : lo_start_.data();
}

std::size_t EdBasis::table_bytes() const {
  return hi_offset_.size() * 8 + lo_rank_.size() * 4 + lo_values_.size() * 4 +
         lo_start_.size() * 8;
}

std::string EdBasis::str() const {
  switch (kind()) {
    case ops::kEdFull: return "full";
    case ops::kEdParity: return parity_sign() > 0 ? "parity even" : "parity odd";
    default: {
      const int two_sz = n_sites() - 2 * n_down();
      return two_sz % 2 == 0 ? cat("sz n_down=", n_down(), " (Sz=", two_sz / 2, ")")
                             : cat("sz n_down=", n_down(), " (Sz=", two_sz, "/2)");
    }
  }
}

uint64_t EdBasis::state(int64_t i) const {
  NAQS_CHECK(i >= 0 && i < dim(), "EdBasis::state: index ", i, " outside [0, ", dim(), ")");
  return kind() == ops::kEdSz ? ops::ed_state<ops::kEdSz>(view_, i) : uint64_t(i);
}

int64_t EdBasis::index(uint64_t s, double& sign) const {
  switch (kind()) {
    case ops::kEdFull: return ops::ed_index<ops::kEdFull>(view_, s, sign);
    case ops::kEdParity: return ops::ed_index<ops::kEdParity>(view_, s, sign);
    default:
      if (std::popcount(s) != n_down()) return -1;
      return ops::ed_index<ops::kEdSz>(view_, s, sign);
  }
}

EdBasis make_basis(const Hamiltonian& H, const SpinHilbert& hilbert) {
  const int n = H.n_sites();
  NAQS_REQUIRE(hilbert.n_sites() == n, "a Hilbert space of ", hilbert.n_sites(), " sites for ",
               H.str());
  if (hilbert.constrained()) {
    NAQS_REQUIRE(H.conserves_sz(), "a fixed magnetisation (", hilbert.str(), ") for ", H.str(),
                 ", which does not conserve Sz");
    return EdBasis::sz(n, static_cast<int>(hilbert.n_down()));
  }
  if (H.params().model == Model::tfim && H.has_flip_symmetry()) return EdBasis::parity(n, 1);
  return EdBasis::full(n);
}

int64_t ed_memory_bytes(int64_t dim, int n_vectors, std::size_t table_bytes) {
  return dim * 8 * n_vectors + static_cast<int64_t>(table_bytes);
}

int64_t memory_available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t value;
  std::string unit;
  while (in >> key >> value) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return value * 1024;
  }
  return -1;
}

void require_memory(int64_t bytes, const Device& device, const std::string& what) {
  const double gib = 1024.0 * 1024.0 * 1024.0;
  const int64_t host = memory_available_bytes();
  NAQS_REQUIRE(host < 0 || bytes <= host, what, " needs ", bytes, " bytes (",
               bytes / gib, " GiB) of memory, and only ", host, " bytes (", host / gib,
               " GiB) are available (MemAvailable); use a smaller lattice or a symmetry sector");
  if (device.is_cuda()) {
    const int64_t free_dev = device_free_memory(device);
    NAQS_REQUIRE(bytes <= free_dev, what, " needs ", bytes, " bytes (", bytes / gib,
                 " GiB) of GPU memory, and only ", free_dev, " bytes (", free_dev / gib,
                 " GiB) are free on ", device.str(), "; use a smaller lattice or --device cpu");
  }
}

// ---- CPU product ----------------------------------------------------------------------------
// The hot loop is compiled twice on x86-64 (AVX2/POPCNT and baseline) and picked at run time, so
// the default build flags stay portable while popcount is one instruction where available.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NAQS_ED_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define NAQS_ED_CLONES
#endif

namespace {

#define NAQS_ED_INLINE inline __attribute__((always_inline))

// The fast CPU paths below use the operator's grouped form (ops::SpinBitGroup: rows of one kind
// with the same partner shift and coefficient share one mask), copied per product into vectors
// by kind:
//   diagonal(s) = diag_const − 2 Σ_zz coef·popcount((s ^ (s >> shift)) & mask)
//                            − 2 Σ_z  coef·popcount(s & mask)
using BitGroup = ops::SpinBitGroup;

struct BitTerms {
  double diag_const = 0;
  int n_zz = 0, n_z = 0, n_flip = 0, n_exchange = 0;
  std::vector<BitGroup> zz, z, flip, exchange;
};

BitTerms group_terms(const ops::SpinOperatorView& op) {
  NAQS_CHECK(op.groups != nullptr || op.n_zz + op.n_z + op.n_flip + op.n_exch == 0,
             "ed_matvec_cpu: the operator has no grouped form (more than 64 sites)");
  BitTerms t;
  t.diag_const = op.diag_const;
  const BitGroup* g = op.groups;
  t.zz.assign(g, g + op.g_zz);
  t.z.assign(g + op.g_zz, g + op.g_zz + op.g_z);
  t.flip.assign(g + op.g_zz + op.g_z, g + op.g_zz + op.g_z + op.g_flip);
  t.exchange.assign(g + op.g_zz + op.g_z + op.g_flip,
                    g + op.g_zz + op.g_z + op.g_flip + op.g_exch);
  t.n_zz = op.g_zz;
  t.n_z = op.g_z;
  t.n_flip = op.g_flip;
  t.n_exchange = op.g_exch;
  return t;
}

template <int Kind>
NAQS_ED_INLINE void rows_range(const ops::SpinOperatorView& t, const ops::EdSectorView& v,
                               const double* x, double* y, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i)
    y[i] = ops::ed_row<Kind>(t, v, static_cast<uint64_t>(i), i, x);
}

NAQS_ED_CLONES void rows_full(const ops::SpinOperatorView& t, const ops::EdSectorView& v,
                              const double* x, double* y, int64_t begin, int64_t end) {
  rows_range<ops::kEdFull>(t, v, x, y, begin, end);
}

NAQS_ED_CLONES void rows_parity(const ops::SpinOperatorView& t, const ops::EdSectorView& v,
                                const double* x, double* y, int64_t begin, int64_t end) {
  rows_range<ops::kEdParity>(t, v, x, y, begin, end);
}

// ---- full and parity sectors without exchange terms (the TFIM) ----
// The same terms as ed_row, arranged for SIMD and cache. Rows go in aligned blocks of
// B = 2^b consecutive states s0 + k (k < B), and the output block y[s0 .. s0+B) is built in
// cache in one visit:
//   1. the diagonal d(s0 + k): a table over k, a per-block constant and a few ± sweeps
//      (below), multiplied by x_k in the sweep that also does the flips of bits 0 and 1;
//   2. flips of bits i < b stay in the block: y_k += c x_{k ^ 2^i}, bits 0 and 1 with
//      in-register shuffles in the sweep that multiplies by x, the others three bits per sweep
//      as contiguous eighth-block swaps (vectorisable);
//   3. flips of bits i >= b map the block onto another contiguous block of x (reversed when the
//      parity sector's top bit flips, since ~(t + k) = ~t − k): y_k += Σ c x_{j0 ± k}, eight
//      source blocks per sweep.
// Memory traffic per state: y written once, x read once for the block itself plus once per
// high bit whose partner block has left the cache. The summation order differs from ed_row
// (the reference) by rounding only.
constexpr int kTfimBlockBits = 11;  // 16 KiB of y and 16 KiB of x: the pair stays in L1/L2

// y_k += Σ_r c_r src_r[k] over blocks added one by one, swept eight at a time (one pass over y
// per eight sources instead of one per source).
struct SourceBlocks {
  static constexpr int kMax = 8;
  const double* src[kMax];
  double coef[kMax];
  int n = 0;
  NAQS_ED_INLINE void add(double* y, int64_t len, const double* from, double c) {
    src[n] = from;
    coef[n++] = c;
    if (n == kMax) flush(y, len);
  }
  NAQS_ED_INLINE void flush(double* __restrict__ y, int64_t len) {
    if (n == 0) return;
    if (n <= 4) {
      for (int r = n; r < 4; ++r) {
        src[r] = src[0];
        coef[r] = 0;
      }
      const double* __restrict__ p0 = src[0];
      const double* __restrict__ p1 = src[1];
      const double* __restrict__ p2 = src[2];
      const double* __restrict__ p3 = src[3];
      const double c0 = coef[0], c1 = coef[1], c2 = coef[2], c3 = coef[3];
      for (int64_t k = 0; k < len; ++k)
        y[k] += (c0 * p0[k] + c1 * p1[k]) + (c2 * p2[k] + c3 * p3[k]);
    } else {
      for (int r = n; r < kMax; ++r) {
        src[r] = src[0];
        coef[r] = 0;
      }
      const double* __restrict__ p0 = src[0];
      const double* __restrict__ p1 = src[1];
      const double* __restrict__ p2 = src[2];
      const double* __restrict__ p3 = src[3];
      const double* __restrict__ p4 = src[4];
      const double* __restrict__ p5 = src[5];
      const double* __restrict__ p6 = src[6];
      const double* __restrict__ p7 = src[7];
      const double c0 = coef[0], c1 = coef[1], c2 = coef[2], c3 = coef[3];
      const double c4 = coef[4], c5 = coef[5], c6 = coef[6], c7 = coef[7];
      for (int64_t k = 0; k < len; ++k)
        y[k] += ((c0 * p0[k] + c1 * p1[k]) + (c2 * p2[k] + c3 * p3[k])) +
                ((c4 * p4[k] + c5 * p5[k]) + (c6 * p6[k] + c7 * p7[k]));
    }
    n = 0;
  }
};

// y_k += ci x_{k^wi} + cj x_{k^wj} for all k < n, wi < wj powers of two (vectorised for
// wi >= 4).
NAQS_ED_INLINE void flip_pair(double* __restrict__ y, const double* __restrict__ x, int64_t n,
                              int64_t wi, double ci, int64_t wj, double cj) {
  for (int64_t hi = 0; hi < n; hi += 2 * wj)
    for (int64_t mid = hi; mid < hi + wj; mid += 2 * wi) {
      double* __restrict__ y00 = y + mid;
      double* __restrict__ y01 = y + mid + wi;
      double* __restrict__ y10 = y + mid + wj;
      double* __restrict__ y11 = y + mid + wj + wi;
      const double* __restrict__ x00 = x + mid;
      const double* __restrict__ x01 = x + mid + wi;
      const double* __restrict__ x10 = x + mid + wj;
      const double* __restrict__ x11 = x + mid + wj + wi;
      for (int64_t k = 0; k < wi; ++k) {
        y00[k] += ci * x01[k] + cj * x10[k];
        y01[k] += ci * x00[k] + cj * x11[k];
        y10[k] += ci * x11[k] + cj * x00[k];
        y11[k] += ci * x10[k] + cj * x01[k];
      }
    }
}

// y_k += ci x_{k^wi} + cj x_{k^wj} + cl x_{k^wl} for all k < n, wi < wj < wl powers of two.
NAQS_ED_INLINE void flip_triple(double* __restrict__ y, const double* __restrict__ x, int64_t n,
                                int64_t wi, double ci, int64_t wj, double cj, int64_t wl,
                                double cl) {
  for (int64_t top = 0; top < n; top += 2 * wl)
    for (int64_t hi = top; hi < top + wl; hi += 2 * wj)
      for (int64_t mid = hi; mid < hi + wj; mid += 2 * wi) {
        double* __restrict__ y0 = y + mid;
        double* __restrict__ y1 = y + mid + wi;
        double* __restrict__ y2 = y + mid + wj;
        double* __restrict__ y3 = y + mid + wj + wi;
        double* __restrict__ y4 = y + mid + wl;
        double* __restrict__ y5 = y + mid + wl + wi;
        double* __restrict__ y6 = y + mid + wl + wj;
        double* __restrict__ y7 = y + mid + wl + wj + wi;
        const double* __restrict__ x0 = x + mid;
        const double* __restrict__ x1 = x + mid + wi;
        const double* __restrict__ x2 = x + mid + wj;
        const double* __restrict__ x3 = x + mid + wj + wi;
        const double* __restrict__ x4 = x + mid + wl;
        const double* __restrict__ x5 = x + mid + wl + wi;
        const double* __restrict__ x6 = x + mid + wl + wj;
        const double* __restrict__ x7 = x + mid + wl + wj + wi;
        for (int64_t k = 0; k < wi; ++k) {  // sub-block q's partners: q^1, q^2, q^4
          y0[k] += ci * x1[k] + cj * x2[k] + cl * x4[k];
          y1[k] += ci * x0[k] + cj * x3[k] + cl * x5[k];
          y2[k] += ci * x3[k] + cj * x0[k] + cl * x6[k];
          y3[k] += ci * x2[k] + cj * x1[k] + cl * x7[k];
          y4[k] += ci * x5[k] + cj * x6[k] + cl * x0[k];
          y5[k] += ci * x4[k] + cj * x7[k] + cl * x1[k];
          y6[k] += ci * x7[k] + cj * x4[k] + cl * x2[k];
          y7[k] += ci * x6[k] + cj * x5[k] + cl * x3[k];
        }
      }
}

// diag_low is (2^b,): the diagonal's part that depends on the low b bits only (tfim_diag_low).
template <int Kind>
NAQS_ED_INLINE void tfim_block(const BitTerms& t, const ops::EdSectorView& v, int b,
                               const double* __restrict__ diag_low, const double* __restrict__ x,
                               double* __restrict__ y, int64_t s0) {
  const int64_t n_block = int64_t{1} << b;
  const double* __restrict__ xb = x + s0;
  double* __restrict__ yb = y + s0;
  // 1. diagonal: with s = s0 | k and s0's low b bits clear, s ^ (s >> sh) = A ^ K with
  //    A = s0 ^ (s0 >> sh) and K = k ^ (k >> sh) (shifts and xor are linear over bits). K lives
  //    in the low b bits, and the low bits of A only at positions p >= b − sh, where K_p = k_p.
  //    So popcount((A ^ K) & mask) = popcount(A & mask & high) + popcount(K & mask)
  //    + Σ_{p in A & mask & low} (1 − 2 k_p): a per-block constant, a table over k (diag_low) and
  //    a few ± half-block sweeps. Z groups split the same way (without the sweeps).
  const uint64_t low_mask = (uint64_t{1} << b) - 1;
  const uint64_t s0u = static_cast<uint64_t>(s0);
  double c_block = 0;
  double w_bit[64];
  uint64_t w_bits = 0;
  for (int g = 0; g < t.n_zz; ++g) {
    const uint64_t a = (s0u ^ (s0u >> t.zz[g].shift)) & t.zz[g].mask;
    const double c2 = 2 * t.zz[g].coef;
    c_block -= c2 * std::popcount(a & ~low_mask);
    for (uint64_t m = a & low_mask; m; m &= m - 1) {
      const int p = std::countr_zero(m);
      if (!((w_bits >> p) & 1)) w_bit[p] = 0;
      w_bits |= uint64_t{1} << p;
      w_bit[p] -= c2;
    }
  }
  for (int g = 0; g < t.n_z; ++g)
    c_block -= 2 * t.z[g].coef * std::popcount(s0u & t.z[g].mask & ~low_mask);
  for (int64_t k = 0; k < n_block; ++k) yb[k] = c_block + diag_low[k];
  for (uint64_t m = w_bits & ~uint64_t{3}; m; m &= m - 1) {  // + w for k_p = 0, − w for k_p = 1
    const int p = std::countr_zero(m);
    const int64_t w = int64_t{1} << p;
    const double wp = w_bit[p];
    for (int64_t base = 0; base < n_block; base += 2 * w) {
      double* __restrict__ y0 = yb + base;
      double* __restrict__ y1 = yb + base + w;
      for (int64_t k = 0; k < w; ++k) {
        y0[k] += wp;
        y1[k] -= wp;
      }
    }
  }
  // Flip coefficients per bit (a bit in several groups adds its coefficients).
  double coef[64] = {};
  uint64_t bits = 0;
  for (int g = 0; g < t.n_flip; ++g)
    for (uint64_t m = t.flip[g].mask; m; m &= m - 1) {
      coef[std::countr_zero(m)] += t.flip[g].coef;
      bits |= m & (~m + 1);
    }
  // 2. one sweep: the diagonal's bits 0 and 1 (signs fixed per lane), the product with x, and
  //    the flips of bits 0 and 1 (in-register shuffles); then the other low bits three at a time
  {
    const double w0 = (w_bits & 1) ? w_bit[0] : 0.0, w1 = (w_bits & 2) ? w_bit[1] : 0.0;
    const double d0 = w0 + w1, d1 = -w0 + w1, d2 = w0 - w1, d3 = -w0 - w1;
    const double c0 = coef[0], c1 = coef[1];
    for (int64_t k = 0; k < n_block; k += 4) {
      const double x0 = xb[k], x1 = xb[k + 1], x2 = xb[k + 2], x3 = xb[k + 3];
      yb[k] = (yb[k] + d0) * x0 + (c0 * x1 + c1 * x2);
      yb[k + 1] = (yb[k + 1] + d1) * x1 + (c0 * x0 + c1 * x3);
      yb[k + 2] = (yb[k + 2] + d2) * x2 + (c0 * x3 + c1 * x0);
      yb[k + 3] = (yb[k + 3] + d3) * x3 + (c0 * x2 + c1 * x1);
    }
  }
  int low_bits[64];
  int n_low = 0;
  for (uint64_t m = bits & low_mask & ~uint64_t{3}; m; m &= m - 1)
    low_bits[n_low++] = std::countr_zero(m);
  int q = 0;
  for (; q + 3 <= n_low; q += 3) {
    const int i = low_bits[q], j = low_bits[q + 1], l = low_bits[q + 2];
    flip_triple(yb, xb, n_block, int64_t{1} << i, coef[i], int64_t{1} << j, coef[j],
                int64_t{1} << l, coef[l]);
  }
  if (q + 2 == n_low) {
    const int i = low_bits[q], j = low_bits[q + 1];
    flip_pair(yb, xb, n_block, int64_t{1} << i, coef[i], int64_t{1} << j, coef[j]);
  } else if (q + 1 == n_low) {  // one left: pair it with a neighbour bit, coefficient 0
    const int i = low_bits[q], j = i + 1 < b ? i + 1 : i - 1;
    if (i < j) flip_pair(yb, xb, n_block, int64_t{1} << i, coef[i], int64_t{1} << j, 0.0);
    else flip_pair(yb, xb, n_block, int64_t{1} << j, 0.0, int64_t{1} << i, coef[i]);
  }
  // 3. high bits: up to eight source blocks per sweep; the parity top bit (reversed) alone
  SourceBlocks src;
  for (uint64_t m = bits >> b; m; m &= m - 1) {
    const int i = std::countr_zero(m) + b;
    double sign;
    const uint64_t t0 = static_cast<uint64_t>(s0) ^ (uint64_t{1} << i);
    const int64_t j0 = ops::ed_index<Kind>(v, t0, sign);
    if (Kind == ops::kEdParity && ((t0 >> (v.n_sites - 1)) & 1)) {
      const double* __restrict__ xr = x + j0 - (n_block - 1);  // index of t0 + k is j0 − k
      const double cs = coef[i] * sign;
      for (int64_t k = 0; k < n_block; ++k) yb[k] += cs * xr[n_block - 1 - k];
      continue;
    }
    src.add(yb, n_block, x + j0, coef[i]);
  }
  src.flush(yb, n_block);
}

// One block, compiled twice on x86-64 (AVX2/FMA/POPCNT and baseline) and picked at run time.
// The clones must sit inside the OpenMP loop: GCC outlines a parallel region's body into one
// baseline function, whatever the enclosing function's target.
NAQS_ED_CLONES void tfim_block_full(const BitTerms& t, const ops::EdSectorView& v, int b,
                                    const double* diag_low, const double* x, double* y,
                                    int64_t s0) {
  tfim_block<ops::kEdFull>(t, v, b, diag_low, x, y, s0);
}

NAQS_ED_CLONES void tfim_block_parity(const BitTerms& t, const ops::EdSectorView& v, int b,
                                      const double* diag_low, const double* x, double* y,
                                      int64_t s0) {
  tfim_block<ops::kEdParity>(t, v, b, diag_low, x, y, s0);
}

// The diagonal of every state k < 2^b (bits >= b clear), from the operator's primitive.
std::vector<double> tfim_diag_low(const ops::SpinOperatorView& op, int b) {
  std::vector<double> d(std::size_t{1} << b);
  for (std::size_t k = 0; k < d.size(); ++k) d[k] = ops::spin_diagonal(op, ops::PackedSpins{k});
  return d;
}

void tfim_blocks(const ops::SpinOperatorView& op, const ops::EdSectorView& v, const double* x,
                 double* y) {
  const BitTerms t = group_terms(op);
  const int bits = std::countr_zero(static_cast<uint64_t>(v.dim));  // dim is a power of two
  const int b = std::min(bits, kTfimBlockBits);
  const bool full = v.kind == ops::kEdFull;
  if (b < 2) {  // dim 1 or 2: the reference rows
    if (full) rows_full(op, v, x, y, 0, v.dim);
    else rows_parity(op, v, x, y, 0, v.dim);
    return;
  }
  const int64_t n_blocks = v.dim >> b;
  const std::vector<double> diag_low = tfim_diag_low(op, b);
  const double* dl = diag_low.data();
  // dynamic: on a shared machine a descheduled thread's blocks are taken by the other one
#pragma omp parallel for schedule(dynamic, 1) if (n_blocks > 1)
  for (int64_t blk = 0; blk < n_blocks; ++blk) {
    if (full) tfim_block_full(t, v, b, dl, x, y, blk << b);
    else tfim_block_parity(t, v, b, dl, x, y, blk << b);
  }
}

// Rows of the sz sector whose high part is hv (consecutive indices hi_offset[hv]...), by the
// reference formula.
NAQS_ED_CLONES void rows_sz(const ops::SpinOperatorView& t, const ops::EdSectorView& v,
                            const double* x, double* y, int64_t hv) {
  const int64_t begin = v.hi_offset[hv], end = v.hi_offset[hv + 1];
  if (begin == end) return;
  const int k = v.n_set - std::popcount(static_cast<uint64_t>(hv));
  const uint32_t* lows = v.lo_values + v.lo_start[k];
  const uint64_t high = static_cast<uint64_t>(hv) << v.n_lo;
  for (int64_t i = begin; i < end; ++i)
    y[i] = ops::ed_row<ops::kEdSz>(t, v, high | lows[i - begin], i, x);
}

template <class F>
void for_each_hi(const ops::EdSectorView& v, F&& f) {
  const int64_t n_hi = int64_t{1} << (v.n_sites - v.n_lo);
#pragma omp parallel for schedule(dynamic, 16) if (v.dim > (1 << 14))
  for (int64_t hv = 0; hv < n_hi; ++hv) f(hv);
}

// ---- the sz sector, grouped by the high part ----
// Rows with the same high part hv are consecutive (the "group" of hv), and their low parts run
// through the same sorted list in every group with the same popcount ("class" k of the low
// part). Each bond (p, p + shift) is one of three kinds relative to the split at n_lo:
//   low  (both sites low):  depends on the low part only. Its diagonal part comes from a table
//                           over the class list (diag_low); its exchanges pair rows r, r' of
//                           the same group, listed once per class (pairs) and applied as
//                           y_r += c x_r', y_r' += c x_r without any bit loop;
//   high (both sites high): depends on hv only: a per-group constant on the diagonal, and an
//                           exchange maps the group's r-th row onto the r-th row of group hv'
//                           (same popcount), so it adds a whole contiguous block of x
//                           (vectorisable, eight blocks per sweep, as the TFIM's high flips);
//   cross:                  per row, through the general index hi_offset[s' >> n_lo] +
//                           lo_rank[s' & low] (two bonds for a periodic chain).
struct SzBondGroup {
  uint64_t low_mask, cross_mask, high_mask;  // high_mask in hv's bit positions
  int shift;
  double coef;
};

SzBondGroup split_group(uint64_t mask, int shift, double coef, int n_lo) {
  SzBondGroup e{0, 0, 0, shift, coef};
  for (uint64_t m = mask; m; m &= m - 1) {
    const int p = std::countr_zero(m);
    if (p + shift < n_lo) e.low_mask |= uint64_t{1} << p;
    else if (p >= n_lo) e.high_mask |= uint64_t{1} << (p - n_lo);
    else e.cross_mask |= uint64_t{1} << p;
  }
  return e;
}

struct SzTables {
  int n_zz = 0, n_exchange = 0;
  std::vector<SzBondGroup> zz, exchange;
  std::vector<double> diag_low;      // (2^n_lo,) in lo_values order: the low part's diagonal
  std::vector<int32_t> pairs;        // (r, r') with r < r', per class k and exchange group g
  std::vector<int64_t> pair_start;   // ((n_lo + 1) · n_exchange + 1,) offsets into pairs (/2)
};

SzTables build_sz_tables(const BitTerms& t, const ops::EdSectorView& v) {
  SzTables tb;
  const int n_lo = v.n_lo;
  const uint64_t low_all = (uint64_t{1} << n_lo) - 1;
  tb.n_zz = t.n_zz;
  for (int g = 0; g < t.n_zz; ++g)
    tb.zz.push_back(split_group(t.zz[g].mask, t.zz[g].shift, t.zz[g].coef, n_lo));
  tb.n_exchange = t.n_exchange;
  for (int g = 0; g < t.n_exchange; ++g)
    tb.exchange.push_back(split_group(t.exchange[g].mask, t.exchange[g].shift,
                                      t.exchange[g].coef, n_lo));
  const int64_t n_values = int64_t{1} << n_lo;
  tb.diag_low.resize(n_values);
  for (int64_t idx = 0; idx < n_values; ++idx) {
    const uint64_t lo = v.lo_values[idx];
    double d = t.diag_const;
    for (int g = 0; g < tb.n_zz; ++g)
      d -= 2 * tb.zz[g].coef * std::popcount((lo ^ (lo >> tb.zz[g].shift)) & tb.zz[g].low_mask);
    for (int g = 0; g < t.n_z; ++g) d -= 2 * t.z[g].coef * std::popcount(lo & t.z[g].mask);
    tb.diag_low[idx] = d;
  }
  tb.pair_start.assign(static_cast<std::size_t>(n_lo + 1) * tb.n_exchange + 1, 0);
  for (int k = 0; k <= n_lo; ++k)
    for (int g = 0; g < tb.n_exchange; ++g) {
      const SzBondGroup& e = tb.exchange[g];
      // bond by bond: each bond pairs every row at most once, so consecutive pairs touch
      // distinct rows and the update loop carries no dependency from one pair to the next
      for (uint64_t m = e.low_mask; m; m &= m - 1) {
        const uint64_t bit = m & (~m + 1), flip = bit | (bit << e.shift);
        for (int64_t idx = v.lo_start[k]; idx < v.lo_start[k + 1]; ++idx) {
          const uint64_t lo = v.lo_values[idx];
          if (((lo >> std::countr_zero(bit)) ^ (lo >> (std::countr_zero(bit) + e.shift))) & 1) {
            const int32_t r = static_cast<int32_t>(idx - v.lo_start[k]);
            const int32_t r2 = v.lo_rank[(lo ^ flip) & low_all];
            if (r < r2) {
              tb.pairs.push_back(r);
              tb.pairs.push_back(r2);
            }
          }
        }
      }
      tb.pair_start[static_cast<std::size_t>(k) * tb.n_exchange + g + 1] =
          static_cast<int64_t>(tb.pairs.size() / 2);
    }
  return tb;
}

NAQS_ED_CLONES void sz_group(const BitTerms& t, const SzTables& tb,
                             const ops::EdSectorView& v, const double* __restrict__ x,
                             double* __restrict__ y, int64_t hv) {
  const int64_t base = v.hi_offset[hv], n = v.hi_offset[hv + 1] - base;
  if (n == 0) return;
  const uint64_t hvu = static_cast<uint64_t>(hv);
  const int k = v.n_set - std::popcount(hvu);
  const uint32_t* __restrict__ lows = v.lo_values + v.lo_start[k];
  const double* __restrict__ diag_low = tb.diag_low.data() + v.lo_start[k];
  const int32_t* __restrict__ rank = v.lo_rank;
  const int64_t* __restrict__ offset = v.hi_offset;
  const int n_lo = v.n_lo;
  const uint64_t high = hvu << n_lo, low_all = (uint64_t{1} << n_lo) - 1;
  const double* __restrict__ xg = x + base;
  double* __restrict__ yg = y + base;
  // the groups through local pointers (the vectors' data pointers loaded once)
  const SzBondGroup* __restrict__ zz = tb.zz.data();
  const SzBondGroup* __restrict__ ex = tb.exchange.data();
  const BitGroup* __restrict__ zg = t.z.data();
  const int n_zz = tb.n_zz, n_ex = tb.n_exchange, n_z = t.n_z;
  double diag_high = 0;
  for (int g = 0; g < n_zz; ++g)
    diag_high -= 2 * zz[g].coef *
                 std::popcount((hvu ^ (hvu >> zz[g].shift)) & zz[g].high_mask);
  for (int g = 0; g < n_z; ++g)
    diag_high -= 2 * zg[g].coef * std::popcount(high & zg[g].mask);
  // rows: diagonal and cross bonds
  for (int64_t r = 0; r < n; ++r) {
    const uint64_t s = high | lows[r];
    double d = diag_high + diag_low[r];
    for (int g = 0; g < n_zz; ++g)
      d -= 2 * zz[g].coef * std::popcount((s ^ (s >> zz[g].shift)) & zz[g].cross_mask);
    double acc = d * xg[r];
    for (int g = 0; g < n_ex; ++g) {
      const SzBondGroup& e = ex[g];
      double part = 0;
      for (uint64_t m = (s ^ (s >> e.shift)) & e.cross_mask; m; m &= m - 1) {
        const uint64_t bit = m & (~m + 1);
        const uint64_t s2 = s ^ (bit | (bit << e.shift));
        part += x[offset[s2 >> n_lo] + rank[s2 & low_all]];
      }
      acc += e.coef * part;
    }
    yg[r] = acc;
  }
  // low bonds: the class's pair list
  for (int g = 0; g < n_ex; ++g) {
    const double c = ex[g].coef;
    const std::size_t slot = static_cast<std::size_t>(k) * tb.n_exchange + g;
    const int32_t* __restrict__ p = tb.pairs.data() + 2 * tb.pair_start[slot];
    const int64_t n_pairs = tb.pair_start[slot + 1] - tb.pair_start[slot];
    for (int64_t q = 0; q < n_pairs; ++q) {
      const int32_t a = p[2 * q], b = p[2 * q + 1];
      yg[a] += c * xg[b];
      yg[b] += c * xg[a];
    }
  }
  // high bonds: whole blocks
  SourceBlocks src;
  for (int g = 0; g < n_ex; ++g) {
    const SzBondGroup& e = ex[g];
    for (uint64_t m = (hvu ^ (hvu >> e.shift)) & e.high_mask; m; m &= m - 1) {
      const uint64_t bit = m & (~m + 1);
      src.add(yg, n, x + offset[hvu ^ (bit | (bit << e.shift))], e.coef);
    }
  }
  src.flush(yg, n);
}

}  // namespace

void ed_matvec_reference_cpu(const ops::SpinOperatorView& op, const ops::EdSectorView& v,
                             const double* x, double* y) {
  NAQS_CHECK(x != y, "ed_matvec_reference_cpu: x and y must not alias");
  if (v.kind == ops::kEdSz)
    return for_each_hi(v, [&](int64_t hv) { rows_sz(op, v, x, y, hv); });
  constexpr int64_t kChunk = 4096;
  const int64_t n_chunks = (v.dim + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n_chunks > 4)
  for (int64_t c = 0; c < n_chunks; ++c) {
    const int64_t begin = c * kChunk, end = std::min(v.dim, begin + kChunk);
    if (v.kind == ops::kEdFull) rows_full(op, v, x, y, begin, end);
    else rows_parity(op, v, x, y, begin, end);
  }
}

void ed_matvec_cpu(const ops::SpinOperatorView& op, const ops::EdSectorView& v, const double* x,
                   double* y) {
  NAQS_CHECK(x != y, "ed_matvec_cpu: x and y must not alias");
  if (v.kind == ops::kEdSz) {
    if (op.n_flip > 0) return ed_matvec_reference_cpu(op, v, x, y);  // (no such H conserves Sz)
    const BitTerms t = group_terms(op);
    const SzTables tb = build_sz_tables(t, v);
    return for_each_hi(v, [&](int64_t hv) { sz_group(t, tb, v, x, y, hv); });
  }
  if (op.n_exch > 0) return ed_matvec_reference_cpu(op, v, x, y);
  tfim_blocks(op, v, x, y);
}

// ---- the operator ---------------------------------------------------------------------------
// The basis tables and the x/y vectors on the device, in the runtime's caching allocator (u8
// tensors hold the integer tables byte for byte).
struct EdOperator::DeviceState {
  template <class T>
  static Tensor upload(const std::vector<T>& v, Device device) {
    const int64_t bytes = static_cast<int64_t>(v.size() * sizeof(T));
    Tensor t = Tensor::empty({bytes}, DType::u8, device);
    copy_bytes(t.raw_data(), device, v.data(), Device::cpu(), static_cast<std::size_t>(bytes));
    return t;
  }
  Tensor hi_offset, lo_rank, lo_values, lo_start, x, y;
  ops::EdSectorView view{};
  ops::SpinOperator op;          // the operator's table on the device
  ops::SpinOperatorView op_view{};
};

EdOperator::EdOperator(const Hamiltonian& H, const EdBasis& basis, Device device)
    : basis_(&basis), device_(device), op_(H.op()), view_(op_.view("EdOperator")) {
  NAQS_CHECK(H.n_sites() == basis.n_sites(), "EdOperator: H has ", H.n_sites(),
             " sites and the basis ", basis.n_sites());
  NAQS_CHECK(basis.kind() != ops::kEdSz || H.conserves_sz(),
             "EdOperator: an Sz sector for ", H.str(), ", which does not conserve Sz");
  NAQS_CHECK(basis.kind() != ops::kEdParity || H.has_flip_symmetry(),
             "EdOperator: a parity sector for ", H.str(), ", which has a longitudinal field");
  if (device.is_cuda()) {
    dev_ = std::make_unique<DeviceState>();
    dev_->hi_offset = DeviceState::upload(basis.hi_offset(), device);
    dev_->lo_rank = DeviceState::upload(basis.lo_rank(), device);
    dev_->lo_values = DeviceState::upload(basis.lo_values(), device);
    dev_->lo_start = DeviceState::upload(basis.lo_start(), device);
    dev_->x = Tensor::empty({basis.dim()}, DType::f64, device);
    dev_->y = Tensor::empty({basis.dim()}, DType::f64, device);
    dev_->view = basis.view();
    dev_->view.hi_offset = static_cast<const int64_t*>(dev_->hi_offset.raw_data());
    dev_->view.lo_rank = static_cast<const int32_t*>(dev_->lo_rank.raw_data());
    dev_->view.lo_values = static_cast<const uint32_t*>(dev_->lo_values.raw_data());
    dev_->view.lo_start = static_cast<const int64_t*>(dev_->lo_start.raw_data());
    dev_->op = op_.to(device);
    dev_->op_view = dev_->op.view("EdOperator");
  }
}

EdOperator::~EdOperator() = default;

void EdOperator::apply(const double* x, double* y) const {
  if (device_.is_cpu()) {
    ed_matvec_cpu(view_, basis_->view(), x, y);
    return;
  }
  const std::size_t bytes = dim() * sizeof(double);
  copy_bytes(dev_->x.raw_data(), device_, x, Device::cpu(), bytes);
  apply_device(dev_->x.data<double>(), dev_->y.data<double>());
  copy_bytes(y, Device::cpu(), dev_->y.raw_data(), device_, bytes);
}

void EdOperator::apply_device(const double* x_device, double* y_device) const {
  NAQS_CHECK(device_.is_cuda(), "EdOperator::apply_device on ", device_.str());
  ops::ed_matvec_device(dev_->op_view, dev_->view, x_device, y_device, device_);
}

}  // namespace naqs::ed
