// Sectors, memory estimates and the CPU/CUDA Hamiltonian operator for ED (see ed_operator.hpp).
#include "validation/ed/ed_operator.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "host/core/cuda_runtime.hpp"
#include "host/core/error.hpp"

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

EdBasis make_basis(const Hamiltonian& H, int n_down) {
  const int n = H.n_sites();
  if (H.conserves_sz() && n_down >= 0) return EdBasis::sz(n, n_down);
  NAQS_CHECK(n_down < 0 || H.conserves_sz(), "make_basis: an Sz sector for a Hamiltonian that "
             "does not conserve Sz (", H.str(), ")");
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
#if NAQS_HAVE_CUDA
  if (device.is_cuda()) {
    cuda_rt::set_device(device.index);
    const int64_t free_dev = static_cast<int64_t>(cuda_rt::free_memory());
    NAQS_REQUIRE(bytes <= free_dev, what, " needs ", bytes, " bytes (", bytes / gib,
                 " GiB) of GPU memory, and only ", free_dev, " bytes (", free_dev / gib,
                 " GiB) are free on ", device.str(), "; use a smaller lattice or --device cpu");
  }
#else
  (void)device;
#endif
}

ops::EdTerms pack_terms(const Hamiltonian& H) {
  const PackedTerms& p = H.packed();
  ops::EdTerms t{};
  t.diag_const = p.diag_const;
  auto copy = [&](const std::vector<BitGroup>& from, ops::EdBitGroup* to, int32_t& n,
                  const char* what) {
    NAQS_REQUIRE(from.size() <= static_cast<std::size_t>(ops::kEdMaxGroups), "ED supports at "
                 "most ", ops::kEdMaxGroups, " groups of ", what, " terms, and ", H.str(),
                 " has ", from.size());
    n = static_cast<int32_t>(from.size());
    for (std::size_t g = 0; g < from.size(); ++g)
      to[g] = ops::EdBitGroup{from[g].mask, from[g].shift, from[g].coef};
  };
  copy(p.zz, t.zz, t.n_zz, "ZZ");
  copy(p.z, t.z, t.n_z, "Z");
  copy(p.flip, t.flip, t.n_flip, "X");
  copy(p.exchange, t.exchange, t.n_exchange, "exchange");
  return t;
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

template <int Kind>
inline void rows_range(const ops::EdTerms& t, const ops::EdSectorView& v, const double* x,
                       double* y, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i)
    y[i] = ops::ed_row<Kind>(t, v, static_cast<uint64_t>(i), i, x);
}

// Full and parity sectors without exchange terms (the TFIM): the same terms as ed_row, arranged
// for SIMD. Rows go in aligned blocks of 64 consecutive states s0 + k; flipping a bit >= 64 maps
// the block onto another contiguous block (reversed when the parity sector's top bit flips, since
// ~(t + k) = ~t − k), and flipping a bit < 64 permutes within the block. Each term is then a
// vectorisable loop over k. Summation order differs from ed_row only by rounding.
constexpr int64_t kRowBlock = 64;

template <int Kind>
inline void rows_blocked(const ops::EdTerms& t, const ops::EdSectorView& v, const double* x,
                         double* y, int64_t begin, int64_t end) {
  int64_t s0 = begin;
  if (t.n_exchange == 0 && begin % kRowBlock == 0) {
    for (; s0 + kRowBlock <= end; s0 += kRowBlock) {
      double acc[kRowBlock];
      for (int64_t k = 0; k < kRowBlock; ++k)
        acc[k] = ops::ed_diagonal(t, static_cast<uint64_t>(s0 + k)) * x[s0 + k];
      for (int g = 0; g < t.n_flip; ++g) {
        const double c = t.flip[g].coef;
        for (uint64_t m = t.flip[g].mask; m; m &= m - 1) {
          const uint64_t bit = m & (~m + 1);
          if (bit < static_cast<uint64_t>(kRowBlock)) {
            const double* xb = x + s0;
            for (int64_t k = 0; k < kRowBlock; ++k) acc[k] += c * xb[k ^ static_cast<int64_t>(bit)];
            continue;
          }
          double sign;
          const uint64_t t0 = static_cast<uint64_t>(s0) ^ bit;
          const int64_t j0 = ops::ed_index<Kind>(v, t0, sign);
          if (Kind == ops::kEdParity && ((t0 >> (v.n_sites - 1)) & 1)) {
            const double* xr = x + j0;  // index of t0 + k is j0 − k
            const double cs = c * sign;
            for (int64_t k = 0; k < kRowBlock; ++k) acc[k] += cs * xr[-k];
          } else {
            const double* xf = x + j0;
            for (int64_t k = 0; k < kRowBlock; ++k) acc[k] += c * xf[k];
          }
        }
      }
      for (int64_t k = 0; k < kRowBlock; ++k) y[s0 + k] = acc[k];
    }
  }
  rows_range<Kind>(t, v, x, y, s0, end);  // the rest (and every row when there is exchange)
}

NAQS_ED_CLONES void rows_full(const ops::EdTerms& t, const ops::EdSectorView& v,
                              const double* x, double* y, int64_t begin, int64_t end) {
  rows_blocked<ops::kEdFull>(t, v, x, y, begin, end);
}

NAQS_ED_CLONES void rows_parity(const ops::EdTerms& t, const ops::EdSectorView& v,
                                const double* x, double* y, int64_t begin, int64_t end) {
  rows_blocked<ops::kEdParity>(t, v, x, y, begin, end);
}

