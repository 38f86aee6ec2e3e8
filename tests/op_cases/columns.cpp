// Op cases of host/ops/columns.hpp (CUDA twin cuda/columns.cu): put_columns, f32 and f64, rows
// 1, 17, 1025, a block of 7 columns at the first, a middle and the last columns of 37, alpha 1,
// -1 and 0.37, overwrite and accumulate.
//
// Tolerance 0: one rounded product and one rounded sum per element on both backends (the kernel
// uses __fmul_rn, so no fused multiply-add). The columns outside the block are checked to keep
// their initial values exactly.
#include "host/core/tensor_convert.hpp"
#include "host/ops/columns.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

NAQS_OP_CASES(columns_cases) {
  const int64_t c = 7, d = 37;
  uint64_t seed = 1900;
  for (DType dt : kFloatTypes)
    for (int64_t rows : {1, 17, 1025})
      for (int64_t col : {0, 5, 30})
        for (double alpha : {1.0, -1.0, 0.37})
          for (bool accumulate : {false, true}) {
            OpCase k;
            k.op = "put_columns";
            k.params = OpParams(cat("rows=", rows, " c=", c, " d=", d, " col=", col,
                                    " alpha=", alpha, " acc=", int(accumulate)));
            k.dtype = dt;
            k.seed = ++seed;
            k.why = "exact: one rounded product and sum per element, no FMA (__fmul_rn)";
            k.make = [](const OpCase& k) {
              const OpParams& p = k.params;
              return OpTensors{{random_tensor({p.i("rows"), p.i("c")}, k.dtype, k.seed)},
                               {random_tensor({p.i("rows"), p.i("d")}, k.dtype, k.seed + 1)}};
            };
            k.run = [col, alpha, accumulate](const std::vector<Tensor>& in,
                                             std::vector<Tensor>& out) {
              put_columns(in[0], out[0], col, alpha, accumulate);
            };
            k.check = [col](const std::vector<Tensor>& initial, const std::vector<Tensor>& got,
                            const std::vector<Tensor>&) -> std::string {
              const std::vector<double> before = to_host_f64(initial[0]),
                                        after = to_host_f64(got[0]);
              for (std::size_t i = 0; i < after.size(); ++i) {
                const int64_t j = static_cast<int64_t>(i) % d;
                if ((j < col || j >= col + c) && after[i] != before[i])
                  return cat("column ", j, " outside the block was written");
              }
              return "";
            };
            cases.push_back(k);
          }
}

}  // namespace
}  // namespace naqs::testing
