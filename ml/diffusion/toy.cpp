// The EDM toy: mixture data, MLP denoiser, training and evaluation; see toy.hpp.
#include "ml/diffusion/toy.hpp"

#include <chrono>
#include <cmath>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "nn/layers.hpp"
#include "nn/lr_schedule.hpp"
#include "nn/optimizer.hpp"

namespace naqs::ml::diffusion {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::string layer_name(int64_t l, const char* what) { return cat("l", l, ".", what); }

// Philox standard normal number `index` of `stream`.
double normal(uint64_t seed, uint64_t stream, uint64_t index) {
  return philox_normal_f64(seed, stream, index, 0.0, 1.0);
}

void check_rows(const Tensor& x, const std::vector<double>& sigma) {
  NAQS_CHECK(x.rank() == 2 && x.size(1) == 2 && static_cast<int64_t>(sigma.size()) == x.size(0),
             "ToyDenoiser: x ", x.str(), " is not (B, 2) with one sigma per row");
}

}  // namespace

double ToyConfig::sigma_data() const {
  return std::sqrt(radius * radius / 2 + mode_std * mode_std);
}

Edm ToyConfig::data_edm() const {
  Edm e = edm;
  e.sigma_data = sigma_data();
  return e;
}

void ToyConfig::validate() const {
  NAQS_REQUIRE(modes >= 1, "--modes ", modes, " is not allowed: use at least 1");
  NAQS_REQUIRE(std::isfinite(radius) && radius >= 0, "--radius ", radius,
               " is not allowed: use a finite value >= 0");
  NAQS_REQUIRE(std::isfinite(mode_std) && mode_std > 0, "--mode-std ", mode_std,
               " is not allowed: use a finite value > 0");
  NAQS_REQUIRE(hidden >= 1 && depth >= 1, "--hidden ", hidden, " and --depth ", depth,
               " must both be at least 1");
  NAQS_REQUIRE(train_steps >= 1 && batch >= 1, "--train-steps ", train_steps, " and --batch ",
               batch, " must both be at least 1");
  NAQS_REQUIRE(std::isfinite(lr) && lr > 0, "--lr ", lr, " is not allowed: use a value > 0");
  NAQS_REQUIRE(eval_samples >= 2, "--samples ", eval_samples,
               " is not allowed: use at least 2 (the energy distance needs pairs)");
  NAQS_REQUIRE(!sampler_steps.empty(), "--sampler-steps is empty: give at least one count");
  for (int64_t s : sampler_steps)
    NAQS_REQUIRE(s >= 1, "--sampler-steps ", s, " is not allowed: every count must be >= 1");
  data_edm().validate();
}

std::vector<double> draw_mixture(const ToyConfig& c, int64_t n, uint64_t stream) {
  std::vector<double> xy(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t base = 3 * static_cast<uint64_t>(i);
    const double u = philox_uniform_f64(c.seed, stream, base);
    const int64_t m = std::min<int64_t>(c.modes - 1, static_cast<int64_t>(u * c.modes));
    const double angle = 2 * kPi * double(m) / double(c.modes);
    xy[2 * i] = c.radius * std::cos(angle) + c.mode_std * normal(c.seed, stream, base + 1);
    xy[2 * i + 1] = c.radius * std::sin(angle) + c.mode_std * normal(c.seed, stream, base + 2);
  }
  return xy;
}

double energy_distance(const std::vector<double>& a, const std::vector<double>& b) {
  NAQS_CHECK(a.size() % 2 == 0 && b.size() % 2 == 0 && a.size() >= 4 && b.size() >= 4,
             "energy_distance: needs two sets of at least 2 points (n, 2)");
  const int64_t na = static_cast<int64_t>(a.size() / 2), nb = static_cast<int64_t>(b.size() / 2);
  auto dist = [](const double* p, const double* q) { return std::hypot(p[0] - q[0], p[1] - q[1]); };
  // per-row sums in parallel, then summed in row order: the same bits for any thread count
  std::vector<double> row_ab(static_cast<size_t>(na)), row_aa(static_cast<size_t>(na)),
      row_bb(static_cast<size_t>(nb));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < na; ++i) {
    double sab = 0, saa = 0;
    for (int64_t j = 0; j < nb; ++j) sab += dist(&a[2 * i], &b[2 * j]);
    for (int64_t j = 0; j < na; ++j)
      if (j != i) saa += dist(&a[2 * i], &a[2 * j]);
    row_ab[i] = sab;
    row_aa[i] = saa;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < nb; ++i) {
    double sbb = 0;
    for (int64_t j = 0; j < nb; ++j)
      if (j != i) sbb += dist(&b[2 * i], &b[2 * j]);
    row_bb[i] = sbb;
  }
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < na; ++i) {
    ab += row_ab[i];
    aa += row_aa[i];
  }
  for (int64_t i = 0; i < nb; ++i) bb += row_bb[i];
  return 2 * ab / (double(na) * nb) - aa / (double(na) * (na - 1)) - bb / (double(nb) * (nb - 1));
}

