// RBM wavefunction: see rbm.hpp.
#include "physics/rbm.hpp"

#include <cmath>
#include <complex>

#include "host/core/error.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/gemm.hpp"
#include "host/ops/random.hpp"

namespace naqs {
namespace {

using cplx = std::complex<double>;

// log(2 cosh z), stable for large |Re z|: z + log(1 + e^{-2z}) with Re z >= 0 (cosh is even).
cplx log_2cosh(cplx z) {
  if (z.real() < 0) z = -z;
  return z + std::log(1.0 + std::exp(-2.0 * z));
}

// Writes value into a caller's preallocated output (shape checked; views are filled in place),
// or binds it when the output is undefined.
void write_output(Tensor& out, const Tensor& value) {
  if (out.defined())
    out.copy_from(value);
  else
    out = value;
}

// Real theta: |x| + log1p(e^{-2|x|}), ~10x cheaper than the complex form (the fast-ratio loop).
double log_2cosh(double x) {
  const double ax = std::fabs(x);
  return ax + std::log1p(std::exp(-2.0 * ax));
}

// d Re/Im log psi with respect to p_re and p_im given the complex derivative g = d log psi / dp
// of a holomorphic model: d/dp_re = g, d/dp_im = i g.
struct Jac {
  double re_re, im_re, re_im, im_im;  // d(Re|Im) log psi / d(p_re|p_im)
};
Jac split(cplx g) { return {g.real(), g.imag(), -g.imag(), g.real()}; }

}  // namespace

Rbm::Rbm(const RbmConfig& config, DType dtype, Device device)
    : config_(config), dtype_(dtype), device_(device) {
  if (config.n_sites < 1) throw UsageError(cat("rbm: n_sites must be >= 1 (got ", config.n_sites, ")"));
  if (!(config.alpha > 0)) throw UsageError(cat("rbm: alpha must be > 0 (got ", config.alpha, ")"));
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

void Rbm::theta_host(const Tensor& sigma, std::vector<double>& th_re, std::vector<double>& th_im) {
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
  Tensor rows = sigma;
  if (padded != batch) {
    rows = Tensor::zeros(Shape{padded, n_sites()}, dtype_, device_);
    rows.narrow(0, batch).copy_from(sigma);
  }
  Tensor th = Tensor::empty(Shape{padded, n_hidden_}, dtype_, device_);
  auto one = [&](const char* w, const char* b, std::vector<double>& out) {
    ops::gemm(rows, params_.get(w), th, false, true);  // (B,N) x (M,N)^T
    if (batch > 0) ops::bias_add(th, params_.get(b), 1);
    out = to_host_f64(th.narrow(0, batch));
  };
  one("W_re", "b_re", th_re);
  if (config_.complex)
    one("W_im", "b_im", th_im);
  else
    th_im.assign(th_re.size(), 0.0);
}

void Rbm::log_psi(const Tensor& sigma, Tensor& log_re, Tensor& log_im) {
  std::vector<double> tr, ti;
  theta_host(sigma, tr, ti);
  const int64_t batch = sigma.size(0), n = n_sites(), m = n_hidden_;
  const std::vector<double> s = to_host_f64(sigma), ar = host_param("a_re"), ai = host_param("a_im");
  std::vector<double> out_re(static_cast<std::size_t>(batch)), out_im(out_re.size());
  for (int64_t c = 0; c < batch; ++c) {
    cplx acc = 0;
    for (int64_t i = 0; i < n; ++i) acc += cplx(ar[i], ai[i]) * s[c * n + i];
    for (int64_t j = 0; j < m; ++j) acc += log_2cosh(cplx(tr[c * m + j], ti[c * m + j]));
    out_re[c] = acc.real();
    out_im[c] = config_.complex ? acc.imag() : 0.0;
  }
  write_output(log_re, from_host_f64(out_re, Shape{batch}, dtype_, device_));
  write_output(log_im, from_host_f64(out_im, Shape{batch}, dtype_, device_));
}

void Rbm::per_sample_grad(const Tensor& sigma, Tensor& jac_re, Tensor& jac_im) {
  std::vector<double> tr, ti;
  theta_host(sigma, tr, ti);
  const int64_t batch = sigma.size(0), n = n_sites(), m = n_hidden_, p = params_.size();
  const std::vector<double> s = to_host_f64(sigma);
  std::vector<double> jr(static_cast<std::size_t>(batch * p), 0.0), ji(jr.size(), 0.0);
  const int64_t off_a = params_.entry("a_re").offset, off_b = params_.entry("b_re").offset,
                off_w = params_.entry("W_re").offset;
  const int64_t shift_im = config_.complex ? params_.entry("a_im").offset - off_a : 0;
  for (int64_t c = 0; c < batch; ++c) {
    double* rr = jr.data() + c * p;
    double* ri = ji.data() + c * p;
    auto put = [&](int64_t k, cplx g) {
      const Jac d = split(g);
      rr[k] = d.re_re;
      ri[k] = d.im_re;
      if (config_.complex) {
        rr[k + shift_im] = d.re_im;
        ri[k + shift_im] = d.im_im;
      }
    };
    for (int64_t i = 0; i < n; ++i) put(off_a + i, s[c * n + i]);
    for (int64_t j = 0; j < m; ++j) {
      const cplx t = std::tanh(cplx(tr[c * m + j], ti[c * m + j]));
      put(off_b + j, t);
      for (int64_t i = 0; i < n; ++i) put(off_w + j * n + i, t * s[c * n + i]);
    }
  }
  write_output(jac_re, from_host_f64(jr, Shape{batch, p}, dtype_, device_));
  if (config_.complex) write_output(jac_im, from_host_f64(ji, Shape{batch, p}, dtype_, device_));
}

void Rbm::grad_log_psi(const Tensor& sigma, const Tensor& w_re, const Tensor& w_im, Tensor& grad,
                       bool accumulate) {
  std::vector<double> tr, ti;
  theta_host(sigma, tr, ti);
  const int64_t batch = sigma.size(0), n = n_sites(), m = n_hidden_, p = params_.size();
  check_shape("rbm grad_log_psi", grad, Shape{p}, "grad");
  const Tensor flat = params_.flat();
  check_same_device("rbm grad_log_psi", {&grad, &flat});
  const std::vector<double> s = to_host_f64(sigma), wr = to_host_f64(w_re);
  const std::vector<double> wi = w_im.defined() ? to_host_f64(w_im) : std::vector<double>(wr.size(), 0.0);
  NAQS_CHECK(static_cast<int64_t>(wr.size()) == batch && wi.size() == wr.size(),
             "rbm grad_log_psi: weights ", w_re.str(), " for sigma ", sigma.str());
  // u[b,j] = conj(c_b) tanh theta_bj with c_b = w_re + i w_im; gradient wrt p_re is Re sum conj(c) g,
  // wrt p_im is Re sum conj(c) i g = -Im sum conj(c) g.
  std::vector<double> ur(static_cast<std::size_t>(batch * m)), ui(ur.size());
  std::vector<cplx> ga(static_cast<std::size_t>(n), 0.0), gb(static_cast<std::size_t>(m), 0.0);
  for (int64_t c = 0; c < batch; ++c) {
    const cplx cc(wr[c], -wi[c]);
    for (int64_t i = 0; i < n; ++i) ga[i] += cc * s[c * n + i];
    for (int64_t j = 0; j < m; ++j) {
      const cplx u = cc * std::tanh(cplx(tr[c * m + j], ti[c * m + j]));
      ur[c * m + j] = u.real();
      ui[c * m + j] = u.imag();
      gb[j] += u;
    }
  }
  // a and b parts (host), written into their slices of grad.
  auto write = [&](const char* name, const std::vector<double>& v) {
    const ParameterEntry& e = params_.entry(name);
    Tensor view = grad.narrow(e.offset, static_cast<int64_t>(v.size()));
    std::vector<double> out = v;
    if (accumulate) {
      const std::vector<double> old = to_host_f64(view);
      for (std::size_t k = 0; k < out.size(); ++k) out[k] += old[k];
    }
    view.copy_from(from_host_f64(out, view.shape(), view.dtype(), view.device()));
  };
  auto part = [](const std::vector<cplx>& g, bool imag_param) {
    std::vector<double> v(g.size());
    for (std::size_t k = 0; k < g.size(); ++k) v[k] = imag_param ? -g[k].imag() : g[k].real();
    return v;
  };
  write("a_re", part(ga, false));
  write("b_re", part(gb, false));
  if (config_.complex) {
    write("a_im", part(ga, true));
    write("b_im", part(gb, true));
  }
  // W parts: grad_W_re = U_re^T sigma, grad_W_im = -U_im^T sigma (ops::gemm on the model device).
  auto gemm_w = [&](const char* name, const std::vector<double>& u, double alpha) {
    const ParameterEntry& e = params_.entry(name);
    Tensor view = grad.narrow(e.offset, m * n).reshape(Shape{m, n});
    const Tensor ut = from_host_f64(u, Shape{batch, m}, dtype_, device_);
    ops::gemm(ut, sigma, view, true, false, alpha, accumulate ? 1.0 : 0.0);
  };
  gemm_w("W_re", ur, 1.0);
  if (config_.complex) gemm_w("W_im", ui, -1.0);
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
      for (int64_t j = 0; j < m; ++j)
        delta += log_2cosh(cplx(pr[j], pi[j])) - log_2cosh(cplx(tr[j], ti[j]));
    } else {
      double d = 0;
      for (int64_t j = 0; j < m; ++j) d += log_2cosh(pr[j]) - log_2cosh(tr[j]);
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
