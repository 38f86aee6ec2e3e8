// The op-case harness (after ggml's test-backend-ops): one registry of op cases, three modes.
//
// A case names the op, its parameters as a short string ("m=17 n=33 k=1025 ta=1"), a dtype, a
// seed, how to make its inputs and initial outputs on the CPU, how to run the op, the parity
// tolerance and one line on why. Optionally a backward (the op's gradient with respect to some
// inputs, given the outputs' gradients) for the gradient mode.
//   parity    CPU vs CUDA: the same inputs on both devices, CUDA outputs in Guarded buffers
//             (a write past the end changes the guard sentinel), |cuda - cpu| <= atol +
//             rtol |cpu|. tests/gpu/test_op_cases.cpp, skipped without a GPU. The unit tier
//             runs every case on the CPU through the same path against itself
//             (tests/unit/test_op_cases.cpp), so a case that cannot run fails in CI.
//   gradient  float64 on the CPU: L = sum_j <w_j, out_j> for fixed random w; the case's
//             backward with dout_j = w_j against central differences of L over every element
//             of each differentiated input. tests/unit/test_op_cases.cpp, on every machine.
//   perf      time_case(): best of a few runs on a device, for bench/bench_ops.cpp.
// Cases live in tests/op_cases/*.cpp (one file per op header) and register themselves with
// NAQS_OP_CASES; a new op is one registered case.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "host/core/tensor.hpp"

namespace naqs::testing {

// "m=17 n=33 k=1025 ta=1 shape=17x1025" -> values by key; shape("shape") parses "17x1025".
class OpParams {
 public:
  OpParams() = default;
  explicit OpParams(const std::string& text);
  int64_t i(const std::string& key) const;
  double f(const std::string& key) const;
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  Shape shape(const std::string& key) const;
  const std::string& text() const { return text_; }

 private:
  const std::string& get(const std::string& key) const;
  std::string text_;
  std::map<std::string, std::string> values_;
};

// A parity tolerance: |device - cpu| <= atol + rtol |cpu|.
struct OpTolerance {
  double atol = 0, rtol = 0;
};

struct OpTensors {
  std::vector<Tensor> in;   // inputs, on the CPU
  std::vector<Tensor> out;  // outputs with their initial values (ops may read them), on the CPU
};

struct OpCase {
  std::string op;  // the op's name as in host/ops ("gemm", "softmax_backward", ...)
  OpParams params;
  DType dtype = DType::f64;
  uint64_t seed = 0;
  double atol = 0, rtol = 0;  // parity tolerance (of every output, unless out_tol is given)
  std::string why;            // why that tolerance (or those of out_tol)
  // Per-output parity tolerances (output j: out_tol[j]) for ops whose outputs sum different
  // numbers of terms (a norm's y and its row statistics, a layer's dinp and dweight); empty:
  // atol, rtol for every output.
  std::vector<OpTolerance> out_tol;
  // Optional exact checks beyond the tolerance, given the initial outputs, the outputs of the
  // device under test (on the CPU) and the CPU reference's: zeros exactly where the CPU has
  // them, parts of an output the op must leave untouched. Returns "" or what failed.
  std::function<std::string(const std::vector<Tensor>& initial, const std::vector<Tensor>& got,
                            const std::vector<Tensor>& want)>
      check;
  std::function<OpTensors(const OpCase&)> make;
  // Runs the op on `in` (one device), writing `out` (same device).
  std::function<void(const std::vector<Tensor>& in, std::vector<Tensor>& out)> run;
  // Gradient mode (float64): d L / d in[k] for k in grad_of, given dout (one per output).
  std::vector<int> grad_of;
  std::function<std::vector<Tensor>(const std::vector<Tensor>& in,
                                    const std::vector<Tensor>& dout)>
      backward;

  std::string name() const;  // "gemm_m17_n33_k1025_ta1_f32": unique, [A-Za-z0-9_]
};

std::vector<OpCase>& op_cases();
// The registered ops in registration order; `with_backward` keeps those with a gradient case.
// The test runners make one ctest entry per op (its cases reported by name on failure).
std::vector<std::string> op_names(bool with_backward = false);

struct OpCaseRegistrar {
  explicit OpCaseRegistrar(void (*add)(std::vector<OpCase>&)) { add(op_cases()); }
};
#define NAQS_OP_CASES(fn)                                        \
  static void fn(std::vector<::naqs::testing::OpCase>& cases);   \
  static ::naqs::testing::OpCaseRegistrar fn##_registrar(&fn);   \
  static void fn(std::vector<::naqs::testing::OpCase>& cases)

// The modes. parity_failure and gradient_failure return "" when the case passes, else what
// failed (element, values, tolerance).
std::string parity_failure(const OpCase& c, Device device);
std::string gradient_failure(const OpCase& c);
double time_case(const OpCase& c, Device device, int reps);  // best seconds per run

// Tolerance of the gradient mode: central differences with h = 1e-6 in float64 have truncation
// O(h^2 |f'''|) ~ 1e-12 and rounding eps |L| / h ~ 1e-9 for |L| <= 1e1 (L sums a few thousand
// products of values in [-1, 1] with random signs).
constexpr double kGradAtol = 1e-7, kGradRtol = 1e-6;

}  // namespace naqs::testing
