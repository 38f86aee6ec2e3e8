// The tensor helpers that reach the GPU without an op select the tensor's device themselves
// (issue 23's F3): Tensor::zeros (a memset), copies in, out, within and across devices. With two
// devices (the emulation tier's .grid1dev1 run, NAQS_EMU_DEVICES=2; a two-GPU machine) the
// tensors live on cuda:1 while device 0 is current before each call, and the emulator refuses
// another device's memory by name; with one device the same calls run on cuda:0. Each block
// comes from the caching allocator's free list, so no cudaMalloc (which selects the device
// itself) hides a missing selection. The ops are covered the same way by the op cases
// (testing::parity_device). Skips without a CUDA device.
#include <vector>

#include "tests/support/testing.hpp"

namespace naqs {
namespace {

TEST(Devices, TensorHelpersSelectTheTensorsDevice) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device d = testing::parity_device();
  const int64_t n = 1000;
  {  // three blocks of n doubles, then cached
    Tensor a = Tensor::empty({n}, DType::f64, d), b = Tensor::empty({n}, DType::f64, d),
           c = Tensor::empty({n}, DType::f64, d);
  }
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = 0.5 * static_cast<double>(i);

  testing::make_device0_current();
  Tensor z = Tensor::zeros({n}, DType::f64, d);
  testing::make_device0_current();
  Tensor x = Tensor::from_vector(v, {n}, d);  // host to device
  testing::make_device0_current();
  Tensor y = x.clone();  // device to device
  testing::make_device0_current();
  const std::vector<double> zeros = z.to_vector<double>(), back = y.to_vector<double>();
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(zeros[i], 0.0) << i;
    ASSERT_EQ(back[i], v[i]) << i;
  }
#if NAQS_HAVE_CUDA
  if (d.index == 1) {  // across devices: to cuda:0 with device 1 current, and back
    Tensor on0 = Tensor::empty({n}, DType::f64, Device::cuda(0));
    cuda_rt::set_device(1);
    on0.copy_from(y);
    testing::make_device0_current();
    EXPECT_EQ(on0.to(d).to_vector<double>(), v);
  }
#endif
}

}  // namespace
}  // namespace naqs
