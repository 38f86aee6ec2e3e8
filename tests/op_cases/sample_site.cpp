// Op cases of host/ops/sample_site.hpp (CUDA twin cuda/sample_site.cu): a whole ancestral
// sampling run of sample_site over N = 11 sites with random logits, batches 1, 17, 1025,
// f32 and f64, unconstrained and with the magnetisation constraint n_up = 5 (checked: every
// sample ends with n_up = 5).
//
// Tolerances: the spins, sigma_t and n_up exact (decisions u < p on identical inputs; they can
// only differ when u is within an ulp of p, which the fixed seeds avoid); the log-probability
// accumulators 1e-13 absolute + 1e-13 relative (as host/ops/sample_site.hpp states): exp/log
// differ by an ulp or two between libm and CUDA on |log p| <= 8 + log 2 (|x| <= 4), halved:
// about 2 eps 9 / 2 ~ 2e-15 per site, at most ~2e-14 over the 11 sites (a 4x margin).
#include "host/ops/sample_site.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

NAQS_OP_CASES(sample_site_cases) {
  const int64_t n = 11;
  uint64_t seed = 1500;
  for (DType dt : kFloatTypes)
    for (int64_t batch : {1, 17, 1025})
      for (int64_t target : {-1, 5}) {
        OpCase c;
        c.op = "sample_site";
        c.params = OpParams(cat("n=", n, " b=", batch, " n_up=", target));
        c.dtype = dt;
        c.seed = ++seed;
        c.why = "spins, sigma_t and n_up exact (identical decisions); log accumulators 1e-13: "
                "exp/log ulps (libm vs CUDA) over 11 terms";
        // outputs: sigma (B,N), sigma_t (B) in the dtype; log_re, log_im (B) f64; n_up (B) i32
        c.out_tol = {{0, 0}, {0, 0}, {1e-13, 1e-13}, {1e-13, 1e-13}, {0, 0}};
        // inputs: re (N,B,2,3) in [-2, 2], im (N,B,2,3) in [-3, 3]: site t's logits are row t
        c.make = [](const OpCase& c) {
          const int64_t n = c.params.i("n"), b = c.params.i("b");
          return OpTensors{{random_tensor({n, b, 2, 3}, c.dtype, c.seed, -2, 2),
                            random_tensor({n, b, 2, 3}, c.dtype, c.seed + 1, -3, 3)},
                           {Tensor::zeros({b, n}, c.dtype), Tensor::zeros({b}, c.dtype),
                            Tensor::zeros({b}, DType::f64), Tensor::zeros({b}, DType::f64),
                            Tensor::zeros({b}, DType::i32)}};
        };
        c.run = [n, target](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          SampleSiteSpec spec;
          spec.seed = 42;
          spec.stream = 3;
          spec.first_sample = 1000;
          spec.n_sites = n;
          spec.n_up_target = target;
          for (int64_t t = 0; t < n; ++t) {
            spec.site = t;
            sample_site(in[0].select(t), in[1].select(t), t % 3, spec, out[0], out[1], out[2],
                        out[3], out[4]);
          }
        };
        if (target >= 0)
          c.check = [target](const std::vector<Tensor>&, const std::vector<Tensor>& got,
                             const std::vector<Tensor>&) -> std::string {
            for (int32_t k : got[4].to_vector<int32_t>())
              if (k != target) return cat("a sample ends with n_up ", k, ", not ", target);
            return "";
          };
        cases.push_back(c);
      }
}

}  // namespace
}  // namespace naqs::testing
