// Op cases of host/ops/random.hpp (CUDA twin cuda/random.cu): the Philox fills fill_uniform and
// fill_normal, f32 and f64, n = 1, 17, 1025, 100003, at index offset 0 and 2^33.
//
// Tolerance 0 (bitwise): both sides run the same NAQS_HD code built only from correctly rounded
// operations (host/core/philox.hpp).
#include "host/ops/random.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

NAQS_OP_CASES(random_cases) {
  for (DType dt : kFloatTypes)
    for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{1025}, int64_t{100003}})
      for (uint64_t offset : {uint64_t{0}, uint64_t{1} << 33}) {
        OpCase c;
        c.params = OpParams(cat("n=", n, " offset=", offset));
        c.dtype = dt;
        c.why = "bitwise: the same NAQS_HD Philox code of correctly rounded operations";
        c.make = [](const OpCase& c) {
          return OpTensors{{}, {Tensor::zeros({c.params.i("n")}, c.dtype)}};
        };
        OpCase u = c;
        u.op = "fill_uniform";
        u.run = [offset](const std::vector<Tensor>&, std::vector<Tensor>& out) {
          fill_uniform(out[0], 2026, 3, offset);
        };
        cases.push_back(u);
        OpCase z = c;
        z.op = "fill_normal";
        z.run = [offset](const std::vector<Tensor>&, std::vector<Tensor>& out) {
          fill_normal(out[0], 2026, 4, offset, 0.25, 1.5);
        };
        cases.push_back(z);
      }
}

}  // namespace
}  // namespace naqs::testing
