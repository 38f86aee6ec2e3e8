// Lanczos ground state, tridiagonal and dense LAPACK eigen-solvers (see lanczos.hpp).
#include "physics/ed/lanczos.hpp"

#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <new>
#include <memory>

#include "host/core/error.hpp"

extern "C" {
// LAPACK from OpenBLAS (Fortran calling convention; trailing hidden string lengths).
void dstevx_(const char* jobz, const char* range, const int* n, double* d, double* e,
             const double* vl, const double* vu, const int* il, const int* iu,
             const double* abstol, int* m, double* w, double* z, const int* ldz, double* work,
             int* iwork, int* ifail, int* info, std::size_t, std::size_t);
void dsyev_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
            double* w, double* work, const int* lwork, int* info, std::size_t, std::size_t);
}

namespace naqs::ed {

namespace {

constexpr int64_t kBlock = 1 << 15;  // reduction block: fixed, so sums do not depend on threads
// Below this length, loops stay serial: a parallel region costs more than it saves (and much
// more on a loaded machine, where OpenMP barriers wait for descheduled threads).
constexpr int64_t kParallelMin = 1 << 15;

// Σ_blocks f(begin, end) with per-block partial sums added serially in block order.
template <class F>
double block_sum(int64_t n, F&& f) {
  const int64_t n_blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> part(n_blocks);
#pragma omp parallel for schedule(static) if (n_blocks > 1)
  for (int64_t b = 0; b < n_blocks; ++b) part[b] = f(b * kBlock, std::min(n, (b + 1) * kBlock));
  double s = 0;
  for (double p : part) s += p;
  return s;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

double norm(const double* a, int64_t n) { return std::sqrt(dot(a, a, n)); }

void scale(double* a, double c, int64_t n) {
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) a[i] *= c;
}

using Buffer = VectorBuffer;
Buffer make_buffer(int64_t n) { return make_vector_buffer(n); }

// The Lanczos recurrence step shared by both passes: w = A v − β_prev v_prev − α v, where α is
// computed (pass 1, alpha_out non-null) or given. Returns ||w||² when asked.
double recurrence(const ApplyFn& apply, const double* v, const double* v_prev, double* w,
                  double beta_prev, double& alpha, bool compute_alpha, int64_t n) {
  apply(v, w);
  if (compute_alpha)
    alpha = block_sum(n, [&](int64_t b, int64_t e) {
      double s = 0;
      for (int64_t i = b; i < e; ++i) {
        if (v_prev) w[i] -= beta_prev * v_prev[i];
        s += w[i] * v[i];
      }
      return s;
    });
  else if (v_prev) {
#pragma omp parallel for schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) w[i] -= beta_prev * v_prev[i];
  }
  const double a = alpha;
  return block_sum(n, [&](int64_t b, int64_t e) {
    double s = 0;
    for (int64_t i = b; i < e; ++i) {
      w[i] -= a * v[i];
      s += w[i] * w[i];
    }
    return s;
  });
}

}  // namespace

void FreeDeleter::operator()(double* p) const { std::free(p); }

VectorBuffer make_vector_buffer(int64_t n) {
  NAQS_CHECK(n >= 0, "make_vector_buffer: n = ", n);
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  std::size_t bytes = std::max<std::size_t>(8, static_cast<std::size_t>(n) * sizeof(double));
  void* p = nullptr;
  if (bytes >= kHuge) {
    bytes = (bytes + kHuge - 1) / kHuge * kHuge;
    p = std::aligned_alloc(kHuge, bytes);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, bytes, MADV_HUGEPAGE);  // advice only: failure just means small pages
#endif
  } else {
    p = std::malloc(bytes);
  }
  if (!p) throw std::bad_alloc();
  return VectorBuffer(static_cast<double*>(p));
}

double dot(const double* a, const double* b, int64_t n) {
  return block_sum(n, [&](int64_t lo, int64_t hi) {
    double s = 0;
    for (int64_t i = lo; i < hi; ++i) s += a[i] * b[i];
    return s;
  });
}

double tridiagonal_lowest(const std::vector<double>& alpha, const std::vector<double>& beta,
                          std::vector<double>& vector) {
  const int n = static_cast<int>(alpha.size());
  NAQS_CHECK(n >= 1 && beta.size() + 1 >= alpha.size(), "tridiagonal_lowest: sizes ", n, ", ",
             beta.size());
  std::vector<double> d(alpha), e(beta.begin(), beta.begin() + (n - 1));
  e.push_back(0);
  std::vector<double> w(n), work(5 * n);
  std::vector<int> iwork(5 * n), ifail(n);
  vector.assign(n, 0);
  const int il = 1, iu = 1, ldz = n;
  const double vl = 0, vu = 0, abstol = 0;  // abstol 0: LAPACK's default accuracy
  int m = 0, info = 0;
  dstevx_("V", "I", &n, d.data(), e.data(), &vl, &vu, &il, &iu, &abstol, &m, w.data(),
          vector.data(), &ldz, work.data(), iwork.data(), ifail.data(), &info, 1, 1);
  NAQS_CHECK(info == 0 && m == 1, "LAPACK dstevx failed: info = ", info, ", m = ", m,
             " (tridiagonal of size ", n, ")");
  return w[0];
}

