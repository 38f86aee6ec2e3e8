// Op cases of host/ops/fill.hpp (CUDA twin cuda/fill.cu): fill, cast between every dtype pair,
// copy host <-> device.
#include "host/ops/fill.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

// ---- fill / copy / cast: tolerance 0 (one exactly defined conversion per element) ----------
NAQS_OP_CASES(fill_cast_cases) {
  const DType all[] = {DType::f32, DType::f64, DType::i32, DType::u8};
  for (int64_t n : kSizes)
    for (DType to : all) {
      OpCase fill_case;
      fill_case.op = "fill";
      fill_case.params = OpParams(cat("n=", n));
      fill_case.dtype = to;
      fill_case.why = "exact";
      fill_case.make = [](const OpCase& c) {
        return OpTensors{{}, {Tensor::zeros({c.params.i("n")}, c.dtype)}};
      };
      fill_case.run = [](const std::vector<Tensor>&, std::vector<Tensor>& out) {
        fill(out[0], 7.0);
      };
      cases.push_back(fill_case);
      for (DType from : all) {
        OpCase c;
        c.op = "cast";
        c.params = OpParams(cat("from=", dtype_name(from), " n=", n));
        c.dtype = to;
        c.seed = static_cast<uint64_t>(n);
        c.why = "exact (values in [0, 200) are representable in every dtype)";
        c.make = [from](const OpCase& c) {
          const int64_t n = c.params.i("n");
          return OpTensors{{random_tensor({n}, from, c.seed, 0.0, 200.0)},
                           {Tensor::zeros({n}, c.dtype)}};
        };
        c.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          cast(in[0], out[0]);
        };
        cases.push_back(c);
      }
      OpCase copy_case;  // the device side copies device -> host -> device
      copy_case.op = "copy_round_trip";
      copy_case.params = OpParams(cat("n=", n));
      copy_case.dtype = to;
      copy_case.seed = 3;
      copy_case.why = "exact";
      copy_case.make = [](const OpCase& c) {
        const int64_t n = c.params.i("n");
        return OpTensors{{random_tensor({n}, c.dtype, c.seed, 0.0, 100.0)},
                         {Tensor::zeros({n}, c.dtype)}};
      };
      copy_case.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
        Tensor host = Tensor::zeros(in[0].shape(), in[0].dtype());
        copy(in[0], host);
        copy(host, out[0]);
      };
      cases.push_back(copy_case);
    }
}

// Casts of NaN and out-of-range floats to integer dtypes: both sides saturate (convert_value,
// host/ops/fill.hpp); C++'s static_cast left them undefined and x86 and a GPU disagreed.
NAQS_OP_CASES(cast_saturate_cases) {
  for (DType from : {DType::f32, DType::f64})
    for (DType to : {DType::i32, DType::u8}) {
      OpCase c;
      c.op = "cast";
      c.params = OpParams(cat("from=", dtype_name(from), " range=4e9 n=1025"));
      c.dtype = to;
      c.seed = 11;
      c.why = "exact (one defined result per value: NaN -> 0, saturation, truncation)";
      c.make = [from](const OpCase& c) {
        Tensor v = random_tensor({1025}, DType::f64, c.seed, -4e9, 4e9);
        double* p = v.data<double>();
        for (int64_t i = 0; i < 1025; i += 7) p[i] = NAN;
        for (int64_t i = 3; i < 1025; i += 11) p[i] = 0.001 * p[i];  // in range for both
        Tensor src = Tensor::empty({1025}, from);
        cast(v, src);
        return OpTensors{{src}, {Tensor::zeros({1025}, c.dtype)}};
      };
      c.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
        cast(in[0], out[0]);
      };
      cases.push_back(c);
    }
}

}  // namespace
}  // namespace naqs::testing
