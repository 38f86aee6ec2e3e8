// Op cases of host/ops/connected.hpp (CUDA twin cuda/connected.cu): connected_count,
// exclusive_scan, connected_list, connected_configs and local_energy_combine, for TFIM with hz
// and Heisenberg with Marshall signs on open and periodic chains and squares (odd site counts),
// batches 1, 17, 1025 and 5000 (the multi-chunk scan), spins f32 and f64. Each op gets the
// CPU's results of the ops before it (count -> scan -> list -> configs / combine) on both sides.
//
// Tolerances: integer outputs, diagonal elements and configurations exact (the same additions of
// +-coef in the same order); local energies 1e-13 relative (+1e-13 absolute) in f64: exp/sin/cos
// differ by about an ulp between libm and CUDA, amplified by at most the number of terms summed;
// f32 1e-5 (the rounding of the output).
#include <random>

#include "host/ops/connected.hpp"
#include "host/ops/fill.hpp"
#include "physics/operator/local_energy.hpp"
#include "tests/op_cases/common.hpp"
#include "tests/support/models.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

const char* const kHamiltonians[] = {"tfim_chain13_pbc", "heis_chain13_obc",
                                     "tfim_square3x5_pbc_obc", "heis_square4x6_pbc"};

// Built on first use (not during static initialisation, when the cases register).
const Hamiltonian& hamiltonian(int which) {
  static const std::vector<Hamiltonian> all = [] {
    const ModelParams tfim = testing::tfim(1, 0.7, 0.2), heis = testing::heis(1, 0.9, true);
    return std::vector<Hamiltonian>{Hamiltonian(Lattice::chain(13, true), tfim),
                                    Hamiltonian(Lattice::chain(13, false), heis),
                                    Hamiltonian(Lattice::square(3, 5, true, false), tfim),
                                    Hamiltonian(Lattice::square(4, 6, true, true), heis)};
  }();
  return all[static_cast<std::size_t>(which)];
}

// H's operator with the term tensors (sites, coef) of the run, and its grouped form moved to
// their device (an operator's tensors live on one device).
SpinOperator terms_on(int which, const Tensor& sites, const Tensor& coef) {
  SpinOperator t = hamiltonian(which).op();
  t.sites = sites;
  t.coef = coef;
  if (t.groups.defined()) t.groups = t.groups.to(sites.device());
  return t;
}

// The CPU pipeline up to the connections of a random +-1 batch.
struct Pipeline {
  Tensor sigma, sites, coef, diagonal, counts, offsets, flips, elements;
};

Pipeline pipeline(int which, const OpCase& c) {
  const int64_t batch = c.params.i("b"), n = hamiltonian(which).n_sites();
  std::mt19937_64 gen(c.seed);
  std::vector<double> v(static_cast<std::size_t>(batch * n));
  for (double& x : v) x = (gen() & 1) ? 1.0 : -1.0;
  Pipeline p;
  p.sigma = Tensor::empty({batch, n}, c.dtype);
  cast(Tensor::from_vector(v, {batch, n}), p.sigma);
  const SpinOperator& terms = hamiltonian(which).op();
  p.sites = terms.sites;
  p.coef = terms.coef;
  p.diagonal = Tensor::zeros({batch}, DType::f64);
  p.counts = Tensor::zeros({batch}, DType::i32);
  connected_count(p.sigma, terms, p.diagonal, p.counts);
  p.offsets = Tensor::zeros({batch + 1}, DType::i32);
  const int64_t total = exclusive_scan(p.counts, p.offsets);
  NAQS_CHECK(total > 0, "connected op cases: no connections");
  p.flips = Tensor::zeros({total, 3}, DType::i32);
  p.elements = Tensor::zeros({total}, DType::f64);
  connected_list(p.sigma, terms, p.offsets, p.flips, p.elements);
  return p;
}

NAQS_OP_CASES(connected_cases) {
  uint64_t seed = 1400;
  for (int which = 0; which < 4; ++which)
    for (DType dt : kFloatTypes)
      for (int64_t batch : {1, 17, 1025, 5000}) {
        OpCase c;
        c.params = OpParams(cat("h=", kHamiltonians[which], " b=", batch));
        c.dtype = dt;
        c.seed = ++seed;
        c.why = "exact: the same integer logic and additions of +-coef in the same order";

        OpCase count = c;
        count.op = "connected_count";
        count.make = [which](const OpCase& c) {
          const Pipeline p = pipeline(which, c);
          return OpTensors{{p.sigma, p.sites, p.coef},
                           {zeros_like(p.diagonal), zeros_like(p.counts)}};
        };
        count.run = [which](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          connected_count(in[0], terms_on(which, in[1], in[2]), out[0], out[1]);
        };
        cases.push_back(count);

        OpCase scan = c;  // outputs: offsets and the returned total (as a (1) i32 tensor)
        scan.op = "exclusive_scan";
        scan.make = [which](const OpCase& c) {
          const Pipeline p = pipeline(which, c);
          return OpTensors{{p.counts}, {zeros_like(p.offsets), Tensor::zeros({1}, DType::i32)}};
        };
        scan.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          fill(out[1], double(exclusive_scan(in[0], out[0])));
        };
        cases.push_back(scan);

        OpCase list = c;
        list.op = "connected_list";
        list.make = [which](const OpCase& c) {
          const Pipeline p = pipeline(which, c);
          return OpTensors{{p.sigma, p.sites, p.coef, p.offsets},
                           {zeros_like(p.flips), zeros_like(p.elements)}};
        };
        list.run = [which](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          connected_list(in[0], terms_on(which, in[1], in[2]), in[3], out[0], out[1]);
        };
        cases.push_back(list);

        OpCase configs = c;
        configs.op = "connected_configs";
        configs.make = [which](const OpCase& c) {
          const Pipeline p = pipeline(which, c);
          return OpTensors{{p.sigma, p.flips},
                           {Tensor::zeros({p.flips.shape()[0], p.sigma.shape()[1]}, c.dtype)}};
        };
        configs.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          connected_configs(in[0], in[1], out[0]);
        };
        cases.push_back(configs);

        // Combination with random log psi values around the sample's own.
        OpCase combine = c;
        combine.op = "local_energy_combine";
        combine.atol = combine.rtol = dt == DType::f64 ? 1e-13 : 1e-5;
        combine.why = dt == DType::f64 ? "exp/sin/cos within about an ulp (libm vs CUDA), "
                                         "amplified by the number of terms summed"
                                       : "the rounding of the f32 output";
        combine.make = [which](const OpCase& c) {
          const Pipeline p = pipeline(which, c);
          const int64_t total = p.elements.numel(), batch = p.diagonal.numel();
          return OpTensors{{p.diagonal, p.offsets, p.elements,
                            random_tensor({total}, c.dtype, c.seed + 3, -2, 2),
                            random_tensor({total}, c.dtype, c.seed + 4, -3, 3),
                            random_tensor({batch}, c.dtype, c.seed + 5, -2, 2),
                            random_tensor({batch}, c.dtype, c.seed + 6, -3, 3)},
                           {Tensor::zeros({batch}, c.dtype), Tensor::zeros({batch}, c.dtype)}};
        };
        combine.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          local_energy_combine(in[0], in[1], in[2], in[3], in[4], in[5], in[6], out[0], out[1]);
        };
        cases.push_back(combine);
      }
}

}  // namespace
}  // namespace naqs::testing
