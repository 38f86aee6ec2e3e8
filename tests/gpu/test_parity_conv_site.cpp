// CUDA vs CPU parity of the site convolution (host/ops/conv_site.hpp): random inputs in
// [-1, 1], B = 1, 17, 1025, odd channel counts, tap lists empty / one / several (repeated
// sites and taps, out of order), with and without bias, activation (relu, selu), residual and
// accumulate; outputs written into Guarded buffers, and into a site block of a larger cache
// whose other sites must stay untouched. Skipped without a GPU.
//
// Tolerance: each output sums n = Cin * taps products of |.| <= 1 plus bias and (accumulate)
// the old value; the CPU (one GEMM per tap) and the GPU (channel-outer loop, FMAs) add them in
// different orders, so they differ by at most a few eps * (n + 2): atol = 8 eps (n + 2).
// selu's expm1 is within 2 ulp on both sides and the residual add rounds once more: + 8 eps
// relative. More taps than kMaxSiteTaps are refused on the GPU.
#include <gtest/gtest.h>

#include <vector>

#include "host/core/tensor_convert.hpp"
#include "host/ops/conv_site.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using naqs::testing::all_close;
using naqs::testing::Guarded;
using naqs::testing::random_tensor;
using ops::SiteTap;
using ops::Unary;

namespace {

double eps_of(DType dtype) { return dtype == DType::f32 ? 0x1p-24 : 0x1p-53; }

struct SiteCase {
  int64_t n_sites, batch, c_in, c_out, n_taps;
};

const SiteCase kCases[] = {
    {1, 1, 1, 1, 1},    {4, 17, 3, 5, 0},  {5, 17, 7, 3, 3},   {9, 1025, 5, 17, 6},
    {3, 1, 17, 2, 5},   {6, 1025, 1, 9, 2}, {2, 17, 16, 16, 1},
};

// A tap list of n taps over S sites and K weight taps, out of order and with repeats.
std::vector<SiteTap> tap_list(int64_t n_taps, int64_t n_sites, int n_weight_taps) {
  std::vector<SiteTap> taps;
  for (int64_t k = 0; k < n_taps; ++k)
    taps.push_back({(5 * k + 2) % n_sites, static_cast<int>((3 * k + 1) % n_weight_taps)});
  return taps;
}

}  // namespace

TEST(ParityConvSite, Forward) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  const std::optional<Unary> acts[] = {std::nullopt, Unary::relu, Unary::selu};
  for (DType dtype : {DType::f32, DType::f64})
    for (const SiteCase& c : kCases)
      for (int variant = 0; variant < 8; ++variant) {
        const bool with_bias = variant & 1, with_residual = variant & 2, accumulate = variant & 4;
        const std::optional<Unary> act = acts[variant % 3];
        SCOPED_TRACE(::testing::Message()
                     << dtype_name(dtype) << " S=" << c.n_sites << " B=" << c.batch
                     << " Cin=" << c.c_in << " Cout=" << c.c_out << " taps=" << c.n_taps
                     << " bias=" << with_bias << " residual=" << with_residual
                     << " accumulate=" << accumulate
                     << " act=" << (act ? unary_name(*act) : "none"));
        const int n_weight_taps = 4;
        const std::vector<SiteTap> taps = tap_list(c.n_taps, c.n_sites, n_weight_taps);
        Tensor x = random_tensor({c.n_sites, c.batch, c.c_in}, dtype, 1);
        Tensor wt = random_tensor({n_weight_taps, c.c_in, c.c_out}, dtype, 2);
        Tensor bias = with_bias ? random_tensor({c.c_out}, dtype, 3) : Tensor();
        Tensor res = with_residual ? random_tensor({c.batch, c.c_out}, dtype, 4) : Tensor();
        Tensor y0 = random_tensor({c.batch, c.c_out}, dtype, 5);  // read when accumulating

        Tensor y = y0.clone();
        ops::conv_site_forward(x, wt, bias, taps, act, y, res, accumulate);
        Guarded y_gpu({c.batch, c.c_out}, dtype, gpu);
        y_gpu.out.copy_from(y0);
        ops::conv_site_forward(x.to(gpu), wt.to(gpu), with_bias ? bias.to(gpu) : Tensor(), taps,
                               act, y_gpu.out, with_residual ? res.to(gpu) : Tensor(), accumulate);
        const double eps = eps_of(dtype);
        const double atol = 8 * eps * static_cast<double>(c.c_in * c.n_taps + 2);
        EXPECT_TRUE(all_close(y_gpu.out, y, atol, 8 * eps));
        EXPECT_TRUE(y_gpu.guards_intact());

        // Into site 1 of a (3,B,Cout) cache: sites 0 and 2 keep their values.
        Tensor cache = random_tensor({3, c.batch, c.c_out}, dtype, 6, -1, 1, gpu);
        const std::vector<double> before = to_host_f64(cache);
        Tensor block = cache.select(1);
        block.copy_from(y0.to(gpu));
        ops::conv_site_forward(x.to(gpu), wt.to(gpu), with_bias ? bias.to(gpu) : Tensor(), taps,
                               act, block, with_residual ? res.to(gpu) : Tensor(), accumulate);
        EXPECT_TRUE(all_close(block, y, atol, 8 * eps));
        const std::vector<double> after = to_host_f64(cache);
        const std::size_t n_site = static_cast<std::size_t>(c.batch * c.c_out);
        for (std::size_t i = 0; i < n_site; ++i) {
          ASSERT_EQ(after[i], before[i]) << "site 0 element " << i;
          ASSERT_EQ(after[2 * n_site + i], before[2 * n_site + i]) << "site 2 element " << i;
        }
      }
}

TEST(ParityConvSite, TooManyTapsRefused) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  Tensor x = Tensor::zeros({2, 3, 4}, DType::f32, gpu);
  Tensor wt = Tensor::zeros({1, 4, 5}, DType::f32, gpu);
  Tensor y = Tensor::zeros({3, 5}, DType::f32, gpu);
  const std::vector<SiteTap> many(ops::kMaxSiteTaps + 1, SiteTap{1, 0});
  EXPECT_THROW(ops::conv_site_forward(x, wt, Tensor(), many, std::nullopt, y), Error);
  const std::vector<SiteTap> most(ops::kMaxSiteTaps, SiteTap{1, 0});
  EXPECT_NO_THROW(ops::conv_site_forward(x, wt, Tensor(), most, std::nullopt, y));
}