// Rows of the sz sector whose high part is hv (consecutive indices hi_offset[hv]...).
NAQS_ED_CLONES void rows_sz(const ops::EdTerms& t, const ops::EdSectorView& v, const double* x,
                            double* y, int64_t hv) {
  const int64_t begin = v.hi_offset[hv], end = v.hi_offset[hv + 1];
  if (begin == end) return;
  const int k = v.n_set - std::popcount(static_cast<uint64_t>(hv));
  const uint32_t* lows = v.lo_values + v.lo_start[k];
  const uint64_t high = static_cast<uint64_t>(hv) << v.n_lo;
  for (int64_t i = begin; i < end; ++i)
    y[i] = ops::ed_row<ops::kEdSz>(t, v, high | lows[i - begin], i, x);
}

}  // namespace

void ed_matvec_cpu(const ops::EdTerms& t, const ops::EdSectorView& v, const double* x,
                   double* y) {
  constexpr int64_t kChunk = 4096;
  if (v.kind == ops::kEdSz) {
    const int64_t n_hi = int64_t{1} << (v.n_sites - v.n_lo);
#pragma omp parallel for schedule(dynamic, 16) if (v.dim > 4 * kChunk)
    for (int64_t hv = 0; hv < n_hi; ++hv) rows_sz(t, v, x, y, hv);
    return;
  }
  const int64_t n_chunks = (v.dim + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n_chunks > 4)
  for (int64_t c = 0; c < n_chunks; ++c) {
    const int64_t begin = c * kChunk, end = std::min(v.dim, begin + kChunk);
    if (v.kind == ops::kEdFull) rows_full(t, v, x, y, begin, end);
    else rows_parity(t, v, x, y, begin, end);
  }
}

// ---- the operator ---------------------------------------------------------------------------
struct EdOperator::DeviceState {
#if NAQS_HAVE_CUDA
  struct Buffer {
    void* p = nullptr;
    explicit Buffer(std::size_t bytes) : p(bytes ? cuda_rt::malloc_device(bytes) : nullptr) {}
    ~Buffer() { if (p) cuda_rt::free_device(p); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
  };
  template <class T>
  static std::unique_ptr<Buffer> upload(const std::vector<T>& v) {
    auto b = std::make_unique<Buffer>(v.size() * sizeof(T));
    if (!v.empty()) cuda_rt::copy_h2d(b->p, v.data(), v.size() * sizeof(T));
    return b;
  }
  std::unique_ptr<Buffer> hi_offset, lo_rank, lo_values, lo_start, x, y;
  ops::EdSectorView view{};
#endif
};

EdOperator::EdOperator(const Hamiltonian& H, const EdBasis& basis, Device device)
    : basis_(&basis), device_(device), terms_(pack_terms(H)) {
  NAQS_CHECK(H.n_sites() == basis.n_sites(), "EdOperator: H has ", H.n_sites(),
             " sites and the basis ", basis.n_sites());
  NAQS_CHECK(basis.kind() != ops::kEdSz || H.conserves_sz(),
             "EdOperator: an Sz sector for ", H.str(), ", which does not conserve Sz");
  NAQS_CHECK(basis.kind() != ops::kEdParity || H.has_flip_symmetry(),
             "EdOperator: a parity sector for ", H.str(), ", which has a longitudinal field");
  if (device.is_cuda()) {
#if NAQS_HAVE_CUDA
    cuda_rt::set_device(device.index);
    dev_ = std::make_unique<DeviceState>();
    dev_->hi_offset = DeviceState::upload(basis.hi_offset());
    dev_->lo_rank = DeviceState::upload(basis.lo_rank());
    dev_->lo_values = DeviceState::upload(basis.lo_values());
    dev_->lo_start = DeviceState::upload(basis.lo_start());
    dev_->x = std::make_unique<DeviceState::Buffer>(basis.dim() * sizeof(double));
    dev_->y = std::make_unique<DeviceState::Buffer>(basis.dim() * sizeof(double));
    dev_->view = basis.view();
    dev_->view.hi_offset = static_cast<const int64_t*>(dev_->hi_offset->p);
    dev_->view.lo_rank = static_cast<const int32_t*>(dev_->lo_rank->p);
    dev_->view.lo_values = static_cast<const uint32_t*>(dev_->lo_values->p);
    dev_->view.lo_start = static_cast<const int64_t*>(dev_->lo_start->p);
#else
    throw Error("EdOperator: a cuda device in a build without CUDA");
#endif
  }
}

EdOperator::~EdOperator() = default;

void EdOperator::apply(const double* x, double* y) const {
  if (device_.is_cpu()) {
    ed_matvec_cpu(terms_, basis_->view(), x, y);
    return;
  }
#if NAQS_HAVE_CUDA
  const std::size_t bytes = dim() * sizeof(double);
  cuda_rt::copy_h2d(dev_->x->p, x, bytes);
  apply_device(static_cast<const double*>(dev_->x->p), static_cast<double*>(dev_->y->p));
  cuda_rt::copy_d2h(y, dev_->y->p, bytes);
#else
  (void)x;
  (void)y;
#endif
}

void EdOperator::apply_device(const double* x_device, double* y_device) const {
  NAQS_CHECK(device_.is_cuda(), "EdOperator::apply_device on ", device_.str());
  NAQS_CUDA_BRANCH("ed_matvec", ops::detail::ed_matvec_cuda(terms_, dev_->view, x_device,
                                                            y_device));
}

}  // namespace naqs::ed
