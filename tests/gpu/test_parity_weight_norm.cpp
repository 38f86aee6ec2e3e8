// CUDA vs CPU parity of the weight-normalisation op (host/ops/weight_norm.hpp, twin
// cuda/weight_norm.cu): f32 and f64, rows 1, 3, 33 x fan-in 1, 27, 289 (one warp strides over
// 289 = 9 x 32 + 1 elements), summed and per-sample (R = 17) backward, accumulate, outputs in
// Guarded buffers. Tolerances: f64 1e-13 relative to each row's scale (|g| for w, |g|/||v||
// max|dw| for dv, max|dw| for dg, plus the same relative to the value): both evaluate the same
// double formulas, only the order of the row sums (and FMA contraction) differs, a few ulp
// times at most 289 terms; f32 2 ulp of the value: the double results differ far below f32
// resolution, so an element moves only when it straddles an f32 rounding boundary.
// The zero-row error is the CPU's. Skipped without a GPU.
#include <cfloat>

#include "host/core/error.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/weight_norm.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using naqs::testing::all_close;
using naqs::testing::Guarded;
using naqs::testing::random_tensor;

namespace {

const Device kGpu = Device::cuda(0);

// (atol, rtol) for an output of the given scale.
std::pair<double, double> tolerance(DType dt, double scale) {
  if (dt == DType::f32) return {2 * FLT_EPSILON * scale * 1e-3, 2 * FLT_EPSILON};
  return {1e-13 * scale, 1e-13};
}

}  // namespace

TEST(ParityWeightNorm, ForwardAndBackward) {
  NAQS_SKIP_WITHOUT_GPU();
  uint64_t seed = 500;
  for (DType dt : {DType::f32, DType::f64})
    for (int64_t c_out : {1, 3, 33})
      for (int64_t f : {1, 27, 289}) {
        const Tensor v = random_tensor({c_out, f}, dt, ++seed);
        const Tensor g = random_tensor({c_out}, dt, ++seed, 0.5, 2.0);
        const Tensor v_d = v.to(kGpu), g_d = g.to(kGpu);
        const std::string what = std::string(dtype_name(dt)) + " " + std::to_string(c_out) +
                                 "x" + std::to_string(f);

        Tensor w = Tensor::empty({c_out, f}, dt);
        ops::weight_norm_forward(v, g, w);
        Guarded w_d({c_out, f}, dt, kGpu);
        ops::weight_norm_forward(v_d, g_d, w_d.out);
        auto [wa, wr] = tolerance(dt, 2.0);
        EXPECT_TRUE(all_close(w_d.out.to(Device::cpu()), w, wa, wr)) << what;
        EXPECT_TRUE(w_d.guards_intact()) << what;

        for (int64_t rows : {0, 17}) {  // 0: summed (Cout, F); 17: per sample (17, Cout, F)
          const Shape dw_shape = rows ? Shape{rows, c_out, f} : Shape{c_out, f};
          const Shape dg_shape = rows ? Shape{rows, c_out} : Shape{c_out};
          const Tensor dw = random_tensor(dw_shape, dt, ++seed);
          for (bool accumulate : {false, true}) {
            Tensor dv = random_tensor(dw_shape, dt, ++seed), dg = random_tensor(dg_shape, dt, ++seed);
            Guarded dv_d(dw_shape, dt, kGpu), dg_d(dg_shape, dt, kGpu);
            dv_d.out.copy_from(dv);
            dg_d.out.copy_from(dg);
            ops::weight_norm_backward(v, g, dw, dv, dg, accumulate);
            ops::weight_norm_backward(v_d, g_d, dw.to(kGpu), dv_d.out, dg_d.out, accumulate);
            // |dv| <= (|g|/||v||) 2 max|dw| with ||v|| >= ~0.3 sqrt(F) for uniform [-1,1] v.
            auto [va, vr] = tolerance(dt, 4.0 / 0.3);
            auto [ga, gr] = tolerance(dt, 1.0 + std::sqrt(static_cast<double>(f)));
            EXPECT_TRUE(all_close(dv_d.out.to(Device::cpu()), dv, va, vr))
                << what << " rows " << rows << " accumulate " << accumulate;
            EXPECT_TRUE(all_close(dg_d.out.to(Device::cpu()), dg, ga, gr))
                << what << " rows " << rows << " accumulate " << accumulate;
            EXPECT_TRUE(dv_d.guards_intact() && dg_d.guards_intact()) << what;
          }
        }
      }
}

TEST(ParityWeightNorm, ZeroDirectionIsReportedOnCuda) {
  NAQS_SKIP_WITHOUT_GPU();
  const Tensor v = Tensor::from_vector<double>({1, 2, 0, 0, 3, 4}, {3, 2}).to(kGpu);
  const Tensor g = Tensor::from_vector<double>({1, 1, 1}, {3}).to(kGpu);
  Tensor w = Tensor::empty({3, 2}, DType::f64, kGpu);
  try {
    ops::weight_norm_forward(v, g, w, "conv_in");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "weight_norm_forward: direction of conv_in channel 1 is zero");
  }
  Tensor dw = Tensor::zeros({2, 3, 2}, DType::f64, kGpu), dv = dw.clone();
  Tensor dg = Tensor::zeros({2, 3}, DType::f64, kGpu);
  EXPECT_THROW(ops::weight_norm_backward(v, g, dw, dv, dg), Error);
}
