// Lanczos ground state in float64 for a real symmetric operator given as y = A x.
//
// Pass 1 builds the tridiagonal matrix T_m with three vectors (no reorthogonalisation) and
// stops when the lowest Ritz pair's residual estimate β_{m+1}|y_m| is <= tol·|θ| (or the Krylov
// space is invariant, β ≈ 0). Pass 2 regenerates the same Krylov vectors (the product and the
// dot products are deterministic) and accumulates ψ = Σ_j y_j v_j. Then an independent check
// computes ||Aψ − Eψ|| / |E| with E = <ψ|A|ψ> from a fresh product.
//
// Loss of orthogonality: without reorthogonalisation, converged Ritz values reappear as spurious
// copies ("ghosts") once the Krylov vectors lose orthogonality to a converged eigenvector.
// Stopping at the first m whose residual estimate meets tol happens before a ghost of the lowest
// level can form, but the estimate is only an estimate; if the independent residual check fails
// (a ghost, or a near-degenerate level, spoiled ψ), Lanczos restarts from ψ (whose components
// along the wanted state dominate) and repeats, up to max_restarts times.
// Memory: four vectors of length dim (v_prev, v, w, ψ).
// Tests: tests/unit/test_ed.cpp (vs dense LAPACK, vs the closed-form TFIM chain).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace naqs::ed {

using ApplyFn = std::function<void(const double* x, double* y)>;  // x, y are (dim,)

// Reported after every Krylov step (long runs print it): pass 1 or 2, the step, and in pass 1
// the lowest Ritz value and its residual estimate (pass 2: the step count it will reach).
struct LanczosProgress {
  int pass = 1;
  int step = 0;
  int steps = 0;               // pass 2: steps in all (pass 1: 0, not known in advance)
  double energy = 0;           // pass 1: lowest Ritz value θ
  double residual_estimate = 0;
};

struct LanczosOptions {
  double tol = 1e-12;        // relative residual ||Aψ − Eψ|| / |E| to reach
  int max_iterations = 1000;  // Krylov steps per pass
  int max_restarts = 4;
  uint64_t seed = 20261129;  // start vector (uniform in [−1, 1) from a fixed-seed generator)
  std::function<void(const LanczosProgress&)> progress;  // optional
};

struct LanczosResult {
  double energy = 0;             // <ψ|A|ψ> of the returned, normalised ψ
  std::vector<double> vector;    // ψ, (dim,)
  int iterations = 0;            // Krylov steps of the last pass 1
  int matvecs = 0;               // products in total (both passes, checks, restarts)
  int restarts = 0;
  double residual_estimate = 0;  // β|y_m| / |θ| at the stop of the last pass 1
  double residual = 0;           // independent ||Aψ − Eψ|| / |E|
  bool converged = false;        // residual <= tol
  std::string stop_criterion;    // why pass 1 stopped, in words
};

LanczosResult lanczos_ground_state(int64_t dim, const ApplyFn& apply,
                                   const LanczosOptions& opts = {});

// Lowest eigenvalue and eigenvector of the symmetric tridiagonal matrix with diagonal `alpha`
// (m,) and off-diagonal `beta` (m−1,) (LAPACK dstevx).
double tridiagonal_lowest(const std::vector<double>& alpha, const std::vector<double>& beta,
                          std::vector<double>& vector);

// Eigenvalues (ascending) of the dense symmetric matrix a (n, n) row-major (LAPACK dsyev);
// with `vectors` non-null it receives the eigenvectors as its columns (n, n) row-major.
std::vector<double> dense_eigen(std::vector<double> a, int64_t n,
                                std::vector<double>* vectors = nullptr);

// An uninitialised float64 vector of n elements for ED-sized data: vectors of 2 MiB and more are
// 2 MiB-aligned and advised to use transparent huge pages (fewer page faults when first touched
// and fewer TLB misses in the matvec's far accesses), others come from malloc.
struct FreeDeleter {
  void operator()(double* p) const;
};
using VectorBuffer = std::unique_ptr<double[], FreeDeleter>;
VectorBuffer make_vector_buffer(int64_t n);

// Deterministic reductions (fixed blocks, then a serial sum: the same bits for any thread count).
double dot(const double* a, const double* b, int64_t n);

}  // namespace naqs::ed
