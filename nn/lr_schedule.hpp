// Learning-rate schedules, shared by the physics (VMC) and ML trainers. lr(step) for
// step = 0, 1, ... (the step about to be taken); T is the run's total number of steps.
//   constant               lr0
//   cosine[:f]             lr0 * (f + (1 - f) (1 + cos(pi min(step, T) / T)) / 2), f default 0.01
//   step:K:gamma           lr0 * gamma^floor(step / K)
//   exp:gamma              lr0 * gamma^step
//   warmup_cosine:W[:f]    step < W:  lr0 * (step + 1) / W   (linear warmup; step 0 already
//                                     moves, step W-1 reaches lr0)
//                          step >= W: lr0 * (f + (1 - f) (1 + cos(pi s / D)) / 2) with
//                                     s = min(step - W, max(T - W, 0)), D = max(T - W, 1):
//                                     cosine from lr0 at step W down to f lr0 at step T
//                                     (W >= T: lr0 after the warmup); f default 0.01
// str() gives the spec back (parseable again); the spec strings of existing schedules and their
// str() never change (checkpoints and the VMC configuration fingerprint record them).
// Errors: a malformed spec or value is a UsageError naming the spec and the choices.
// Tests: tests/unit/test_nn_optimizer.cpp (schedule values by hand, exact to 1e-17 on 1e-2:
// the same float64 formula).
#pragma once
#include <cstdint>
#include <string>

namespace naqs::nn {

struct LrSchedule {
  enum class Kind { constant, cosine, step, exponential, warmup_cosine };
  Kind kind = Kind::constant;
  double lr0 = 1e-3;
  int64_t total_steps = 1;       // T for cosine and warmup_cosine
  double final_fraction = 0.01;  // cosine floor as a fraction of lr0
  int64_t every = 1;             // step schedule period K
  double gamma = 1.0;            // step / exponential decay factor
  int64_t warmup = 0;            // W of warmup_cosine

  double at(int64_t step) const;
  std::string str() const;  // the spec, parseable again ("cosine:0.01")
  // spec as documented above; UsageError naming the spec otherwise.
  static LrSchedule parse(const std::string& spec, double lr0, int64_t total_steps);

 private:
  double cosine_at(double s, double T) const;
};

}  // namespace naqs::nn
