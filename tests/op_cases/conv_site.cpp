// Op cases of host/ops/conv_site.hpp (CUDA twin cuda/conv_site.cu): the site convolution on
// random inputs in [-1, 1], B = 1, 17, 1025, odd channel counts, tap lists empty / one / several
// (repeated sites and taps, out of order), with and without bias, activation (relu, selu),
// residual and accumulate; the output is a (B,Cout) tensor, or site 1 of a (3,B,Cout) cache
// whose sites 0 and 2 must stay untouched (checked exactly).
//
// Tolerance: each output sums n = Cin * taps products of |.| <= 1 plus bias and (accumulate)
// the old value; the CPU (one GEMM per tap) and the GPU (channel-outer loop, FMAs) add them in
// different orders, so they differ by at most a few eps * (n + 2): atol = 8 eps (n + 2),
// eps = 2^-24 (f32), 2^-53 (f64). selu's expm1 is within 2 ulp on both sides and the residual
// add rounds once more: + 8 eps relative. (More taps than kMaxSiteTaps are refused on the GPU:
// tests/gpu/test_conv_errors_gpu.cpp.)
#include <optional>

#include "host/ops/conv_site.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

struct SiteSize {
  int64_t n_sites, batch, c_in, c_out, n_taps;
};

const SiteSize kSiteSizes[] = {
    {1, 1, 1, 1, 1},    {4, 17, 3, 5, 0},  {5, 17, 7, 3, 3},   {9, 1025, 5, 17, 6},
    {3, 1, 17, 2, 5},   {6, 1025, 1, 9, 2}, {2, 17, 16, 16, 1},
};

constexpr int kWeightTaps = 4;

// A tap list of n taps over S sites and K weight taps, out of order and with repeats.
std::vector<SiteTap> tap_list(int64_t n_taps, int64_t n_sites, int n_weight_taps) {
  std::vector<SiteTap> taps;
  for (int64_t k = 0; k < n_taps; ++k)
    taps.push_back({(5 * k + 2) % n_sites, static_cast<int>((3 * k + 1) % n_weight_taps)});
  return taps;
}

NAQS_OP_CASES(conv_site_cases) {
  const std::optional<Unary> acts[] = {std::nullopt, Unary::relu, Unary::selu};
  uint64_t seed = 1300;
  for (DType dt : kFloatTypes)
    for (const SiteSize& z : kSiteSizes)
      for (int variant = 0; variant < 8; ++variant)
        for (bool into_cache : {false, true}) {
          const bool with_bias = variant & 1, with_residual = variant & 2, accumulate = variant & 4;
          const std::optional<Unary> act = acts[variant % 3];
          const std::vector<SiteTap> taps = tap_list(z.n_taps, z.n_sites, kWeightTaps);
          OpCase c;
          c.op = "conv_site_forward";
          c.params = OpParams(cat("s=", z.n_sites, " b=", z.batch, " cin=", z.c_in,
                                  " cout=", z.c_out, " taps=", z.n_taps, " bias=", int(with_bias),
                                  " residual=", int(with_residual), " acc=", int(accumulate),
                                  " act=", act ? unary_name(*act) : "none",
                                  " cache=", int(into_cache)));
          c.dtype = dt;
          c.seed = ++seed;
          const double u = dt == DType::f32 ? 0x1p-24 : 0x1p-53;
          c.atol = 8 * u * static_cast<double>(z.c_in * z.n_taps + 2);
          c.rtol = 8 * u;
          c.why = "Cin*taps products summed in different orders (8 eps (n+2)), expm1 ulps and the "
                  "residual add (8 eps relative)";
          // inputs: x (S,B,Cin), wt (K,Cin,Cout), then bias (Cout) and residual (B,Cout) if used
          c.make = [with_bias, with_residual, into_cache](const OpCase& c) {
            const OpParams& p = c.params;
            const int64_t b = p.i("b"), c_out = p.i("cout");
            std::vector<Tensor> in{
                random_tensor({p.i("s"), b, p.i("cin")}, c.dtype, c.seed),
                random_tensor({kWeightTaps, p.i("cin"), c_out}, c.dtype, c.seed + 1)};
            if (with_bias) in.push_back(random_tensor({c_out}, c.dtype, c.seed + 2));
            if (with_residual) in.push_back(random_tensor({b, c_out}, c.dtype, c.seed + 3));
            // read when accumulating; in a cache, site 1 holds it
            const Shape out_shape = into_cache ? Shape{3, b, c_out} : Shape{b, c_out};
            return OpTensors{in, {random_tensor(out_shape, c.dtype, c.seed + 4)}};
          };
          c.run = [=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            const Tensor bias = with_bias ? in[2] : Tensor();
            const Tensor residual = with_residual ? in[with_bias ? 3 : 2] : Tensor();
            Tensor y = into_cache ? out[0].select(1) : out[0];
            conv_site_forward(in[0], in[1], bias, taps, act, y, residual, accumulate);
          };
          if (into_cache)
            c.check = [](const std::vector<Tensor>& initial, const std::vector<Tensor>& got,
                         const std::vector<Tensor>&) -> std::string {
              for (int64_t site : {0, 2}) {
                const ::testing::AssertionResult r =
                    all_close(got[0].select(site), initial[0].select(site), 0, 0);
                if (!r) return cat("cache site ", site, " was written: ", r.message());
              }
              return "";
            };
          cases.push_back(c);
        }
}

}  // namespace
}  // namespace naqs::testing