ToyDenoiser::ToyDenoiser(const ToyConfig& c, Device device)
    : c_(c), edm_(c.data_edm()), device_(device) {
  int64_t in = kFeatures;
  for (int64_t l = 0; l <= c.depth; ++l) {
    const int64_t out = l == c.depth ? 2 : c.hidden;
    params_.add(layer_name(l, "w"), {out, in});
    params_.add(layer_name(l, "b"), {out});
    in = out;
  }
  params_.allocate(DType::f64, device);
}

void ToyDenoiser::init(uint64_t seed) {
  for (int64_t l = 0; l <= c_.depth; ++l) {
    Tensor w = params_.get(layer_name(l, "w")), b = params_.get(layer_name(l, "b"));
    const bool last = l == c_.depth;
    const double bound = 1.0 / std::sqrt(double(w.size(1)));
    std::vector<double> wv(static_cast<size_t>(w.numel())), bv(static_cast<size_t>(b.numel()));
    const uint64_t stream = 100 + static_cast<uint64_t>(l);
    for (size_t i = 0; i < wv.size(); ++i)
      wv[i] = last ? 0.0 : bound * (2 * philox_uniform_f64(seed, stream, i) - 1);
    for (size_t i = 0; i < bv.size(); ++i)
      bv[i] = last ? 0.0 : bound * (2 * philox_uniform_f64(seed, stream, wv.size() + i) - 1);
    w.copy_from(Tensor::from_vector(wv, w.shape()));
    b.copy_from(Tensor::from_vector(bv, b.shape()));
  }
}

Tensor ToyDenoiser::features(const std::vector<double>& xv,
                             const std::vector<double>& sigma) const {
  const int64_t n = static_cast<int64_t>(sigma.size());
  std::vector<double> f(static_cast<size_t>(n * kFeatures));
  for (int64_t i = 0; i < n; ++i) {
    double* r = &f[i * kFeatures];
    const double cin = edm_.c_in(sigma[i]), cn = edm_.c_noise(sigma[i]);
    r[0] = cin * xv[2 * i];
    r[1] = cin * xv[2 * i + 1];
    r[2] = cn;
    for (int j = 0; j < 4; ++j) {
      r[3 + 2 * j] = std::sin(std::ldexp(cn, j));
      r[4 + 2 * j] = std::cos(std::ldexp(cn, j));
    }
  }
  return Tensor::from_vector(f, {n, kFeatures}).to(device_);
}

void ToyDenoiser::forward(const Tensor& feats) {
  const int64_t n = feats.size(0);
  pre_.resize(static_cast<size_t>(c_.depth));
  acts_.resize(static_cast<size_t>(c_.depth));
  Tensor h = feats;
  for (int64_t l = 0; l < c_.depth; ++l) {
    if (!pre_[l].defined() || pre_[l].size(0) != n) {
      pre_[l] = Tensor::empty({n, c_.hidden}, DType::f64, device_);
      acts_[l] = Tensor::empty({n, c_.hidden}, DType::f64, device_);
    }
    nn::linear_forward(pre_[l], h, params_.get(layer_name(l, "w")),
                       params_.get(layer_name(l, "b")));
    nn::activation_forward(ops::Unary::silu, acts_[l], pre_[l]);
    h = acts_[l];
  }
  if (!out_.defined() || out_.size(0) != n) out_ = Tensor::empty({n, 2}, DType::f64, device_);
  nn::linear_forward(out_, h, params_.get(layer_name(c_.depth, "w")),
                     params_.get(layer_name(c_.depth, "b")));
}

void ToyDenoiser::denoise(const Tensor& x, const std::vector<double>& sigma, Tensor& out) {
  check_rows(x, sigma);
  const std::vector<double> xv = x.to_vector<double>();
  forward(features(xv, sigma));
  const std::vector<double> fv = out_.to_vector<double>();
  std::vector<double> d(xv.size());
  for (size_t i = 0; i < sigma.size(); ++i)
    for (int k = 0; k < 2; ++k)
      d[2 * i + k] = edm_.c_skip(sigma[i]) * xv[2 * i + k] + edm_.c_out(sigma[i]) * fv[2 * i + k];
  out.copy_from(Tensor::from_vector(d, x.shape()).to(out.device()));
}

