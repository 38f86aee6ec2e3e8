// SR and minSR (physics/optim/sr.hpp) against a dense float64 solve on small random O.
// Tolerance 1e-10 relative: (S + lambda I) with lambda = 1e-2 on O(1) entries has a condition
// number below ~1e3, so a converged CG (rtol 1e-13) and LU agree to ~1e-12; 1e-10 leaves margin
// without hiding a wrong formula (which would be off at O(1)).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "host/core/error.hpp"
#include "physics/optim/sr.hpp"
#include "tests/support/testing.hpp"

namespace naqs::optim {
namespace {

using Matrix = std::vector<std::vector<double>>;

// Solves a x = b by Gaussian elimination with partial pivoting (a is small and dense).
std::vector<double> dense_solve(Matrix a, std::vector<double> b) {
  const std::size_t n = b.size();
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t piv = c;
    for (std::size_t r = c + 1; r < n; ++r)
      if (std::abs(a[r][c]) > std::abs(a[piv][c])) piv = r;
    std::swap(a[c], a[piv]);
    std::swap(b[c], b[piv]);
    for (std::size_t r = c + 1; r < n; ++r) {
      const double f = a[r][c] / a[c][c];
      for (std::size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (std::size_t i = n; i-- > 0;) {
    double s = b[i];
    for (std::size_t k = i + 1; k < n; ++k) s -= a[i][k] * x[k];
    x[i] = s / a[i][i];
  }
  return x;
}

struct Problem {
  int64_t B, P;
  bool cplx;
  Tensor o_re, o_im, eps_re, eps_im;
  std::vector<double> f_dense, d_dense;  // F and (S + lambda I)^-1 F from explicit loops
};

// Random O (not centred) and E_loc; the dense reference centres explicitly:
// S_kl = (1/B) sum_b Re[conj(Obar_bk) Obar_bl], F_k = (1/B) sum_b Re[conj(Obar_bk) eps_b].
Problem make_problem(int64_t B, int64_t P, bool cplx, double lambda, uint64_t seed) {
  Problem pr{B, P, cplx, {}, {}, {}, {}, {}, {}};
  pr.o_re = testing::random_tensor({B, P}, DType::f64, seed, -1, 2);  // mean != 0 on purpose
  if (cplx) pr.o_im = testing::random_tensor({B, P}, DType::f64, seed + 1, -1, 1);
  Tensor e_re = testing::random_tensor({B}, DType::f64, seed + 2, -30, -20);
  Tensor e_im = testing::random_tensor({B}, DType::f64, seed + 3, -1, 1);
  auto orv = pr.o_re.to_vector<double>();
  auto oiv = cplx ? pr.o_im.to_vector<double>() : std::vector<double>(B * P, 0.0);
  auto erv = e_re.to_vector<double>();
  auto eiv = cplx ? e_im.to_vector<double>() : std::vector<double>(B, 0.0);
  auto centre = [&](std::vector<double>& m, int64_t cols) {
    for (int64_t k = 0; k < cols; ++k) {
      double s = 0;
      for (int64_t b = 0; b < B; ++b) s += m[b * cols + k];
      for (int64_t b = 0; b < B; ++b) m[b * cols + k] -= s / B;
    }
  };
  centre(orv, P);
  centre(oiv, P);
  centre(erv, 1);
  centre(eiv, 1);
  pr.eps_re = Tensor::from_vector(erv, {B});
  pr.eps_im = cplx ? Tensor::from_vector(eiv, {B}) : Tensor();
  Matrix S(P, std::vector<double>(P, 0.0));
  pr.f_dense.assign(P, 0.0);
  for (int64_t k = 0; k < P; ++k) {
    for (int64_t l = 0; l < P; ++l) {
      double s = 0;
      for (int64_t b = 0; b < B; ++b)
        s += orv[b * P + k] * orv[b * P + l] + oiv[b * P + k] * oiv[b * P + l];
      S[k][l] = s / B + (k == l ? lambda : 0.0);
    }
    double f = 0;
    for (int64_t b = 0; b < B; ++b) f += orv[b * P + k] * erv[b] + oiv[b * P + k] * eiv[b];
    pr.f_dense[k] = f / B;
  }
  pr.d_dense = dense_solve(S, pr.f_dense);
  return pr;
}

Tensor host(const std::vector<double>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}

void check_sr(int64_t B, int64_t P, bool cplx, uint64_t seed) {
  const double lambda = 1e-2;
  Problem pr = make_problem(B, P, cplx, lambda, seed);
  centre_samples(pr.o_re);
  if (cplx) centre_samples(pr.o_im);

  Tensor f = Tensor::empty({P}, DType::f64);
  sr_force(pr.o_re, pr.o_im, pr.eps_re, pr.eps_im, f);
  EXPECT_TRUE(testing::all_close(f, host(pr.f_dense), 1e-13, 1e-12)) << "force";

  Tensor d = Tensor::empty({P}, DType::f64);
  const SrInfo cg = sr_solve_cg(pr.o_re, pr.o_im, f,
                                {.diag_shift = lambda, .cg_max_iters = 1000, .cg_rtol = 1e-13},
                                d);
  EXPECT_LE(cg.residual, 1e-13);
  EXPECT_TRUE(testing::all_close(d, host(pr.d_dense), 1e-10, 1e-10))
      << "CG, B=" << B << " P=" << P << " iterations " << cg.iterations;

  Tensor dm = Tensor::empty({P}, DType::f64);
  const SrInfo mi = minsr_solve(pr.o_re, pr.o_im, pr.eps_re, pr.eps_im, lambda, dm);
  EXPECT_LE(mi.residual, 1e-10);
  EXPECT_TRUE(testing::all_close(dm, host(pr.d_dense), 1e-10, 1e-10))
      << "minSR, B=" << B << " P=" << P;
}

TEST(Sr, CgAndMinSrEqualDenseSolveMoreSamplesThanParams) {
  check_sr(40, 13, false, 11);
  check_sr(40, 13, true, 21);
}

TEST(Sr, CgAndMinSrEqualDenseSolveFewerSamplesThanParams) {
  // B < P: S is rank-deficient (rank <= B-1, or 2B-2 complex); the shift makes both solvable.
  check_sr(7, 30, false, 31);
  check_sr(7, 30, true, 41);
}

TEST(Sr, CentreSamplesZeroesColumnMeans) {
  Tensor o = Tensor::from_vector(std::vector<double>{1, 2, 3, 6}, {2, 2});
  centre_samples(o);
  const auto v = o.to_vector<double>();
  EXPECT_DOUBLE_EQ(v[0], -1);
  EXPECT_DOUBLE_EQ(v[1], -2);
  EXPECT_DOUBLE_EQ(v[2], 1);
  EXPECT_DOUBLE_EQ(v[3], 2);
}

TEST(Sr, MatvecByHand) {
  // O (centred) = [[1, 0], [-1, 2]] / (B = 2): S = O^T O / 2 = [[1, -1], [-1, 2]]; v = (1, 1):
  // S v = (0, 1); + lambda v with lambda 0.5 -> (0.5, 1.5).
  Tensor o = Tensor::from_vector(std::vector<double>{1, 0, -1, 2}, {2, 2});
  Tensor out = Tensor::empty({2}, DType::f64);
  sr_matvec(o, Tensor(), host({1, 1}), 0.5, out);
  EXPECT_TRUE(testing::all_close(out, host({0.5, 1.5}), 1e-15, 0));
}

TEST(Sr, Float32Runs) {
  Tensor o = testing::random_tensor({16, 5}, DType::f32, 3);
  centre_samples(o);
  Tensor e = testing::random_tensor({16}, DType::f32, 4);
  Tensor f = Tensor::empty({5}, DType::f32), d = Tensor::empty({5}, DType::f32);
  sr_force(o, Tensor(), e, Tensor(), f);
  const SrInfo info = sr_solve_cg(o, Tensor(), f, {.diag_shift = 1e-2, .cg_rtol = 1e-5}, d);
  EXPECT_LE(info.residual, 1e-5);
  Tensor dm = Tensor::empty({5}, DType::f32);
  minsr_solve(o, Tensor(), e, Tensor(), 1e-2, dm);
  EXPECT_TRUE(testing::all_close(dm, d, 1e-4, 1e-3));
}

TEST(Sr, RejectsBadInput) {
  Tensor o = Tensor::zeros({4, 3}, DType::f64);
  Tensor d = Tensor::empty({3}, DType::f64);
  EXPECT_THROW(sr_solve_cg(o, Tensor(), host({1, 2}), {}, d), Error);
  EXPECT_THROW(sr_solve_cg(o, Tensor(), host({1, 2, 3}), {.diag_shift = 0}, d), UsageError);
}

}  // namespace
}  // namespace naqs::optim
