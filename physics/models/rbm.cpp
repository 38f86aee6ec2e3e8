// RBM wavefunction: see rbm.hpp.
#include "physics/models/rbm.hpp"

#include <cmath>
#include <complex>

#include "host/core/error.hpp"
#include "host/ops/columns.hpp"
#include "host/ops/complex_elementwise.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/gemm.hpp"
#include "host/ops/random.hpp"
#include "host/ops/reduce.hpp"

namespace naqs {
namespace {

using cplx = std::complex<double>;

// Writes value into a caller's preallocated output (shape checked; views are filled in place),
// or binds it when the output is undefined.
void write_output(Tensor& out, const Tensor& value) {
  if (out.defined())
    out.copy_from(value);
  else
    out = value;
}

// A caller's (B,P) Jacobian output: checked when given, allocated when undefined.
void jacobian_output(const char* op, Tensor& jac, const Shape& shape, DType dtype, Device device,
                     const char* name) {
  if (!jac.defined()) {
    jac = Tensor::empty(shape, dtype, device);
    return;
  }
  check_shape(op, jac, shape, name);
  check_dtype(op, jac, dtype, name);
  NAQS_CHECK(jac.device() == device, op, ": ", name, " ", jac.str(), " is not on the model's device ",
             device.str());
}

}  // namespace

Rbm::Rbm(const RbmConfig& config, DType dtype, Device device)
    : config_(config), dtype_(dtype), device_(device) {
  if (config.n_sites < 1) throw UsageError(cat("rbm: n_sites must be >= 1 (got ", config.n_sites, ")"));
  if (!(config.alpha > 0)) throw UsageError(cat("rbm: alpha must be > 0 (got ", config.alpha, ")"));
  if (!(config.alpha * static_cast<double>(config.n_sites) <= double(int64_t{1} << 30)))
    throw UsageError(cat("rbm: alpha ", config.alpha, " x ", config.n_sites,
                         " sites is too many hidden units (at most 2^30)"));
  n_hidden_ = static_cast<int64_t>(std::ceil(config.alpha * static_cast<double>(config.n_sites) - 1e-9));
  const int64_t n = config.n_sites, m = n_hidden_;
  for (const char* part : config.complex ? std::vector<const char*>{"re", "im"}
                                         : std::vector<const char*>{"re"}) {
    params_.add(cat("a_", part), Shape{n});
    params_.add(cat("b_", part), Shape{m});
    params_.add(cat("W_", part), Shape{m, n});
  }
  params_.allocate(dtype, device);
}

void Rbm::init_random(uint64_t seed, double stddev) {
  Tensor flat = params_.flat();
  ops::fill_normal(flat, seed, 0, 0, 0.0, stddev);
}

std::vector<double> Rbm::host_param(const char* name) const {
  if (!params_.contains(name)) {  // real mode: the imaginary part is zero
    std::string re = name;
    re.replace(re.size() - 2, 2, "re");
    return std::vector<double>(static_cast<std::size_t>(params_.get(re).numel()), 0.0);
  }
  return to_host_f64(params_.get(name));
}

void Rbm::theta(const Tensor& sigma, Tensor& th_re, Tensor& th_im) {
  check_rank("rbm", sigma, 2, "sigma");
  NAQS_CHECK(sigma.size(1) == n_sites(), "rbm: sigma ", sigma.str(), " for ", n_sites(), " sites");
  const Tensor flat = params_.flat();
  check_same_device("rbm", {&sigma, &flat});
  check_same_dtype("rbm", {&sigma, &flat});
  const int64_t batch = sigma.size(0);
  // Rows padded to a multiple of 8: OpenBLAS rounds the rows of a partial row tile (the last
  // batch % 4 rows, kernel-dependent) differently, so without padding a configuration's theta
  // would depend on how many rows its batch has, e.g. on how many Metropolis chains an MPI rank
  // holds (tests/cluster/test_mpi_vmc.cpp compares 1 and N ranks bitwise).
  const int64_t padded = (batch + 7) / 8 * 8;
  const Tensor* rows = &sigma;
  if (padded != batch) {
    ensure_tensor(rows_, Shape{padded, n_sites()}, dtype_, device_);
    ops::fill(rows_, 0.0);
    rows_.narrow(0, batch).copy_from(sigma);
    rows = &rows_;
  }
  auto one = [&](const char* w, const char* b, Tensor& th, Tensor& out) {
    ensure_tensor(th, Shape{padded, n_hidden_}, dtype_, device_);
    ops::gemm(*rows, params_.get(w), th, false, true);  // (B,N) x (M,N)^T
    if (batch > 0) ops::bias_add(th, params_.get(b), 1);
    out = th.narrow(0, batch);
  };
  one("W_re", "b_re", theta_re_, th_re);
  if (config_.complex)
    one("W_im", "b_im", theta_im_, th_im);
  else
    th_im = Tensor();
}

void Rbm::theta_host(const Tensor& sigma, std::vector<double>& th_re, std::vector<double>& th_im) {
  Tensor re, im;
  theta(sigma, re, im);
  th_re = to_host_f64(re);
  th_im = im.defined() ? to_host_f64(im) : std::vector<double>(th_re.size(), 0.0);
}

Tensor Rbm::rows_of(const Tensor& w, int64_t columns) const {
  Tensor y = Tensor::zeros(Shape{w.numel(), columns}, dtype_, device_);
  if (w.numel() > 0) ops::bias_add(y, w, 0);
  return y;
}

Tensor Rbm::a_dot_sigma(const Tensor& sigma, const char* name) const {
  const int64_t batch = sigma.size(0), n = n_sites();
  Tensor prod = Tensor::zeros(Shape{batch, n}, dtype_, device_);
  if (batch > 0) ops::bias_add(prod, params_.get(name), 1);
  ops::binary(ops::Binary::mul, prod, sigma, prod);
  Tensor out = Tensor::empty(Shape{batch}, dtype_, device_);
  ops::reduce(ops::Reduce::sum, prod, 1, out);
  return out;
}

void Rbm::log_psi(const Tensor& sigma, Tensor& log_re, Tensor& log_im) {
  Tensor th_re, th_im;
  theta(sigma, th_re, th_im);
  const int64_t batch = sigma.size(0), m = n_hidden_;
  // log psi = a . sigma + sum_j log 2cosh theta_j (complex: both parts).
  Tensor lc_re = Tensor::empty(Shape{batch, m}, dtype_, device_), lc_im;
  if (config_.complex) lc_im = Tensor::empty(Shape{batch, m}, dtype_, device_);
  ops::complex_unary(ops::ComplexUnary::log_2cosh, th_re, th_im, lc_re, lc_im);
  auto part = [&](const Tensor& lc, const char* a) {
    Tensor sum = Tensor::empty(Shape{batch}, dtype_, device_);
    ops::reduce(ops::Reduce::sum, lc, 1, sum);
    ops::binary(ops::Binary::add, a_dot_sigma(sigma, a), sum, sum);
    return sum;
  };
  write_output(log_re, part(lc_re, "a_re"));
  if (config_.complex) {
    write_output(log_im, part(lc_im, "a_im"));
  } else {
    Tensor zero = Tensor::zeros(Shape{batch}, dtype_, device_);
    write_output(log_im, zero);
  }
}

void Rbm::per_sample_grad(const Tensor& sigma, Tensor& jac_re, Tensor& jac_im) {
  const char* op = "rbm per_sample_grad";
  Tensor th_re, th_im;
  theta(sigma, th_re, th_im);
  const int64_t batch = sigma.size(0), n = n_sites(), m = n_hidden_, p = params_.size();
  jacobian_output(op, jac_re, Shape{batch, p}, dtype_, device_, "jac_re");
  if (config_.complex) jacobian_output(op, jac_im, Shape{batch, p}, dtype_, device_, "jac_im");
  // d log psi / d a_i = sigma_i, d / d b_j = t_j = tanh theta_j, d / d W_ji = t_j sigma_i; for a
  // holomorphic model d/dp_re = g and d/dp_im = i g, so Re/Im of g and i g fill the columns.
  Tensor t_re = Tensor::empty(Shape{batch, m}, dtype_, device_), t_im;
  if (config_.complex) t_im = Tensor::empty(Shape{batch, m}, dtype_, device_);
  ops::complex_unary(ops::ComplexUnary::tanh, th_re, th_im, t_re, t_im);
  const Tensor s_col = sigma.reshape(Shape{batch, 1, n});
  auto outer = [&](const Tensor& t) {  // (B, M*N): t[b,j] sigma[b,i]
    Tensor o = Tensor::empty(Shape{batch, m, n}, dtype_, device_);
    ops::gemm_batched(t.reshape(Shape{batch, m, 1}), s_col, o);
    return o.reshape(Shape{batch, m * n});
  };
  const Tensor o_re = outer(t_re);
  const int64_t a_re = params_.entry("a_re").offset, b_re = params_.entry("b_re").offset,
                w_re = params_.entry("W_re").offset;
  ops::put_columns(sigma, jac_re, a_re);
  ops::put_columns(t_re, jac_re, b_re);
  ops::put_columns(o_re, jac_re, w_re);
  if (!config_.complex) return;
  const Tensor o_im = outer(t_im);
  const int64_t a_im = params_.entry("a_im").offset, b_im = params_.entry("b_im").offset,
                w_im = params_.entry("W_im").offset;
  // Re log psi: d/dp_im = Re(i g) = -Im g; Im log psi: d/dp_re = Im g, d/dp_im = Re g.
  ops::put_columns(sigma, jac_re, a_im, 0.0);
  ops::put_columns(t_im, jac_re, b_im, -1.0);
  ops::put_columns(o_im, jac_re, w_im, -1.0);
  ops::put_columns(sigma, jac_im, a_re, 0.0);
  ops::put_columns(t_im, jac_im, b_re);
  ops::put_columns(o_im, jac_im, w_re);
  ops::put_columns(sigma, jac_im, a_im);
  ops::put_columns(t_re, jac_im, b_im);
  ops::put_columns(o_re, jac_im, w_im);
}

void Rbm::grad_log_psi(const Tensor& sigma, const Tensor& w_re, const Tensor& w_im, Tensor& grad,
                       bool accumulate) {
  const char* op = "rbm grad_log_psi";
  Tensor th_re, th_im;
  theta(sigma, th_re, th_im);
  const int64_t batch = sigma.size(0), n = n_sites(), m = n_hidden_, p = params_.size();
  check_shape(op, grad, Shape{p}, "grad");
  const Tensor flat = params_.flat();
  check_same_device(op, {&grad, &flat});
  check_same_dtype(op, {&grad, &flat});
  check_shape(op, w_re, Shape{batch}, "w_re");
  check_same_device(op, {&w_re, &flat});
  check_same_dtype(op, {&w_re, &flat});
  const bool use_im = config_.complex && w_im.defined();
  if (use_im) {
    check_shape(op, w_im, Shape{batch}, "w_im");
    check_same_device(op, {&w_im, &flat});
    check_same_dtype(op, {&w_im, &flat});
  }
  // With c_b = w_re + i w_im: the gradient wrt p_re is Re sum_b conj(c_b) g_b, wrt p_im
  // -Im sum_b conj(c_b) g_b. u[b,j] = conj(c_b) tanh theta_bj.
  Tensor t_re = Tensor::empty(Shape{batch, m}, dtype_, device_), t_im;
  if (config_.complex) t_im = Tensor::empty(Shape{batch, m}, dtype_, device_);
  ops::complex_unary(ops::ComplexUnary::tanh, th_re, th_im, t_re, t_im);
  const Tensor wr_m = rows_of(w_re, m);
  Tensor u_re = Tensor::empty(Shape{batch, m}, dtype_, device_), u_im;
  ops::binary(ops::Binary::mul, wr_m, t_re, u_re);
  if (config_.complex) {  // u = (w_re - i w_im)(t_re + i t_im)
    u_im = Tensor::empty(Shape{batch, m}, dtype_, device_);
    ops::binary(ops::Binary::mul, wr_m, t_im, u_im);
    if (use_im) {
      const Tensor wi_m = rows_of(w_im, m);
      Tensor prod = Tensor::empty(Shape{batch, m}, dtype_, device_);
      ops::binary(ops::Binary::mul, wi_m, t_im, prod);
      ops::binary(ops::Binary::add, u_re, prod, u_re);
      ops::binary(ops::Binary::mul, wi_m, t_re, prod);
      ops::binary(ops::Binary::sub, u_im, prod, u_im);
    }
  }
  // (sign) sum over the batch of x (B,C) into the slice `name` of grad.
  const double keep = accumulate ? 1.0 : 0.0;
  auto write_sum = [&](const char* name, const Tensor& x, double sign) {
    const ParameterEntry& e = params_.entry(name);
    Tensor sum = Tensor::empty(Shape{x.size(1)}, dtype_, device_);
    ops::reduce(ops::Reduce::sum, x, 0, sum);
    Tensor view = grad.narrow(e.offset, x.size(1));
    ops::axpby(sign, sum, keep, view);
  };
  auto weighted_sigma = [&](const Tensor& w) {  // (B,N): w[b] sigma[b,i]
    Tensor x = rows_of(w, n);
    ops::binary(ops::Binary::mul, x, sigma, x);
    return x;
  };
  write_sum("a_re", weighted_sigma(w_re), 1.0);
  write_sum("b_re", u_re, 1.0);
  if (config_.complex) {
    if (use_im)
      write_sum("a_im", weighted_sigma(w_im), 1.0);
    else
      write_sum("a_im", Tensor::zeros(Shape{batch, n}, dtype_, device_), 1.0);
    write_sum("b_im", u_im, -1.0);
  }
  // W parts: grad_W_re = U_re^T sigma, grad_W_im = -U_im^T sigma (ops::gemm on the model device).
  auto gemm_w = [&](const char* name, const Tensor& u, double alpha) {
    const ParameterEntry& e = params_.entry(name);
    Tensor view = grad.narrow(e.offset, m * n).reshape(Shape{m, n});
    ops::gemm(u, sigma, view, true, false, alpha, keep);
  };
  gemm_w("W_re", u_re, 1.0);
  if (config_.complex) gemm_w("W_im", u_im, -1.0);
}

// ---- fast ratios -------------------------------------------------------------------------------

void Rbm::ratio_begin(const Tensor& sigma) {
  Wavefunction::ratio_begin(sigma);
  if (device_.is_cpu()) theta_host(sigma, th_re_, th_im_);
}

void Rbm::log_psi_ratio(const Tensor& sigma, const Tensor& move_a, const Tensor& move_b,
                        Tensor& d_re, Tensor& d_im) {
  if (!device_.is_cpu()) return Wavefunction::log_psi_ratio(sigma, move_a, move_b, d_re, d_im);
  const int64_t batch = sigma.size(0), n = n_sites(), m = n_hidden_;
  NAQS_CHECK(static_cast<int64_t>(th_re_.size()) == batch * m,
             "rbm log_psi_ratio: ratio_begin() was not called for ", sigma.str());
  const std::vector<double> s = to_host_f64(sigma), ar = host_param("a_re"), ai = host_param("a_im"),
                            br = host_param("b_re"), bi = host_param("b_im"),
                            wr = host_param("W_re"), wi = host_param("W_im");
  const std::vector<int32_t> a = move_a.to_vector<int32_t>(), b = move_b.to_vector<int32_t>();
  prop_th_re_ = th_re_;
  prop_th_im_ = th_im_;
  std::vector<double> dr(static_cast<std::size_t>(batch)), di(dr.size());
  for (int64_t c = 0; c < batch; ++c) {
    const double* sc = s.data() + c * n;
    double* pr = prop_th_re_.data() + c * m;
    double* pi = prop_th_im_.data() + c * m;
    cplx delta = 0;
    if (a[c] == kGlobalFlip) {
      for (int64_t i = 0; i < n; ++i) delta -= 2.0 * cplx(ar[i], ai[i]) * sc[i];
      for (int64_t j = 0; j < m; ++j) {  // theta' = b - W sigma = 2b - theta
        pr[j] = 2 * br[j] - pr[j];
        pi[j] = 2 * bi[j] - pi[j];
      }
    } else {
      for (int32_t k : {a[c], b[c]}) {
        if (k < 0) continue;
        NAQS_CHECK(k < n, "rbm log_psi_ratio: site ", k, " out of range");
        delta -= 2.0 * cplx(ar[k], ai[k]) * sc[k];
        for (int64_t j = 0; j < m; ++j) {
          pr[j] -= 2.0 * wr[j * n + k] * sc[k];
          pi[j] -= 2.0 * wi[j * n + k] * sc[k];
        }
      }
    }
    const double* tr = th_re_.data() + c * m;
    const double* ti = th_im_.data() + c * m;
    if (a[c] == -1 && b[c] == -1) {
      // no move: ratio 1
    } else if (config_.complex) {
      for (int64_t j = 0; j < m; ++j) {
        double new_re, new_im, old_re, old_im;
        ops::complex_log_2cosh(pr[j], pi[j], new_re, new_im);
        ops::complex_log_2cosh(tr[j], ti[j], old_re, old_im);
        delta += cplx(new_re - old_re, new_im - old_im);
      }
    } else {
      double d = 0;
      for (int64_t j = 0; j < m; ++j) d += ops::real_log_2cosh(pr[j]) - ops::real_log_2cosh(tr[j]);
      delta += d;
    }
    dr[c] = delta.real();
    di[c] = config_.complex ? delta.imag() : 0.0;
  }
  d_re = from_host_f64(dr, Shape{batch}, dtype_, device_);
  d_im = from_host_f64(di, Shape{batch}, dtype_, device_);
  // proposals' log psi for the base class's bookkeeping
  std::vector<double> cr = to_host_f64(cur_re_), ci = to_host_f64(cur_im_);
  for (int64_t c = 0; c < batch; ++c) {
    cr[c] += dr[c];
    ci[c] += di[c];
  }
  prop_re_ = from_host_f64(cr, Shape{batch}, dtype_, device_);
  prop_im_ = from_host_f64(ci, Shape{batch}, dtype_, device_);
}

void Rbm::ratio_update(const Tensor& accepted) {
  Wavefunction::ratio_update(accepted);
  if (!device_.is_cpu()) return;
  const std::vector<int32_t> acc = accepted.to_vector<int32_t>();
  const std::size_t m = static_cast<std::size_t>(n_hidden_);
  for (std::size_t c = 0; c < acc.size(); ++c)
    if (acc[c])
      for (std::size_t j = 0; j < m; ++j) {
        th_re_[c * m + j] = prop_th_re_[c * m + j];
        th_im_[c * m + j] = prop_th_im_[c * m + j];
      }
}

}  // namespace naqs
