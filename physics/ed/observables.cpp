// Observables from an ED ground-state vector (see observables.hpp).
#include "physics/ed/observables.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>

#include "host/core/error.hpp"

namespace naqs::ed {

EdObservables measure(const Hamiltonian& H, const EdBasis& basis, const std::vector<double>& psi,
                      double energy) {
  const int n = H.n_sites();
  NAQS_CHECK(basis.n_sites() == n && static_cast<int64_t>(psi.size()) == basis.dim(),
             "measure: basis/vector sizes do not match H");
  uint64_t sub_b = 0;  // sites on sublattice 1
  for (int i = 0; i < n; ++i)
    if (H.lattice().sublattice(i)) sub_b |= uint64_t{1} << i;
  const int n_b = std::popcount(sub_b), n_a = n - n_b;
  const bool has_x = basis.kind() != ops::kEdSz;
  // Accumulators: |m|, m², m⁴, m_s², X, C(0..n-1)
  const int n_acc = 5 + n;
  const int64_t dim = basis.dim();
  constexpr int64_t kBlock = 1 << 14;
  const int64_t n_blocks = (dim + kBlock - 1) / kBlock;
  std::vector<double> part(n_blocks * n_acc, 0.0);
#pragma omp parallel for schedule(static) if (n_blocks > 1)
  for (int64_t blk = 0; blk < n_blocks; ++blk) {
    double* acc = part.data() + blk * n_acc;
    for (int64_t i = blk * kBlock; i < std::min(dim, (blk + 1) * kBlock); ++i) {
      const uint64_t s = basis.state(i);
      const double p = psi[i] * psi[i];
      const double m = static_cast<double>(n - 2 * std::popcount(s)) / n;
      const double ms = static_cast<double>((n_a - 2 * std::popcount(s & ~sub_b)) -
                                            (n_b - 2 * std::popcount(s & sub_b))) / n;
      acc[0] += p * std::abs(m);
      acc[1] += p * m * m;
      acc[2] += p * m * m * m * m;
      acc[3] += p * ms * ms;
      if (has_x) {
        double x = 0, sign;
        for (int k = 0; k < n; ++k) {
          const int64_t j = basis.index(s ^ (uint64_t{1} << k), sign);
          x += sign * psi[j];
        }
        acc[4] += psi[i] * x / n;
      }
      for (int r = 0; r < n; ++r) acc[5 + r] += p * (((s ^ (s >> r)) & 1) ? -1.0 : 1.0);
    }
  }
  std::vector<double> tot(n_acc, 0.0);
  for (int64_t blk = 0; blk < n_blocks; ++blk)
    for (int k = 0; k < n_acc; ++k) tot[k] += part[blk * n_acc + k];
  EdObservables o;
  o.energy = energy;
  o.energy_per_site = energy / n;
  o.abs_mz = tot[0];
  o.mz2 = tot[1];
  o.mz4 = tot[2];
  o.binder = o.mz2 > 0 ? 1 - o.mz4 / (3 * o.mz2 * o.mz2) : 0.0;
  o.ms2 = tot[3];
  o.x_mean = tot[4];
  o.zz_corr.assign(tot.begin() + 5, tot.end());
  return o;
}

}  // namespace naqs::ed
