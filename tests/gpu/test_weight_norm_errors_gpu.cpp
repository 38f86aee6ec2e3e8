// Errors of the weight-normalisation op on CUDA tensors (host/ops/weight_norm.hpp): a zero
// direction row is reported with the CPU's line (naming the layer and the channel), forward and
// backward. Its CUDA vs CPU parity is in the op-case harness (tests/op_cases/weight_norm.cpp,
// run by tests/gpu/test_op_cases.cpp). Skips (reported as skipped by ctest) without a CUDA
// device.
#include <string>

#include "host/core/error.hpp"
#include "host/ops/weight_norm.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;

TEST(WeightNormErrorsGpu, ZeroDirectionIsReportedOnCuda) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  const Tensor v = Tensor::from_vector<double>({1, 2, 0, 0, 3, 4}, {3, 2}).to(gpu);
  const Tensor g = Tensor::from_vector<double>({1, 1, 1}, {3}).to(gpu);
  Tensor w = Tensor::empty({3, 2}, DType::f64, gpu);
  try {
    ops::weight_norm_forward(v, g, w, "conv_in");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "weight_norm_forward: direction of conv_in channel 1 is zero");
  }
  Tensor dw = Tensor::zeros({2, 3, 2}, DType::f64, gpu), dv = dw.clone();
  Tensor dg = Tensor::zeros({2, 3}, DType::f64, gpu);
  EXPECT_THROW(ops::weight_norm_backward(v, g, dw, dv, dg), Error);
}
