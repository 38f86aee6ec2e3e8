// First-order optimisers and learning-rate schedules on the flat parameter vector
// (ParameterSet::flat(), (P)), backend-neutral: every update is a sequence of naqs::ops calls
// on tensors of the parameters' dtype and device, so the same code runs on CPU and CUDA.
//
//   Sgd   (momentum mu, 0 = plain):  v <- mu v + g;  theta <- theta - lr v
//   Adam  (Kingma & Ba 2015; the NAQS paper used lr 1e-3, beta1 0.9, beta2 0.9):
//         m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;  t <- t + 1
//         theta <- theta - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
//
// `g` is the gradient of the quantity to MINIMISE (for VMC: dE/dtheta, or a natural-gradient
// direction from physics/optim/sr.hpp, which is then applied with Sgd). The optimiser state
// (moment tensors and the step counter t) is exposed for checkpoints (physics/vmc/checkpoint.hpp).
//
// Schedules: lr(step) for step = 0, 1, ... (the step about to be taken):
//   constant            lr0
//   cosine[:f]          lr0 * (f + (1 - f) (1 + cos(pi min(step, T) / T)) / 2), f default 0.01
//   step:K:gamma        lr0 * gamma^floor(step / K)
//   exp:gamma           lr0 * gamma^step
// T is the run's total number of steps.
//
// Tests: tests/unit/test_optim.cpp (SGD, momentum and Adam against hand-computed steps; schedule
// values; exact to 1e-15 relative: the same float64 formulas in a different order).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "host/core/tensor.hpp"

namespace naqs::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;  // "sgd" | "adam"
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

class Adam final : public Optimizer {
 public:
  explicit Adam(const AdamOptions& options = {});
  std::string name() const override { return "adam"; }
  void step(Tensor& params, const Tensor& grad, double lr) override;
  std::vector<std::pair<std::string, Tensor>> state() override;
  void init(const Tensor& params) override;
  std::string str() const override;

 private:
  AdamOptions opt_;
  Tensor m_, v_, scratch_, eps_;  // (P) each
};

// "sgd" | "adam" (UsageError otherwise).
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, const AdamOptions& adam,
                                          double momentum);

struct LrSchedule {
  enum class Kind { constant, cosine, step, exponential };
  Kind kind = Kind::constant;
  double lr0 = 1e-3;
  int64_t total_steps = 1;   // T for cosine
  double final_fraction = 0.01;  // cosine floor as a fraction of lr0
  int64_t every = 1;         // step schedule period K
  double gamma = 1.0;        // step / exponential decay factor

  double at(int64_t step) const;
  std::string str() const;  // the spec, parseable again ("cosine:0.01")
  // spec as documented above; UsageError naming the spec otherwise.
  static LrSchedule parse(const std::string& spec, double lr0, int64_t total_steps);
};

// Small helpers on (P) vectors shared by the optimisers and SR (any device, f32/f64).
double dot(const Tensor& x, const Tensor& y);  // sum_i x_i y_i
double norm2(const Tensor& x);                 // sqrt(dot(x, x))

}  // namespace naqs::optim
