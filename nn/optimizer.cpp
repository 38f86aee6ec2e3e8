// First-order optimisers and gradient clipping (see optimizer.hpp).
#include "nn/optimizer.hpp"

#include <cmath>

#include "host/core/error.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/gemm.hpp"

namespace naqs::nn {
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
  check_rank("nn::dot", x, 1, "x");
  check_shape("nn::dot", y, x.shape(), "y");
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

// ---- AdamW ----------------------------------------------------------------------------------

AdamW::AdamW(const AdamOptions& options, double weight_decay)
    : Adam(options), weight_decay_(weight_decay) {
  NAQS_REQUIRE(weight_decay >= 0 && std::isfinite(weight_decay),
               "adamw: weight_decay must be >= 0, got ", weight_decay);
}

void AdamW::step(Tensor& params, const Tensor& grad, double lr) {
  check_step_args("AdamW::step", params, grad);
  if (weight_decay_ > 0) ops::scale(params, 1.0 - lr * weight_decay_);  // decoupled decay
  Adam::step(params, grad, lr);
}

std::string AdamW::str() const {
  return cat("adamw beta1=", opt_.beta1, " beta2=", opt_.beta2, " eps=", opt_.eps,
             " weight_decay=", weight_decay_);
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, const AdamOptions& adam,
                                          double momentum, double weight_decay) {
  if (name == "adam") return std::make_unique<Adam>(adam);
  if (name == "adamw") return std::make_unique<AdamW>(adam, weight_decay);
  if (name == "sgd") return std::make_unique<Sgd>(momentum);
  throw UsageError(cat("unknown optimiser '", name, "' (choices: adam, adamw, sgd)"));
}

// ---- clipping -------------------------------------------------------------------------------

double clip_grad_norm(Tensor& grad, double max_norm) {
  NAQS_REQUIRE(max_norm > 0 && std::isfinite(max_norm),
               "clip_grad_norm: max_norm must be > 0, got ", max_norm);
  check_defined("clip_grad_norm", grad, "grad");
  check_rank("clip_grad_norm", grad, 1, "grad");
  const double norm = norm2(grad);
  NAQS_CHECK(std::isfinite(norm), "clip_grad_norm: the norm of ", grad.str(), " is ", norm,
             " (a non-finite gradient cannot be clipped)");
  if (norm > max_norm) ops::scale(grad, max_norm / norm);
  return norm;
}

}  // namespace naqs::nn
