// Dense sector matrix from the spin operator's primitive (see dense.hpp).
#include "physics/ed/dense.hpp"

#include <cstdint>

#include "host/core/error.hpp"

namespace naqs::ed {

std::vector<double> dense_matrix(const Hamiltonian& H, const EdBasis& basis) {
  const int64_t dim = basis.dim();
  const int n = H.n_sites();
  NAQS_CHECK(dim <= 8192 && basis.n_sites() == n, "dense_matrix: dimension ", dim,
             " too large for a dense matrix (at most 8192) or sizes differ");
  std::vector<double> a(dim * dim, 0.0);
  for (int64_t r = 0; r < dim; ++r) {
    const ops::PackedSpins s{basis.state(r)};
    const double diagonal = H.connections(s, [&](int site_a, int site_b, double element) {
      double sign;
      const int64_t c = basis.index(s.flipped(site_a, site_b), sign);
      NAQS_CHECK(c >= 0, "dense_matrix: H leaves the sector ", basis.str());
      a[r * dim + c] += sign * element;
    });
    a[r * dim + r] += diagonal;
  }
  return a;
}

}  // namespace naqs::ed
