// EDM preconditioning, schedule and samplers; see edm.hpp.
#include "ml/diffusion/edm.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "host/core/error.hpp"
#include "host/ops/elementwise.hpp"

namespace naqs::ml::diffusion {

Objective parse_objective(const std::string& name) {
  if (name == "edm") return Objective::edm;
  if (name == "ddpm") return Objective::ddpm;
  throw UsageError(cat("--objective '", name, "' is not an objective: use edm or ddpm"));
}

std::string objective_name(Objective o) { return o == Objective::edm ? "edm" : "ddpm"; }

void Edm::validate() const {
  auto finite_positive = [](double v, const char* name) {
    NAQS_REQUIRE(std::isfinite(v) && v > 0, name, " ", v,
                 " is not allowed: use a finite value > 0");
  };
  finite_positive(sigma_data, "--sigma-data");
  finite_positive(sigma_min, "--sigma-min");
  finite_positive(sigma_max, "--sigma-max");
  finite_positive(rho, "--rho");
  finite_positive(p_std, "--p-std");
  NAQS_REQUIRE(std::isfinite(p_mean), "--p-mean ", p_mean, " is not allowed: use a finite value");
  NAQS_REQUIRE(sigma_min < sigma_max, "--sigma-min ", sigma_min, " must be below --sigma-max ",
               sigma_max);
  NAQS_REQUIRE(ddpm_timesteps >= 2, "--ddpm-timesteps ", ddpm_timesteps,
               " is not allowed: use at least 2");
  NAQS_REQUIRE(beta_1 > 0 && beta_1 < beta_T && beta_T < 1, "--beta-1 ", beta_1, " and --beta-T ",
               beta_T, " are not allowed: use 0 < beta_1 < beta_T < 1");
}

double Edm::ddpm_sigma(int64_t t) const {
  NAQS_CHECK(t >= 1 && t <= ddpm_timesteps, "ddpm_sigma: t = ", t, " outside 1..",
             ddpm_timesteps);
  double abar = 1;
  for (int64_t s = 1; s <= t; ++s)
    abar *= 1 - (beta_1 + double(s - 1) / double(ddpm_timesteps - 1) * (beta_T - beta_1));
  return std::sqrt(1 / abar - 1);
}

double Edm::train_sigma(double z) const {
  if (objective == Objective::edm) return std::exp(p_mean + p_std * z);
  const double u = 0.5 * std::erfc(-z / std::sqrt(2.0));  // Phi(z) in [0, 1]
  const int64_t t = 1 + static_cast<int64_t>(u * double(ddpm_timesteps));
  return ddpm_sigma(std::min(t, ddpm_timesteps));
}

double Edm::c_skip(double sigma) const {
  if (objective == Objective::ddpm) return 1.0;
  const double sd2 = sigma_data * sigma_data;
  return sd2 / (sigma * sigma + sd2);
}
double Edm::c_out(double sigma) const {
  if (objective == Objective::ddpm) return -sigma;
  return sigma * sigma_data / std::sqrt(sigma * sigma + sigma_data * sigma_data);
}
double Edm::c_in(double sigma) const {
  const double sd = objective == Objective::ddpm ? 1.0 : sigma_data;
  return 1.0 / std::sqrt(sigma * sigma + sd * sd);
}
double Edm::c_noise(double sigma) const { return std::log(sigma) / 4.0; }
double Edm::loss_weight(double sigma) const {
  if (objective == Objective::ddpm) return 1.0 / (sigma * sigma);
  const double s = sigma * sigma_data;
  return (sigma * sigma + sigma_data * sigma_data) / (s * s);
}

std::string Edm::str() const {
  std::ostringstream o;
  o.precision(17);
  o << "objective=" << objective_name(objective) << " sigma_data=" << sigma_data << " sigma_min=" << sigma_min << " sigma_max=" << sigma_max
    << " rho=" << rho << " p_mean=" << p_mean << " p_std=" << p_std;
  if (objective == Objective::ddpm)
    o << " ddpm_timesteps=" << ddpm_timesteps << " beta_1=" << beta_1 << " beta_T=" << beta_T;
  return o.str();
}

std::vector<double> karras_sigmas(const Edm& edm, int64_t steps) {
  NAQS_REQUIRE(steps >= 1, "--steps ", steps, " is not allowed: use at least 1");
  edm.validate();
  std::vector<double> s(static_cast<size_t>(steps + 1), 0.0);
  const double hi = std::pow(edm.sigma_max, 1.0 / edm.rho);
  const double lo = std::pow(edm.sigma_min, 1.0 / edm.rho);
  for (int64_t i = 0; i < steps; ++i) {
    const double t = steps == 1 ? 0.0 : double(i) / double(steps - 1);
    s[i] = std::pow(hi + t * (lo - hi), edm.rho);
  }
  return s;
}

std::vector<double> sampling_sigmas(const Edm& edm, int64_t steps) {
  if (edm.objective == Objective::edm) return karras_sigmas(edm, steps);
  NAQS_REQUIRE(steps >= 1, "--steps ", steps, " is not allowed: use at least 1");
  edm.validate();
  const int64_t T = edm.ddpm_timesteps;
  std::vector<double> s(static_cast<size_t>(steps + 1), 0.0);
  for (int64_t i = 0; i < steps; ++i) {
    const double t = steps == 1 ? double(T) : double(T) - double(i) * double(T - 1) / double(steps - 1);
    s[i] = edm.ddpm_sigma(std::llround(t));
  }
  return s;
}

Sampler parse_sampler(const std::string& name) {
  if (name == "euler") return Sampler::euler;
  if (name == "heun") return Sampler::heun;
  throw UsageError(cat("--sampler '", name, "' is not a sampler: use euler or heun"));
}

std::string sampler_name(Sampler s) { return s == Sampler::euler ? "euler" : "heun"; }

int64_t network_evaluations(Sampler s, int64_t steps) {
  return s == Sampler::euler ? steps : 2 * steps - 1;
}

int64_t sample(Sampler s, const Edm& edm, int64_t steps, const Denoiser& denoise, Tensor& x) {
  const std::vector<double> sig = sampling_sigmas(edm, steps);
  Tensor d = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor x_pred, d_pred;
  int64_t calls = 0;
  for (int64_t i = 0; i < steps; ++i) {
    // Coefficients as ratios of noise levels (sn / si, not 1 + h / si, which cancels badly on
    // the first, large step of a short schedule: 1 - 0.99997).
    const double si = sig[i], sn = sig[i + 1], drop = si - sn;  // h = sn - si = -drop
    denoise(x, si, d);
    ++calls;
    if (s == Sampler::euler || sn == 0.0) {
      // x + h (x - D) / si = (sn / si) x + (drop / si) D
      ops::axpby(drop / si, d, sn / si, x);
      continue;
    }
    // Heun: predictor x' = (sn / si) x + (drop / si) D, then with d' = (x' - D') / sn
    //   x_next = x + h/2 [(x - D)/si + d'] = ((si + sn) / (2 si)) x + (drop / (2 si)) D
    //            - (drop / 2) d'
    if (!x_pred.defined()) {
      x_pred = Tensor::empty(x.shape(), x.dtype(), x.device());
      d_pred = Tensor::empty(x.shape(), x.dtype(), x.device());
    }
    ops::axpby(sn / si, x, 0.0, x_pred);
    ops::axpby(drop / si, d, 1.0, x_pred);
    denoise(x_pred, sn, d_pred);
    ++calls;
    ops::axpby(1.0 / sn, x_pred, -1.0 / sn, d_pred);  // d_pred = (x' - D') / sn
    ops::axpby(drop / (2 * si), d, (si + sn) / (2 * si), x);
    ops::axpby(-drop / 2, d_pred, 1.0, x);
  }
  return calls;
}

}  // namespace naqs::ml::diffusion