double ToyDenoiser::loss_and_grad(const Tensor& x, const std::vector<double>& sigma,
                                  const Tensor& target, ParameterSet& grads) {
  check_rows(x, sigma);
  const Tensor feats = features(x.to_vector<double>(), sigma);
  forward(feats);
  const int64_t n = x.size(0);
  const std::vector<double> fv = out_.to_vector<double>(), tv = target.to_vector<double>();
  std::vector<double> dv(fv.size());
  double loss = 0;
  for (size_t i = 0; i < fv.size(); ++i) {
    const double e = fv[i] - tv[i];
    loss += e * e;
    dv[i] = 2 * e / double(n);
  }
  Tensor dh = Tensor::from_vector(dv, {n, 2}).to(device_);
  for (int64_t l = c_.depth; l >= 0; --l) {
    const Tensor inp = l == 0 ? feats : acts_[l - 1];
    Tensor dinp;
    if (l > 0) dinp = Tensor::empty({n, c_.hidden}, DType::f64, device_);
    nn::linear_backward(dinp, grads.get(layer_name(l, "w")), grads.get(layer_name(l, "b")), dh,
                        inp, params_.get(layer_name(l, "w")));
    if (l > 0) {
      Tensor dpre = Tensor::empty({n, c_.hidden}, DType::f64, device_);
      nn::activation_backward(ops::Unary::silu, dpre, dinp, pre_[l - 1]);
      dh = dpre;
    }
  }
  return loss / double(n);
}

ToyResult run_toy(const ToyConfig& c, Device device,
                  const std::function<bool(int64_t, double)>& progress) {
  c.validate();
  const Edm edm = c.data_edm();
  ToyDenoiser net(c, device);
  net.init(c.seed);
  ParameterSet grads = net.params().like(DType::f64, device);
  nn::AdamW opt(nn::AdamOptions{0.9, 0.999, 1e-8}, 0.0);
  const int64_t warmup = std::max<int64_t>(1, c.train_steps / 20);
  const nn::LrSchedule sched =
      nn::LrSchedule::parse(cat("warmup_cosine:", warmup, ":0.1"), c.lr, c.train_steps);
  ToyResult r;
  const int64_t b = c.batch;
  std::vector<double> sigma(static_cast<size_t>(b)), xv(static_cast<size_t>(2 * b)),
      tv(static_cast<size_t>(2 * b));
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < c.train_steps; ++step) {
    const std::vector<double> y = draw_mixture(c, b, 1000 + static_cast<uint64_t>(step));
    for (int64_t i = 0; i < b; ++i) {
      const uint64_t idx = static_cast<uint64_t>(step * b + i);
      sigma[i] = edm.train_sigma(normal(c.seed, 3, idx));
      for (int k = 0; k < 2; ++k) {
        const double x = y[2 * i + k] + sigma[i] * normal(c.seed, 2, 2 * idx + k);
        xv[2 * i + k] = x;
        tv[2 * i + k] = edm.train_target(y[2 * i + k], x, sigma[i]);
      }
    }
    const Tensor x = Tensor::from_vector(xv, {b, 2}).to(device);
    const Tensor target = Tensor::from_vector(tv, {b, 2}).to(device);
    const double loss = net.loss_and_grad(x, sigma, target, grads);
    NAQS_REQUIRE(std::isfinite(loss), "diffusion toy: the loss became ", loss, " at step ", step,
                 " (lower --lr)");
    Tensor flat = net.params().flat();
    opt.step(flat, grads.flat(), sched.at(step));
    r.loss.push_back(loss);
    if (progress && ((step + 1) % 100 == 0 || step + 1 == c.train_steps) &&
        !progress(step + 1, loss)) {
      r.stopped = true;
      return r;
    }
  }
  r.train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const int64_t n = c.eval_samples;
  r.fresh = draw_mixture(c, n, 5);
  r.floor = energy_distance(r.fresh, draw_mixture(c, n, 6));
  std::vector<double> start(static_cast<size_t>(2 * n));
  const double sigma0 = sampling_sigmas(edm, 1)[0];
  for (size_t i = 0; i < start.size(); ++i) start[i] = sigma0 * normal(c.seed, 4, i);
  const Denoiser denoise = [&](const Tensor& x, double s, Tensor& out) {
    net.denoise(x, std::vector<double>(static_cast<size_t>(x.size(0)), s), out);
  };
  for (Sampler s : {Sampler::euler, Sampler::heun})
    for (int64_t steps : c.sampler_steps) {
      Tensor x = Tensor::from_vector(start, {n, 2}).to(device);
      const int64_t calls = sample(s, edm, steps, denoise, x);
      std::vector<double> out = x.to_vector<double>();
      r.rows.push_back({s, steps, calls, energy_distance(out, r.fresh)});
      r.samples.push_back(std::move(out));
    }
  return r;
}

}  // namespace naqs::ml::diffusion
