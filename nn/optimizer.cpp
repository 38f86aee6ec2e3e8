#include "physics/optim/optimizer.hpp"

#include <cmath>
#include <numbers>
#include <sstream>

#include "host/core/error.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/gemm.hpp"

namespace naqs::optim {
namespace {

void check_step_args(const char* op, const Tensor& params, const Tensor& grad) {
  check_defined(op, params, "params");
  check_defined(op, grad, "grad");
  check_rank(op, params, 1, "params");
  check_shape(op, grad, params.shape(), "grad");
  check_same_device(op, {&params, &grad});
  check_same_dtype(op, {&params, &grad});
}

// t gets params' shape, dtype and device (zeroed) unless it already has them.
void ensure_like(Tensor& t, const Tensor& params) {
  if (t.defined() && t.shape() == params.shape() && t.dtype() == params.dtype() &&
      t.device() == params.device())
    return;
  t = Tensor::zeros(params.shape(), params.dtype(), params.device());
}

}  // namespace

double dot(const Tensor& x, const Tensor& y) {
  check_rank("optim::dot", x, 1, "x");
  check_shape("optim::dot", y, x.shape(), "y");
  Tensor c = Tensor::empty({1, 1}, x.dtype(), x.device());
  ops::gemm(x.reshape({1, x.numel()}), y.reshape({y.numel(), 1}), c);
  return c.item();
}

double norm2(const Tensor& x) { return std::sqrt(dot(x, x)); }

// ---- SGD ------------------------------------------------------------------------------------

Sgd::Sgd(double momentum) : momentum_(momentum) {
  NAQS_REQUIRE(momentum >= 0 && momentum < 1, "sgd: momentum must be in [0, 1), got ", momentum);
}

void Sgd::init(const Tensor& params) {
  if (momentum_ > 0) ensure_like(velocity_, params);
}

void Sgd::step(Tensor& params, const Tensor& grad, double lr) {
  check_step_args("Sgd::step", params, grad);
  if (momentum_ > 0) {
    init(params);
    ops::axpby(1.0, grad, momentum_, velocity_);  // v = mu v + g
    ops::axpby(-lr, velocity_, 1.0, params);
  } else {
    ops::axpby(-lr, grad, 1.0, params);
  }
  ++steps_;
}

std::vector<std::pair<std::string, Tensor>> Sgd::state() {
  if (momentum_ > 0) return {{"sgd.velocity", velocity_}};
  return {};
}

std::string Sgd::str() const { return cat("sgd momentum=", momentum_); }

// ---- Adam -----------------------------------------------------------------------------------

Adam::Adam(const AdamOptions& options) : opt_(options) {
  NAQS_REQUIRE(options.beta1 >= 0 && options.beta1 < 1, "adam: beta1 must be in [0, 1), got ",
               options.beta1);
  NAQS_REQUIRE(options.beta2 >= 0 && options.beta2 < 1, "adam: beta2 must be in [0, 1), got ",
               options.beta2);
  NAQS_REQUIRE(options.eps > 0, "adam: eps must be > 0, got ", options.eps);
}

void Adam::init(const Tensor& params) {
  const bool fresh = !eps_.defined() || !(eps_.shape() == params.shape()) ||
                     eps_.dtype() != params.dtype() || !(eps_.device() == params.device());
  ensure_like(m_, params);
  ensure_like(v_, params);
  ensure_like(scratch_, params);
  ensure_like(eps_, params);
  if (fresh) ops::fill(eps_, opt_.eps);
}

void Adam::step(Tensor& params, const Tensor& grad, double lr) {
  check_step_args("Adam::step", params, grad);
  init(params);
  ++steps_;
  const double t = static_cast<double>(steps_);
  const double bc1 = 1.0 - std::pow(opt_.beta1, t);
  const double bc2 = 1.0 - std::pow(opt_.beta2, t);
  ops::axpby(1.0 - opt_.beta1, grad, opt_.beta1, m_);             // m = b1 m + (1-b1) g
  ops::binary(ops::Binary::mul, grad, grad, scratch_);             // g^2
  ops::axpby(1.0 - opt_.beta2, scratch_, opt_.beta2, v_);          // v = b2 v + (1-b2) g^2
  ops::unary(ops::Unary::sqrt, v_, scratch_);                      // sqrt(v)
  ops::axpby(1.0, eps_, 1.0 / std::sqrt(bc2), scratch_);           // sqrt(v / bc2) + eps
  ops::binary(ops::Binary::div, m_, scratch_, scratch_);           // m / (...)
  ops::axpby(-lr / bc1, scratch_, 1.0, params);                    // theta -= lr m_hat / (...)
}

std::vector<std::pair<std::string, Tensor>> Adam::state() {
  return {{"adam.m", m_}, {"adam.v", v_}};
}

std::string Adam::str() const {
  return cat("adam beta1=", opt_.beta1, " beta2=", opt_.beta2, " eps=", opt_.eps);
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, const AdamOptions& adam,
                                          double momentum) {
  if (name == "adam") return std::make_unique<Adam>(adam);
  if (name == "sgd") return std::make_unique<Sgd>(momentum);
  throw UsageError(cat("unknown optimiser '", name, "' (choices: adam, sgd)"));
}

// ---- schedules ------------------------------------------------------------------------------

double LrSchedule::at(int64_t step) const {
  switch (kind) {
    case Kind::constant: return lr0;
    case Kind::cosine: {
      const double T = static_cast<double>(std::max<int64_t>(1, total_steps));
      const double s = std::min(static_cast<double>(step), T);
      return lr0 * (final_fraction +
                    (1 - final_fraction) * 0.5 * (1 + std::cos(std::numbers::pi * s / T)));
    }
    case Kind::step: return lr0 * std::pow(gamma, static_cast<double>(step / every));
    case Kind::exponential: return lr0 * std::pow(gamma, static_cast<double>(step));
  }
  return lr0;
}

std::string LrSchedule::str() const {
  switch (kind) {
    case Kind::constant: return "constant";
    case Kind::cosine: return cat("cosine:", final_fraction);
    case Kind::step: return cat("step:", every, ":", gamma);
    case Kind::exponential: return cat("exp:", gamma);
  }
  return "?";
}

LrSchedule LrSchedule::parse(const std::string& spec, double lr0, int64_t total_steps) {
  NAQS_REQUIRE(lr0 > 0 && std::isfinite(lr0), "learning rate must be > 0, got ", lr0);
  std::vector<std::string> parts;
  std::stringstream ss(spec);
  for (std::string p; std::getline(ss, p, ':');) parts.push_back(p);
  const std::string bad = cat("bad learning-rate schedule '", spec,
                              "' (choices: constant, cosine[:final_fraction], step:K:gamma, "
                              "exp:gamma)");
  auto number = [&](const std::string& s) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      throw UsageError(bad);
    }
    NAQS_REQUIRE(used == s.size() && std::isfinite(v), bad);
    return v;
  };
  LrSchedule s;
  s.lr0 = lr0;
  s.total_steps = total_steps;
  NAQS_REQUIRE(!parts.empty(), bad);
  if (parts[0] == "constant" && parts.size() == 1) {
    s.kind = Kind::constant;
  } else if (parts[0] == "cosine" && parts.size() <= 2) {
    s.kind = Kind::cosine;
    if (parts.size() == 2) s.final_fraction = number(parts[1]);
    NAQS_REQUIRE(s.final_fraction >= 0 && s.final_fraction <= 1, bad, ": final fraction in [0,1]");
  } else if (parts[0] == "step" && parts.size() == 3) {
    s.kind = Kind::step;
    const double k = number(parts[1]);
    NAQS_REQUIRE(k >= 1 && k == std::floor(k), bad, ": K must be a positive integer");
    s.every = static_cast<int64_t>(k);
    s.gamma = number(parts[2]);
    NAQS_REQUIRE(s.gamma > 0, bad, ": gamma must be > 0");
  } else if (parts[0] == "exp" && parts.size() == 2) {
    s.kind = Kind::exponential;
    s.gamma = number(parts[1]);
    NAQS_REQUIRE(s.gamma > 0, bad, ": gamma must be > 0");
  } else {
    throw UsageError(bad);
  }
  return s;
}

}  // namespace naqs::optim
