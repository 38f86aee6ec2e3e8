// Op cases of host/ops/token_sample.hpp (CUDA twin cuda/token_sample.cu): sampling at
// temperatures 0, 0.7, 1, 3 over V = 2, 256 and argmax (with ties), batches 1, 17, 1025.
// Tolerance: exact (the same decisions on identical logits; an ulp of exp can move a token only
// when u lands within an ulp of a cumulative boundary, which the fixed seeds avoid).
#include <cmath>

#include "host/core/tensor_convert.hpp"
#include "host/ops/token_sample.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

NAQS_OP_CASES(token_sample_cases) {
  uint64_t seed = 2300;
  for (DType dt : kFloatTypes)
    for (int64_t rows : {1, 17, 1025})
      for (int64_t v : {2, 256}) {
        for (double temp : {0.0, 0.7, 1.0, 3.0}) {
          OpCase c;
          c.op = "sample_tokens";
          c.params = OpParams(cat("rows=", rows, " v=", v, " temp=", temp));
          c.dtype = dt;
          c.seed = ++seed;
          c.why = "identical decisions on identical logits";
          c.make = [](const OpCase& c) {
            return OpTensors{
                {random_tensor({c.params.i("rows"), c.params.i("v")}, c.dtype, c.seed, -4, 4)},
                {Tensor::zeros({c.params.i("rows")}, DType::i32)}};
          };
          c.run = [temp](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            TokenSampleSpec spec;
            spec.seed = 7;
            spec.first_sequence = 11;
            spec.position = 5;
            spec.temperature = temp;
            sample_tokens(in[0], spec, out[0]);
          };
          cases.push_back(c);
        }
        OpCase a;
        a.op = "argmax";
        a.params = OpParams(cat("rows=", rows, " v=", v));
        a.dtype = dt;
        a.seed = ++seed;
        a.why = "exact comparisons";
        // values rounded to a coarse grid so rows have ties (the first index must win)
        a.make = [](const OpCase& c) {
          Tensor x = random_tensor({c.params.i("rows"), c.params.i("v")}, DType::f64, c.seed, 0, 4);
          std::vector<double> h = x.to_vector<double>();
          for (double& e : h) e = std::floor(e);
          Tensor y = from_host_f64(h, x.shape(), c.dtype, Device::cpu());
          return OpTensors{{y}, {Tensor::zeros({c.params.i("rows")}, DType::i32)}};
        };
        a.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          argmax(in[0], out[0]);
        };
        cases.push_back(a);
      }
}

}  // namespace
}  // namespace naqs::testing
