// Op cases of host/ops/metropolis_step.hpp (CUDA twin cuda/metropolis_step.cu): metropolis_propose
// and metropolis_accept for 1, 17, 1025 chains of 13 spins (f32 and f64), flip and exchange
// moves with a global-flip probability, chains 0.. and an MPI rank's slice first_chain = 1025..
// (the Philox stream of row c is first_chain + c). The accept step gets the CPU's proposals and
// random log-ratio differences in [-1.5, 0.5] on both sides.
//
// Tolerance 0: moves, decisions and spins are integer/bit logic on identical inputs with the
// deterministic hd_log (host/core/philox.hpp).
#include "host/ops/fill.hpp"
#include "host/ops/metropolis_step.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

// Random +-1 spins (C,N) in the dtype.
Tensor random_spins(int64_t chains, int64_t n, DType dtype, uint64_t seed) {
  Tensor u = random_tensor(Shape{chains, n}, DType::f64, seed);
  double* p = u.data<double>();
  for (int64_t i = 0; i < u.numel(); ++i) p[i] = p[i] < 0 ? -1.0 : 1.0;
  Tensor out = Tensor::empty(u.shape(), dtype);
  cast(u, out);
  return out;
}

// The bonds (i, i+1 mod N) of a ring, (N,2) i32.
Tensor ring_bonds(int64_t n) {
  std::vector<int32_t> bonds;
  for (int32_t i = 0; i < n; ++i) bonds.insert(bonds.end(), {i, static_cast<int32_t>((i + 1) % n)});
  return Tensor::from_vector(bonds, Shape{n, 2});
}

NAQS_OP_CASES(metropolis_step_cases) {
  const int64_t n = 13;
  uint64_t seed = 1600;
  for (DType dt : kFloatTypes)
    for (int64_t chains : {1, 17, 1025})
      for (MoveRule rule : {MoveRule::flip, MoveRule::exchange})
        for (uint64_t first_chain : {uint64_t{0}, uint64_t{1025}}) {
          const MetropolisStepSpec spec{rule, 0.1, 99, 12345, first_chain};
          OpCase c;
          c.params = OpParams(cat("chains=", chains, " n=", n, " rule=",
                                  rule == MoveRule::flip ? "flip" : "exchange",
                                  " first_chain=", first_chain));
          c.dtype = dt;
          c.seed = ++seed;
          c.why = "exact: integer/bit logic on identical inputs, deterministic hd_log";

          OpCase propose = c;
          propose.op = "metropolis_propose";
          propose.make = [](const OpCase& c) {
            const int64_t chains = c.params.i("chains"), n = c.params.i("n");
            return OpTensors{{random_spins(chains, n, c.dtype, c.seed), ring_bonds(n)},
                             {Tensor::zeros({chains}, DType::i32),
                              Tensor::zeros({chains}, DType::i32)}};
          };
          propose.run = [spec](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            metropolis_propose(in[0], in[1], spec, out[0], out[1]);
          };
          cases.push_back(propose);

          // inputs d_re (C), move_a, move_b (C) i32; outputs sigma (C,N) in place, accepted (C)
          OpCase accept = c;
          accept.op = "metropolis_accept";
          accept.make = [spec](const OpCase& c) {
            const int64_t chains = c.params.i("chains"), n = c.params.i("n");
            const Tensor sigma = random_spins(chains, n, c.dtype, c.seed);
            Tensor a = Tensor::zeros({chains}, DType::i32), b = a.clone();
            metropolis_propose(sigma, ring_bonds(n), spec, a, b);
            Tensor d = Tensor::empty({chains}, c.dtype);
            cast(random_tensor({chains}, DType::f64, c.seed + 1, -1.5, 0.5), d);
            return OpTensors{{d, a, b}, {sigma, Tensor::zeros({chains}, DType::i32)}};
          };
          accept.run = [spec](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            metropolis_accept(out[0], in[0], in[1], in[2], spec, out[1]);
          };
          cases.push_back(accept);
        }
}

}  // namespace
}  // namespace naqs::testing
