// Op cases of host/ops/embedding.hpp (CUDA twin cuda/embedding.cu): embedding_forward and
// embedding_backward (summed, and per group of positions: per-sample dtable (G,V,C)), overwrite
// and accumulate, f32 and f64, vocabularies 1 .. 1025 and up to 1025 positions.
//
// Tolerance 0: the forward is a copy (or one addition, the same on both sides); the backward
// performs the same double additions in the same order (ascending positions per id) on both
// sides and rounds once. Gradient cases (f64, small tables): d/dtable = embedding_backward.
#include "host/ops/embedding.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

struct EmbeddingSize {
  int64_t batch, t_len, vocab, c, groups;
};

NAQS_OP_CASES(embedding_cases) {
  const EmbeddingSize sizes[] = {{1, 1, 1, 1, 1},     {1, 17, 5, 17, 1},  {17, 1, 1025, 3, 17},
                                 {5, 205, 17, 65, 5}, {1, 1025, 3, 33, 1}, {3, 1025, 1025, 1, 3}};
  uint64_t seed = 1800;
  for (DType dt : kFloatTypes)
    for (const EmbeddingSize& z : sizes)
      for (bool accumulate : {false, true}) {
        OpCase c;
        c.params = OpParams(cat("b=", z.batch, " t=", z.t_len, " v=", z.vocab, " c=", z.c,
                                " g=", z.groups, " acc=", int(accumulate)));
        c.dtype = dt;
        c.seed = ++seed;
        c.why = "exact: a copy (forward); the same double additions in the same order, rounded "
                "once (backward)";
        auto ids = [](const OpCase& c) {
          return random_tensor({c.params.i("b"), c.params.i("t")}, DType::i32, c.seed, 0,
                               double(c.params.i("v")));
        };

        OpCase fwd = c;
        fwd.op = "embedding_forward";
        fwd.make = [ids](const OpCase& c) {
          const OpParams& p = c.params;
          return OpTensors{{ids(c), random_tensor({p.i("v"), p.i("c")}, c.dtype, c.seed + 1)},
                           {random_tensor({p.i("b"), p.i("t"), p.i("c")}, c.dtype, c.seed + 2)}};
        };
        fwd.run = [accumulate](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          embedding_forward(in[0], in[1], out[0], accumulate);
        };
        if (dt == DType::f64 && z.vocab * z.c <= 1024 && z.batch * z.t_len * z.c <= 4096) {
          fwd.grad_of = {1};
          fwd.backward = [](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
            Tensor dtable = zeros_like(in[1]);
            embedding_backward(in[0], dout[0], dtable);
            return std::vector<Tensor>{dtable};
          };
        }
        cases.push_back(fwd);

        OpCase bwd = c;
        bwd.op = "embedding_backward";
        bwd.make = [ids](const OpCase& c) {
          const OpParams& p = c.params;
          const int64_t g = p.i("g");
          const Shape table = g == 1 ? Shape{p.i("v"), p.i("c")} : Shape{g, p.i("v"), p.i("c")};
          return OpTensors{
              {ids(c), random_tensor({p.i("b"), p.i("t"), p.i("c")}, c.dtype, c.seed + 2)},
              {random_tensor(table, c.dtype, c.seed + 3)}};
        };
        bwd.run = [accumulate](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          embedding_backward(in[0], in[1], out[0], accumulate);
        };
        cases.push_back(bwd);
      }
}

}  // namespace
}  // namespace naqs::testing
