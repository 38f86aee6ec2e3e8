// Errors of the dense ops on CUDA tensors (host/ops/{gemm,elementwise,fill,gather}): mixed
// devices and bad indices give one clear error naming the op and the tensors. Their CUDA vs CPU
// parity on random inputs is in the op-case harness (tests/op_cases/*.cpp, run by
// tests/gpu/test_op_cases.cpp). Skips (reported as skipped by ctest) without a CUDA device.
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/gather.hpp"
#include "host/ops/gemm.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using namespace naqs::ops;

namespace {
const Device kGpu = Device::cuda(0);
}  // namespace

TEST(ParityDense, DeviceMismatchErrorsNameTensors) {
  NAQS_SKIP_WITHOUT_GPU();
  Tensor a = Tensor::zeros({2, 2}, DType::f32);
  Tensor b = Tensor::zeros({2, 2}, DType::f32, kGpu);
  Tensor c = Tensor::zeros({2, 2}, DType::f32, kGpu);
  try {
    gemm(a, b, c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("gemm"), std::string::npos) << msg;
    EXPECT_NE(msg.find("f32[2,2]@cpu"), std::string::npos) << msg;
    EXPECT_NE(msg.find("f32[2,2]@cuda:0"), std::string::npos) << msg;
  }
  EXPECT_THROW(binary(Binary::add, a, b, c), Error);
  EXPECT_THROW(cast(a, c), Error);
}

TEST(ParityDense, GatherBadIndexIsAnError) {
  NAQS_SKIP_WITHOUT_GPU();
  Tensor src = Tensor::zeros({2, 3}, DType::f32, kGpu),
         out = Tensor::zeros({2, 2}, DType::f32, kGpu);
  Tensor index = Tensor::from_vector<int32_t>({0, 1, 2, 3}, {2, 2}, kGpu);
  try {
    gather(src, index, 1, out);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("gather: index 3 at flat position 3"), std::string::npos) << msg;
  }
  Tensor neg = Tensor::from_vector<int32_t>({0, -1, 2, -5}, {2, 2}, kGpu);
  try {
    scatter_add(out, neg, 1, src);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("scatter_add: index -1 at flat position 1"), std::string::npos) << msg;
  }
}