std::vector<double> dense_eigen(std::vector<double> a, int64_t n, std::vector<double>* vectors) {
  NAQS_CHECK(n >= 1 && n <= (1 << 15) && static_cast<int64_t>(a.size()) == n * n,
             "dense_eigen: n = ", n, ", a.size() = ", a.size());
  const int ni = static_cast<int>(n);
  std::vector<double> w(n);
  int info = 0, lwork = -1;
  double query = 0;
  // Row-major symmetric a is its own column-major transpose; "U" reads either triangle's copy.
  dsyev_(vectors ? "V" : "N", "U", &ni, a.data(), &ni, w.data(), &query, &lwork, &info, 1, 1);
  NAQS_CHECK(info == 0, "LAPACK dsyev workspace query failed: info = ", info);
  lwork = static_cast<int>(query);
  std::vector<double> work(lwork);
  dsyev_(vectors ? "V" : "N", "U", &ni, a.data(), &ni, w.data(), work.data(), &lwork, &info, 1,
         1);
  NAQS_CHECK(info == 0, "LAPACK dsyev failed: info = ", info, " (n = ", n, ")");
  if (vectors) {  // column-major eigenvectors (column k = vector k) -> row-major (n, n)
    vectors->assign(n * n, 0);
    for (int64_t k = 0; k < n; ++k)
      for (int64_t i = 0; i < n; ++i) (*vectors)[i * n + k] = a[k * n + i];
  }
  return w;
}

LanczosResult lanczos_ground_state(int64_t n, const ApplyFn& apply, const LanczosOptions& opts) {
  NAQS_CHECK(n >= 1, "lanczos_ground_state: dimension ", n);
  NAQS_CHECK(opts.tol > 0 && opts.max_iterations >= 1, "lanczos_ground_state: tol ", opts.tol,
             ", max_iterations ", opts.max_iterations);
  LanczosResult res;
  Buffer start = make_buffer(n), a = make_buffer(n), b = make_buffer(n), c = make_buffer(n);
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i)
    start[i] = static_cast<double>(splitmix64(opts.seed ^ splitmix64(i)) >> 11) * 0x1.0p-52 - 1;
  const int max_steps = static_cast<int>(std::min<int64_t>(opts.max_iterations, n));

  for (int attempt = 0;; ++attempt) {
    scale(start.get(), 1 / norm(start.get(), n), n);
    // ---- pass 1: the tridiagonal matrix ----
    std::vector<double> alpha, beta, y;
    double* v_prev = nullptr;
    double* v = a.get();
    double* w = b.get();
    double* spare = c.get();
    std::copy(start.get(), start.get() + n, v);
    double theta = 0;
    res.stop_criterion = "";
    for (int j = 0; j < max_steps; ++j) {
      double al = 0;
      const double beta_prev = j > 0 ? beta.back() : 0;
      const double bn = std::sqrt(recurrence(apply, v, v_prev, w, beta_prev, al, true, n));
      ++res.matvecs;
      alpha.push_back(al);
      theta = tridiagonal_lowest(alpha, beta, y);
      const double scale_e = theta != 0 ? std::abs(theta) : 1.0;
      res.iterations = j + 1;
      res.residual_estimate = bn * std::abs(y.back()) / scale_e;
      if (opts.progress) opts.progress({1, j + 1, 0, theta, res.residual_estimate});
      if (res.residual_estimate <= opts.tol) {
        res.stop_criterion = cat("residual estimate beta*|y_m|/|E| = ", res.residual_estimate,
                                 " <= tol = ", opts.tol, " after ", j + 1, " Lanczos steps");
        break;
      }
      if (j + 1 == max_steps) {
        res.stop_criterion = j + 1 == n ? cat("Krylov space is the whole space (", n, " steps)")
                                        : cat("max_iterations = ", max_steps, " reached");
        break;
      }
      beta.push_back(bn);
      // rotate: v_prev <- v, v <- w / bn, w <- old v_prev storage
      double* old_prev = v_prev ? v_prev : spare;
      v_prev = v;
      v = w;
      scale(v, 1 / bn, n);
      w = old_prev;
    }
    // ---- pass 2: ψ = Σ_j y_j v_j from the same recurrence (α, β from pass 1) ----
    const int m = static_cast<int>(alpha.size());
    double* psi = start.get();  // the start vector is copied into v first, then overwritten
    v_prev = nullptr;
    v = a.get();
    w = b.get();
    spare = c.get();
    std::copy(start.get(), start.get() + n, v);
#pragma omp parallel for schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) psi[i] = y[0] * v[i];
    for (int j = 0; j + 1 < m; ++j) {
      double al = alpha[j];
      recurrence(apply, v, v_prev, w, j > 0 ? beta[j - 1] : 0, al, false, n);
      ++res.matvecs;
      const double inv = 1 / beta[j], yj = y[j + 1];
#pragma omp parallel for schedule(static) if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) {
        w[i] *= inv;
        psi[i] += yj * w[i];
      }
      double* old_prev = v_prev ? v_prev : spare;
      v_prev = v;
      v = w;
      w = old_prev;
      if (opts.progress) opts.progress({2, j + 2, m, 0, 0});
    }
    // ---- independent check: E = <ψ|A|ψ>, ||Aψ − Eψ|| / |E| ----
    scale(psi, 1 / norm(psi, n), n);
    double* hpsi = a.get();
    apply(psi, hpsi);
    ++res.matvecs;
    const double e = dot(psi, hpsi, n);
    const double r2 = block_sum(n, [&](int64_t lo, int64_t hi) {
      double s = 0;
      for (int64_t i = lo; i < hi; ++i) s += (hpsi[i] - e * psi[i]) * (hpsi[i] - e * psi[i]);
      return s;
    });
    res.energy = e;
    res.residual = std::sqrt(r2) / (e != 0 ? std::abs(e) : 1.0);
    res.converged = res.residual <= opts.tol;
    res.restarts = attempt;
    if (res.converged || attempt == opts.max_restarts) break;
    // restart from ψ (kept in `start`)
  }
  a.reset();  // free the work vectors before the copy: peak memory stays at four vectors
  b.reset();
  c.reset();
  res.vector.assign(start.get(), start.get() + n);
  return res;
}

}  // namespace naqs::ed
