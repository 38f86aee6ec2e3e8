// Errors of the convolution ops on CUDA tensors (host/ops/conv2d.hpp, conv_site.hpp): mixed
// devices are refused (not silently copied), and a tap list longer than kMaxSiteTaps (the taps
// travel by value to the kernel) is refused on the GPU, and a NAQS model whose cached sampler
// would need more is refused when it is made on the GPU, not at its first sampled site. Their CUDA
// vs CPU parity is in the op-case harness (tests/op_cases/conv2d.cpp, conv_site.cpp, run by
// tests/gpu/test_op_cases.cpp). Skips (reported as skipped by ctest) without a CUDA device.
#include <vector>

#include "host/ops/conv2d.hpp"
#include "host/ops/conv_site.hpp"
#include "physics/models/naqs_conv1d.hpp"
#include "physics/models/naqs_conv2d.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using namespace naqs::ops;

TEST(ConvErrorsGpu, Conv2dMixedDevicesAreRefused) {
  NAQS_SKIP_WITHOUT_GPU();
  const Tensor x = Tensor::zeros({1, 1, 2, 2}, DType::f32);
  const Tensor w = Tensor::zeros({1, 1, 1, 1}, DType::f32, Device::cuda());
  Tensor y = Tensor::zeros({1, 1, 2, 2}, DType::f32, Device::cuda());
  EXPECT_THROW(conv2d_forward(x, w, Tensor(), conv2d_pointwise_spec(), y), Error);
}

TEST(ConvErrorsGpu, ConvSiteTooManyTapsRefused) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  Tensor x = Tensor::zeros({2, 3, 4}, DType::f32, gpu);
  Tensor wt = Tensor::zeros({1, 4, 5}, DType::f32, gpu);
  Tensor y = Tensor::zeros({3, 5}, DType::f32, gpu);
  const std::vector<SiteTap> many(kMaxSiteTaps + 1, SiteTap{1, 0});
  EXPECT_THROW(conv_site_forward(x, wt, Tensor(), many, std::nullopt, y), Error);
  const std::vector<SiteTap> most(kMaxSiteTaps, SiteTap{1, 0});
  EXPECT_NO_THROW(conv_site_forward(x, wt, Tensor(), most, std::nullopt, y));
}

TEST(ConvErrorsGpu, ModelsNeedingTooManySiteTapsAreRefusedAtSetUp) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  NaqsConv2dConfig c2;
  c2.lx = c2.ly = 12;
  c2.width = 2;
  c2.depth = 1;
  c2.kernel = 11;  // the vertical stream's 6 x 11 window: 66 taps
  try {
    NaqsConv2d model(c2, DType::f32, gpu, 1);
    FAIL() << "a kernel-11 conv2d model was made on CUDA";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("66 taps per site"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(NaqsConv2d(c2, DType::f32, Device::cpu(), 1));  // the CPU has no limit
  c2.kernel = 9;  // 5 x 9 = 45 taps
  EXPECT_NO_THROW(NaqsConv2d(c2, DType::f32, gpu, 1));
  NaqsConv1dConfig c1;
  c1.n_sites = 100;
  c1.width = 2;
  c1.depth = 1;
  c1.kernel = 65;
  EXPECT_THROW(NaqsConv1d(c1, DType::f32, gpu, 1), UsageError);
  c1.n_sites = 64;  // only 64 of the 65 taps can ever be in range
  EXPECT_NO_THROW(NaqsConv1d(c1, DType::f32, gpu, 1));
}
