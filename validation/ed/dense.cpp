// Dense sector matrix from the int8 primitive (see dense.hpp).
#include "validation/ed/dense.hpp"

#include <cstdint>

#include "host/core/error.hpp"

namespace naqs::ed {

std::vector<double> dense_matrix(const Hamiltonian& H, const EdBasis& basis) {
  const int64_t dim = basis.dim();
  const int n = H.n_sites();
  NAQS_CHECK(dim <= 8192 && basis.n_sites() == n, "dense_matrix: dimension ", dim,
             " too large for a dense matrix (at most 8192) or sizes differ");
  std::vector<double> a(dim * dim, 0.0);
  std::vector<int8_t> spins(n);
  for (int64_t r = 0; r < dim; ++r) {
    const uint64_t s = basis.state(r);
    for (int i = 0; i < n; ++i) spins[i] = ((s >> i) & 1) ? -1 : 1;
    a[r * dim + r] += H.diagonal(spins.data());
    H.for_each_connected(spins.data(), [&](int site_a, int site_b, double element) {
      uint64_t t = s ^ (uint64_t{1} << site_a);
      if (site_b >= 0) t ^= uint64_t{1} << site_b;
      double sign;
      const int64_t c = basis.index(t, sign);
      NAQS_CHECK(c >= 0, "dense_matrix: H leaves the sector ", basis.str());
      a[r * dim + c] += sign * element;
    });
  }
  return a;
}

}  // namespace naqs::ed
