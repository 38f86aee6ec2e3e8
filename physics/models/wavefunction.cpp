// Default Metropolis ratios of Wavefunction: full re-evaluation of log psi at the proposals.
#include "physics/models/wavefunction.hpp"

#include <vector>

#include "host/core/error.hpp"

namespace naqs {

void apply_moves(const Tensor& sigma, const Tensor& move_a, const Tensor& move_b,
                 Tensor& sigma_out) {
  check_rank("apply_moves", sigma, 2, "sigma");
  const int64_t n_batch = sigma.size(0), n_sites = sigma.size(1);
  NAQS_CHECK(move_a.numel() == n_batch && move_b.numel() == n_batch,
             "apply_moves: moves ", move_a.str(), ", ", move_b.str(), " for sigma ", sigma.str());
  Tensor host = sigma.to(Device::cpu()).clone();
  const std::vector<int32_t> a = move_a.to_vector<int32_t>(), b = move_b.to_vector<int32_t>();
  dispatch_float(sigma.dtype(), "apply_moves", [&](auto tag) {
    using T = decltype(tag);
    T* s = host.data<T>();
    for (int64_t c = 0; c < n_batch; ++c) {
      T* row = s + c * n_sites;
      if (a[c] == kGlobalFlip) {
        for (int64_t i = 0; i < n_sites; ++i) row[i] = -row[i];
        continue;
      }
      for (int32_t k : {a[c], b[c]}) {
        if (k < 0) continue;
        NAQS_CHECK(k < n_sites, "apply_moves: site ", k, " out of range for ", sigma.str());
        row[k] = -row[k];
      }
    }
  });
  sigma_out = host.to(sigma.device());
}

void Wavefunction::ratio_begin(const Tensor& sigma) {
  cur_re_ = Tensor::empty(Shape{sigma.size(0)}, dtype(), device());
  cur_im_ = Tensor::empty(Shape{sigma.size(0)}, dtype(), device());
  log_psi(sigma, cur_re_, cur_im_);
}

void Wavefunction::log_psi_ratio(const Tensor& sigma, const Tensor& move_a, const Tensor& move_b,
                                 Tensor& d_re, Tensor& d_im) {
  NAQS_CHECK(cur_re_.defined() && cur_re_.numel() == sigma.size(0),
             "Wavefunction::log_psi_ratio: ratio_begin() was not called for ", sigma.str());
  Tensor proposed;
  apply_moves(sigma, move_a, move_b, proposed);
  prop_re_ = Tensor::empty(cur_re_.shape(), dtype(), device());
  prop_im_ = Tensor::empty(cur_re_.shape(), dtype(), device());
  log_psi(proposed, prop_re_, prop_im_);
  // d = prop - cur (ops-free: (B) vectors are small next to the forward pass)
  const std::vector<double> pr = to_host_f64(prop_re_), pi = to_host_f64(prop_im_), cr = to_host_f64(cur_re_),
                            ci = to_host_f64(cur_im_);
  std::vector<double> dr(pr.size()), di(pr.size());
  for (std::size_t c = 0; c < pr.size(); ++c) {
    dr[c] = pr[c] - cr[c];
    di[c] = pi[c] - ci[c];
  }
  d_re = from_host_f64(dr, prop_re_.shape(), prop_re_.dtype(), prop_re_.device());
  d_im = from_host_f64(di, prop_im_.shape(), prop_im_.dtype(), prop_im_.device());
}

void Wavefunction::ratio_update(const Tensor& accepted) {
  NAQS_CHECK(prop_re_.defined() && accepted.numel() == prop_re_.numel(),
             "Wavefunction::ratio_update: no proposal of matching size for ", accepted.str());
  const std::vector<int32_t> acc = accepted.to_vector<int32_t>();
  std::vector<double> cr = to_host_f64(cur_re_), ci = to_host_f64(cur_im_);
  const std::vector<double> pr = to_host_f64(prop_re_), pi = to_host_f64(prop_im_);
  for (std::size_t c = 0; c < acc.size(); ++c)
    if (acc[c]) {
      cr[c] = pr[c];
      ci[c] = pi[c];
    }
  cur_re_ = from_host_f64(cr, cur_re_.shape(), cur_re_.dtype(), cur_re_.device());
  cur_im_ = from_host_f64(ci, cur_im_.shape(), cur_im_.dtype(), cur_im_.device());
}

}  // namespace naqs
