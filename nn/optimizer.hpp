// First-order optimisers and global-norm gradient clipping on a flat parameter vector
// (ParameterSet::flat(), (P)), shared by the physics (VMC) and ML trainers. Backend-neutral:
// every update is a sequence of naqs::ops calls on tensors of the parameters' dtype and device,
// so the same code runs on CPU and CUDA.
//
//   Sgd   (momentum mu, 0 = plain):  v <- mu v + g;  theta <- theta - lr v
//   Adam  (Kingma & Ba 2015; the NAQS paper used lr 1e-3, beta1 0.9, beta2 0.9):
//         m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;  t <- t + 1
//         theta <- theta - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
//   AdamW (Loshchilov & Hutter 2019, decoupled weight decay wd): the Adam moments, and
//         theta <- theta - lr * (mhat / (sqrt(vhat) + eps) + wd * theta)
//         (evaluated as theta <- (1 - lr wd) theta, then the Adam step; both read the old theta)
//   clip_grad_norm(grad, max_norm): n = ||grad||_2; when n > max_norm, grad <- grad * max_norm/n
//         (in place, on grad's device); returns n, the norm before clipping.
//
// `g` is the gradient of the quantity to MINIMISE (for VMC: dE/dtheta, or a natural-gradient
// direction from physics/optim/sr.hpp, which is then applied with Sgd). The optimiser state
// (moment tensors and the step counter t) is exposed for checkpoints (physics/vmc/checkpoint.hpp);
// name() and str() enter checkpoints and the VMC configuration fingerprint, so they never change
// for an existing optimiser. Learning-rate schedules: nn/lr_schedule.hpp.
//
// Errors: params/grad of different shape, dtype or device (Error naming the step and tensor);
// a hyperparameter out of range (UsageError naming it); a non-finite gradient norm in
// clip_grad_norm (Error: clipping cannot rescue it).
// Tests: tests/unit/test_nn_optimizer.cpp (SGD, momentum, Adam, AdamW and clipping against
// hand-computed steps, exact to 1e-14..1e-16: the same float64 formulas in a different order).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "host/core/tensor.hpp"

namespace naqs::nn {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;  // "sgd" | "adam" | "adamw"
  // One update of params (P) with the gradient grad (P) (same dtype and device) at rate lr.
  virtual void step(Tensor& params, const Tensor& grad, double lr) = 0;
  // State tensors for checkpoints, as (name, tensor) pairs; each tensor is (P). Restoring a
  // checkpoint copies into these tensors, so they must already be allocated (see init()).
  virtual std::vector<std::pair<std::string, Tensor>> state() = 0;
  // Allocates the (zeroed) state for params of this shape/dtype/device; step() does it lazily.
  virtual void init(const Tensor& params) = 0;
  int64_t steps_taken() const { return steps_; }
  void set_steps_taken(int64_t t) { steps_ = t; }
  // "adam lr-schedule-independent hyperparameters" for provenance and the config fingerprint.
  virtual std::string str() const = 0;

 protected:
  int64_t steps_ = 0;
};

class Sgd final : public Optimizer {
 public:
  explicit Sgd(double momentum = 0.0);
  std::string name() const override { return "sgd"; }
  void step(Tensor& params, const Tensor& grad, double lr) override;
  std::vector<std::pair<std::string, Tensor>> state() override;
  void init(const Tensor& params) override;
  std::string str() const override;

 private:
  double momentum_;
  Tensor velocity_;  // (P), only with momentum
};

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.9;  // the NAQS paper's value (the usual default is 0.999)
  double eps = 1e-8;
};

class Adam : public Optimizer {
 public:
  explicit Adam(const AdamOptions& options = {});
  std::string name() const override { return "adam"; }
  void step(Tensor& params, const Tensor& grad, double lr) override;
  std::vector<std::pair<std::string, Tensor>> state() override;  // adam.m, adam.v
  void init(const Tensor& params) override;
  std::string str() const override;

 protected:
  AdamOptions opt_;

 private:
  Tensor m_, v_, scratch_, eps_;  // (P) each
};

class AdamW final : public Adam {
 public:
  // weight_decay >= 0 (0 is Adam's update under another name).
  AdamW(const AdamOptions& options, double weight_decay);
  std::string name() const override { return "adamw"; }
  void step(Tensor& params, const Tensor& grad, double lr) override;
  std::string str() const override;  // "adamw beta1=... beta2=... eps=... weight_decay=..."

 private:
  double weight_decay_;
};

// "sgd" | "adam" | "adamw" (UsageError otherwise). momentum is SGD's, weight_decay AdamW's.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, const AdamOptions& adam,
                                          double momentum, double weight_decay = 0.0);

// Global-norm clipping (see the header comment); max_norm > 0 (UsageError otherwise).
double clip_grad_norm(Tensor& grad, double max_norm);

// Small helpers on (P) vectors shared by the optimisers and SR (any device, f32/f64).
double dot(const Tensor& x, const Tensor& y);  // sum_i x_i y_i
double norm2(const Tensor& x);                 // sqrt(dot(x, x))

}  // namespace naqs::nn
