// CUDA vs CPU parity of ops::copy (host/ops/copy.hpp, twin cuda/copy.cu) on strided views:
// permuted, narrowed, selected and broadcast sources, strided destinations inside larger
// buffers (every element outside the view must keep its sentinel), rank 6, odd sizes, every
// dtype, and host<->device copies of strided views. Tolerance: exact (a copy does no
// arithmetic). Skips (reported as skipped by ctest) without a CUDA device.
#include <functional>

#include "host/ops/copy.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using namespace naqs::testing;

namespace {

using View = std::function<Tensor(const Tensor&)>;
const DType kAllTypes[] = {DType::f32, DType::f64, DType::i32, DType::u8};
const Device kGpu = Device::cuda(0);

struct Case {
  const char* name;
  Shape src_base, dst_base;
  View src_view, dst_view;
};

Tensor same(const Tensor& t) { return t; }

}  // namespace

TEST(ParityCopy, StridedSourcesAndDestinations) {
  NAQS_SKIP_WITHOUT_GPU();
  const Case cases[] = {
      {"transpose 1025x17", {17, 1025}, {1025, 17}, [](const Tensor& t) { return t.transpose(0, 1); },
       same},
      {"bthd -> bhtd", {3, 17, 5, 33}, {3, 5, 17, 33},
       [](const Tensor& t) { return t.permute({0, 2, 1, 3}); }, same},
      {"into bthd through its bhtd view", {3, 5, 17, 33}, {3, 17, 5, 33}, same,
       [](const Tensor& t) { return t.permute({0, 2, 1, 3}); }},
      {"inner narrow -> inner narrow", {7, 9, 13}, {7, 11, 13},
       [](const Tensor& t) { return t.narrow(1, 2, 7).narrow(2, 1, 11); },
       [](const Tensor& t) { return t.narrow(1, 3, 7).narrow(2, 0, 11); }},
      {"select -> strided", {5, 6, 7}, {7, 2, 6},
       [](const Tensor& t) { return t.select(0, 3).transpose(0, 1); },  // (7,6)
       [](const Tensor& t) { return t.select(1, 1); }},
      {"broadcast (GQA)", {2, 3, 1, 17, 8}, {2, 3, 4, 17, 8},
       [](const Tensor& t) { return t.expand({2, 3, 4, 17, 8}); }, same},
      {"rank 6", {2, 3, 1, 4, 5, 3}, {3, 5, 2, 4, 1, 3},
       [](const Tensor& t) { return t.permute({5, 4, 0, 3, 2, 1}); },
       [](const Tensor& t) { return t.permute({0, 1, 2, 3, 4, 5}).transpose(0, 5).transpose(0, 5); }},
  };
  uint64_t seed = 10;
  for (DType dt : kAllTypes)
    for (const Case& c : cases) {
      Tensor src = random_tensor(c.src_base, dt, ++seed, 0, 100);
      Tensor cpu_buf = Tensor::full(c.dst_base, 77, dt);
      Tensor cpu_dst = c.dst_view(cpu_buf);
      ops::copy(c.src_view(src), cpu_dst);
      Guarded g(c.dst_base, dt, kGpu, 77);
      Tensor gpu_dst = c.dst_view(g.out);
      ops::copy(c.src_view(src.to(kGpu)), gpu_dst);
      EXPECT_TRUE(all_close(g.out, cpu_buf, 0, 0)) << c.name << " " << dtype_name(dt);
      EXPECT_TRUE(g.guards_intact()) << c.name << " " << dtype_name(dt);
    }
}

// contiguous() on the device, and strided views across devices in both directions.
TEST(ParityCopy, ContiguousAndAcrossDevices) {
  NAQS_SKIP_WITHOUT_GPU();
  for (DType dt : kAllTypes) {
    Tensor host = random_tensor({17, 33, 5}, dt, 99, 0, 100);
    Tensor dev = host.to(kGpu);
    const Tensor want = host.permute({2, 0, 1}).contiguous();
    EXPECT_TRUE(all_close(dev.permute({2, 0, 1}).contiguous(), want, 0, 0)) << dtype_name(dt);
    EXPECT_TRUE(all_close(dev.permute({2, 0, 1}).to(Device::cpu()), want, 0, 0));
    EXPECT_TRUE(all_close(host.permute({2, 0, 1}).to(kGpu), want, 0, 0));
    // Host strided view -> device strided view.
    Guarded g({5, 17, 34}, dt, kGpu, 3);
    Tensor dst = g.out.narrow(2, 1, 33).permute({1, 2, 0});  // (17,33,5)
    ops::copy(host, dst);
    EXPECT_TRUE(all_close(dst, host, 0, 0)) << dtype_name(dt);
    EXPECT_TRUE(all_close(g.out.narrow(2, 0, 1), Tensor::full({5, 17, 1}, 3, dt), 0, 0));
    EXPECT_TRUE(g.guards_intact());
  }
}
