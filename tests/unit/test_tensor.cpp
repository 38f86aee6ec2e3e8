// Tensor, Shape, allocator and device resolution (host/core).
#include <gtest/gtest.h>

#include "host/core/allocator.hpp"
#include "host/core/tensor.hpp"

using namespace naqs;

TEST(Tensor, ShapeAndViews) {
  Tensor t = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5}, {2, 3});
  EXPECT_EQ(t.str(), "f32[2,3]@cpu");
  EXPECT_EQ(t.numel(), 6);
  Tensor r = t.reshape({3, -1});
  EXPECT_EQ(r.shape(), Shape({3, 2}));
  Tensor row = t.select(1);
  EXPECT_EQ(row.to_vector<float>(), (std::vector<float>{3, 4, 5}));
  Tensor n = r.narrow(1, 2);
  EXPECT_EQ(n.to_vector<float>(), (std::vector<float>{2, 3, 4, 5}));
  row.data<float>()[0] = 42;  // views share storage
  EXPECT_EQ(t.to_vector<float>()[3], 42);
}

TEST(Tensor, MismatchErrorsNameOpShapesAndDevices) {
  Tensor a = Tensor::zeros({2, 3}, DType::f32);
  Tensor b = Tensor::zeros({3, 2}, DType::f32);
  try {
    a.copy_from(b);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("copy_from"), std::string::npos) << msg;
    EXPECT_NE(msg.find("f32[3,2]@cpu"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2,3]"), std::string::npos) << msg;
  }
  EXPECT_THROW(a.data<double>(), Error);
  EXPECT_THROW(a.reshape({4, 2}), Error);
  EXPECT_THROW(a.narrow(1, 2), Error);
}

TEST(Tensor, FullCloneItem) {
  Tensor t = Tensor::full({1}, 2.5, DType::f64);
  EXPECT_EQ(t.item(), 2.5);
  Tensor c = t.clone();
  c.data<double>()[0] = 1;
  EXPECT_EQ(t.item(), 2.5);
  EXPECT_EQ(Tensor::full({2}, 7, DType::u8).to_vector<uint8_t>(), (std::vector<uint8_t>{7, 7}));
}

TEST(Allocator, CachesAndReuses) {
  CachingAllocator a(Device::cpu());
  void* p = a.allocate(1000);
  a.deallocate(p, 1000);
  void* q = a.allocate(900);  // same 1024-byte bucket
  EXPECT_EQ(p, q);
  EXPECT_EQ(a.stats().n_system_allocs, 1u);
  EXPECT_EQ(a.stats().bytes_in_use, 1024u);
  a.deallocate(q, 900);
  EXPECT_EQ(a.stats().bytes_cached, 1024u);
  a.empty_cache();
  EXPECT_EQ(a.stats().bytes_cached, 0u);
  EXPECT_EQ(CachingAllocator::round_size(3 << 20), 3u << 20);
  EXPECT_LE(CachingAllocator::round_size((1 << 22) + 1), ((1u << 22) + (1u << 22) / 8));
}

TEST(Device, ResolveSpecs) {
  EXPECT_EQ(resolve_device("cpu"), Device::cpu());
  EXPECT_EQ(resolve_device("auto"), device_count() > 0 ? Device::cuda(0) : Device::cpu());
  EXPECT_THROW(resolve_device("gpu"), UsageError);
  EXPECT_THROW(resolve_device("cuda:x"), UsageError);
  if (device_count() == 0) {
    EXPECT_THROW(resolve_device("cuda"), UsageError);
  }
  EXPECT_EQ(Device::cuda(1).str(), "cuda:1");
}
