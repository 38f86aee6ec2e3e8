#include "physics/optim/sr.hpp"

#include <cmath>
#include <vector>

#include "host/core/error.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/gemm.hpp"
#include "nn/optimizer.hpp"

extern "C" {
// LAPACK (OpenBLAS ships it): Cholesky factorisation and solve of a symmetric positive matrix.
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda,
             double* b, const int* ldb, int* info);
}

namespace naqs::optim {
namespace {

// Checks o_re (B,P), the optional o_im (B,P), and that vectors of length n_vec match.
void check_jacobians(const char* op, const Tensor& o_re, const Tensor& o_im) {
  check_defined(op, o_re, "o_re");
  check_rank(op, o_re, 2, "o_re");
  dispatch_float(o_re.dtype(), op, [](auto) {});
  if (o_im.defined()) {
    check_shape(op, o_im, o_re.shape(), "o_im");
    check_same_device(op, {&o_re, &o_im});
    check_same_dtype(op, {&o_re, &o_im});
  }
}

void check_vector(const char* op, const Tensor& o_re, const Tensor& v, int64_t n,
                  const char* name) {
  check_defined(op, v, name);
  check_shape(op, v, Shape{n}, name);
  check_same_device(op, {&o_re, &v});
  check_same_dtype(op, {&o_re, &v});
}

Tensor column(const Tensor& v) { return v.reshape({v.numel(), 1}); }

void check_rows(const char* op, const Tensor& o, const dist::SampleSplit& split) {
  NAQS_CHECK(o.size(0) == split.my_rows().count, op, ": ", o.str(), " has ", o.size(0),
             " rows, this rank's share of the split is ", split.my_rows().count);
}

}  // namespace

void centre_samples(Tensor& o, const dist::SampleSplit& split) {
  check_rank("centre_samples", o, 2, "o");
  check_rows("centre_samples", o, split);
  const int64_t B = o.size(0), P = o.size(1);
  if (split.n_rows() == 0) return;
  Tensor mean = Tensor::empty({1, P}, o.dtype(), o.device());
  const Tensor ones = B > 0 ? Tensor::full({B, 1}, 1.0, o.dtype(), o.device()) : Tensor();
  dist::reduce_blocks(split, mean, [&](int64_t, dist::Slice rows, Tensor& partial) {
    ops::gemm(ones.narrow(0, rows.count), o.narrow(rows.first, rows.count), partial, true);
  });
  ops::scale(mean, 1.0 / static_cast<double>(split.n_rows()));  // the mean over all rows
  if (B > 0) ops::gemm(ones, mean, o, false, false, -1.0, 1.0);   // o -= 1 mean
}

void centre_samples(Tensor& o) {
  check_rank("centre_samples", o, 2, "o");
  centre_samples(o, dist::SampleSplit::whole(o.size(0)));
}

void sr_force(const Tensor& o_re, const Tensor& o_im, const Tensor& eps_re, const Tensor& eps_im,
              Tensor& f, const dist::SampleSplit& split) {
  const char* op = "sr_force";
  check_jacobians(op, o_re, o_im);
  check_rows(op, o_re, split);
  const int64_t B = o_re.size(0), P = o_re.size(1);
  check_vector(op, o_re, eps_re, B, "eps_re");
  check_vector(op, o_re, f, P, "f");
  const bool imag = o_im.defined() && eps_im.defined();
  if (imag) check_vector(op, o_re, eps_im, B, "eps_im");
  const double inv_b = 1.0 / static_cast<double>(std::max<int64_t>(1, split.n_rows()));
  dist::reduce_blocks(split, f, [&](int64_t, dist::Slice rows, Tensor& partial) {
    Tensor pc = column(partial);
    ops::gemm(o_re.narrow(rows.first, rows.count),
              column(eps_re.narrow(rows.first, rows.count)), pc, true, false, inv_b, 0.0);
    if (imag)
      ops::gemm(o_im.narrow(rows.first, rows.count),
                column(eps_im.narrow(rows.first, rows.count)), pc, true, false, inv_b, 1.0);
  });
}

void sr_force(const Tensor& o_re, const Tensor& o_im, const Tensor& eps_re, const Tensor& eps_im,
              Tensor& f) {
  check_jacobians("sr_force", o_re, o_im);
  sr_force(o_re, o_im, eps_re, eps_im, f, dist::SampleSplit::whole(o_re.size(0)));
}

void sr_matvec(const Tensor& o_re, const Tensor& o_im, const Tensor& v, double diag_shift,
               Tensor& out, const dist::SampleSplit& split) {
  const char* op = "sr_matvec";
  check_jacobians(op, o_re, o_im);
  check_rows(op, o_re, split);
  const int64_t P = o_re.size(1);
  check_vector(op, o_re, v, P, "v");
  check_vector(op, o_re, out, P, "out");
  const double inv_b = 1.0 / static_cast<double>(std::max<int64_t>(1, split.n_rows()));
  const Tensor vc = column(v);
  dist::reduce_blocks(split, out, [&](int64_t, dist::Slice rows, Tensor& partial) {
    Tensor pc = column(partial);
    Tensor t = Tensor::empty({rows.count, 1}, o_re.dtype(), o_re.device());
    const Tensor a = o_re.narrow(rows.first, rows.count);
    ops::gemm(a, vc, t);                              // t = O_re v       (rows)
    ops::gemm(a, t, pc, true, false, inv_b, 0.0);     // partial = O_re^T t / B
    if (o_im.defined()) {
      const Tensor b = o_im.narrow(rows.first, rows.count);
      ops::gemm(b, vc, t);
      ops::gemm(b, t, pc, true, false, inv_b, 1.0);
    }
  });
  ops::axpby(diag_shift, v, 1.0, out);  // + lambda v
}

void sr_matvec(const Tensor& o_re, const Tensor& o_im, const Tensor& v, double diag_shift,
               Tensor& out) {
  check_jacobians("sr_matvec", o_re, o_im);
  sr_matvec(o_re, o_im, v, diag_shift, out, dist::SampleSplit::whole(o_re.size(0)));
}

SrInfo sr_solve_cg(const Tensor& o_re, const Tensor& o_im, const Tensor& f,
                   const SrOptions& options, Tensor& d, const dist::SampleSplit& split) {
  const char* op = "sr_solve_cg";
  check_jacobians(op, o_re, o_im);
  const int64_t P = o_re.size(1);
  check_vector(op, o_re, f, P, "f");
  check_vector(op, o_re, d, P, "d");
  NAQS_REQUIRE(options.diag_shift > 0, "sr: diag_shift must be > 0, got ", options.diag_shift);
  ops::fill(d, 0.0);
  SrInfo info;
  const double f_norm = nn::norm2(f);
  if (f_norm == 0) return info;
  Tensor r = f.clone(), p = f.clone(), ap = Tensor::empty(f.shape(), f.dtype(), f.device());
  double rs = nn::dot(r, r);
  info.residual = 1;
  for (int it = 0; it < options.cg_max_iters; ++it) {
    sr_matvec(o_re, o_im, p, options.diag_shift, ap, split);
    const double alpha = rs / nn::dot(p, ap);
    ops::axpby(alpha, p, 1.0, d);    // d += alpha p
    ops::axpby(-alpha, ap, 1.0, r);  // r -= alpha A p
    const double rs_new = nn::dot(r, r);
    info.iterations = it + 1;
    info.residual = std::sqrt(rs_new) / f_norm;
    if (!std::isfinite(info.residual) || info.residual <= options.cg_rtol) break;
    ops::axpby(1.0, r, rs_new / rs, p);  // p = r + beta p
    rs = rs_new;
  }
  return info;
}

SrInfo sr_solve_cg(const Tensor& o_re, const Tensor& o_im, const Tensor& f,
                   const SrOptions& options, Tensor& d) {
  check_jacobians("sr_solve_cg", o_re, o_im);
  return sr_solve_cg(o_re, o_im, f, options, d, dist::SampleSplit::whole(o_re.size(0)));
}

SrInfo minsr_solve(const Tensor& o_re, const Tensor& o_im, const Tensor& eps_re,
                   const Tensor& eps_im, double diag_shift, Tensor& d) {
  check_jacobians("minsr_solve", o_re, o_im);
  return minsr_solve(o_re, o_im, eps_re, eps_im, diag_shift, d,
                     dist::SampleSplit::whole(o_re.size(0)));
}

SrInfo minsr_solve(const Tensor& o_re, const Tensor& o_im, const Tensor& eps_re,
                   const Tensor& eps_im, double diag_shift, Tensor& d,
                   const dist::SampleSplit& split) {
  if (split.comm().size() > 1) {
    // Every pair of samples is needed: gather the rows (global order) and solve on every rank
    // exactly as one rank with the same blocks would.
    auto gather = [&](const Tensor& t) {
      return t.defined() ? dist::all_gather_rows(split.comm(), t) : Tensor();
    };
    const dist::SampleSplit one(dist::serial(), split.n_units(), split.unit_size(),
                                split.n_blocks());
    return minsr_solve(gather(o_re), gather(o_im), gather(eps_re), gather(eps_im), diag_shift,
                       d, one);
  }
  const char* op = "minsr_solve";
  check_jacobians(op, o_re, o_im);
  const int64_t B = o_re.size(0), P = o_re.size(1);
  check_vector(op, o_re, eps_re, B, "eps_re");
  check_vector(op, o_re, d, P, "d");
  NAQS_REQUIRE(diag_shift > 0, "minsr: diag_shift must be > 0, got ", diag_shift);
  const bool cplx = o_im.defined();
  if (cplx && eps_im.defined()) check_vector(op, o_re, eps_im, B, "eps_im");
  const int64_t R = cplx ? 2 * B : B;  // rows of A
  NAQS_REQUIRE(R <= 46340, "minsr: sample-space kernel of ", R, " x ", R,
               " is too large (at most 46340 rows); use sr (conjugate gradients) instead");
  const double inv_b = 1.0 / static_cast<double>(std::max<int64_t>(1, B));

  // T = A A^T in blocks [[Re Re^T, Re Im^T], [Im Re^T, Im Im^T]] / B, assembled on the host.
  Tensor block = Tensor::empty({B, B}, o_re.dtype(), o_re.device());
  std::vector<double> T(static_cast<std::size_t>(R * R));
  auto put = [&](const Tensor& a, const Tensor& b, int64_t r0, int64_t c0) {
    ops::gemm(a, b, block, false, true, inv_b, 0.0);
    Tensor h = Tensor::empty(block.shape(), DType::f64);
    if (block.dtype() == DType::f64) {
      h.copy_from(block);
    } else {
      ops::cast(block.to(Device::cpu()), h);
    }
    const double* ph = h.data<double>();
    for (int64_t i = 0; i < B; ++i)
      for (int64_t j = 0; j < B; ++j) T[(r0 + i) * R + c0 + j] = ph[i * B + j];
  };
  put(o_re, o_re, 0, 0);
  if (cplx) {
    put(o_re, o_im, 0, B);
    put(o_im, o_re, B, 0);
    put(o_im, o_im, B, B);
  }
  for (int64_t i = 0; i < R; ++i) T[i * R + i] += diag_shift;

  // Right-hand side f = [eps_re; eps_im] / sqrt(B).
  std::vector<double> x(static_cast<std::size_t>(R), 0.0);
  auto host_f64 = [](const Tensor& t) {
    Tensor h = Tensor::empty(t.shape(), DType::f64);
    ops::cast(t.to(Device::cpu()), h);
    return h.to_vector<double>();
  };
  const double s = std::sqrt(inv_b);
  const std::vector<double> er = host_f64(eps_re);
  for (int64_t b = 0; b < B; ++b) x[b] = er[b] * s;
  if (cplx && eps_im.defined()) {
    const std::vector<double> ei = host_f64(eps_im);
    for (int64_t b = 0; b < B; ++b) x[B + b] = ei[b] * s;
  }

  const int n = static_cast<int>(R), one = 1;
  int info = 0;
  dpotrf_("L", &n, T.data(), &n, &info);
  NAQS_CHECK(info == 0, "minsr: Cholesky factorisation of the ", R, " x ", R,
             " sample-space kernel failed (LAPACK dpotrf info ", info, ")");
  dpotrs_("L", &n, &one, T.data(), &n, x.data(), &n, &info);
  NAQS_CHECK(info == 0, "minsr: dpotrs info ", info);

  // d = A^T x = (O_re^T x_re + O_im^T x_im) / sqrt(B).
  auto upload = [&](int64_t first) {
    Tensor h = Tensor::from_vector(std::vector<double>(x.begin() + first, x.begin() + first + B),
                                   {B, 1});
    Tensor out = Tensor::empty({B, 1}, o_re.dtype(), Device::cpu());
    ops::cast(h, out);
    return out.to(o_re.device());
  };
  Tensor dc = column(d);
  ops::gemm(o_re, upload(0), dc, true, false, s, 0.0);
  if (cplx) ops::gemm(o_im, upload(B), dc, true, false, s, 1.0);

  // Residual of the parameter-space system, for the record.
  SrInfo result;
  Tensor f = Tensor::empty(d.shape(), d.dtype(), d.device());
  sr_force(o_re, o_im, eps_re, cplx ? eps_im : Tensor(), f, split);
  Tensor r = Tensor::empty(d.shape(), d.dtype(), d.device());
  sr_matvec(o_re, o_im, d, diag_shift, r, split);
  ops::axpby(1.0, f, -1.0, r);
  const double fn = nn::norm2(f);
  result.residual = fn > 0 ? nn::norm2(r) / fn : 0.0;
  return result;
}

}  // namespace naqs::optim
