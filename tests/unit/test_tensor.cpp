// Tensor, Shape, strided views, allocator and device resolution (host/core).
#include <gtest/gtest.h>

#include <numeric>

#include "host/core/allocator.hpp"
#include "host/core/tensor.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "tests/unit/test_ops_dense.hpp"

using namespace naqs;
using naqs::testing::expect_error;

namespace {

// 0, 1, 2, ... in a fresh (contiguous) f64 tensor of this shape.
Tensor arange(const Shape& shape) {
  std::vector<double> v(static_cast<std::size_t>(shape.numel()));
  std::iota(v.begin(), v.end(), 0.0);
  return Tensor::from_vector(v, shape);
}

// Row-major flat index of idx in shape.
int64_t flat(const Shape& shape, const std::vector<int64_t>& idx) {
  int64_t f = 0;
  for (int d = 0; d < shape.rank; ++d) f = f * shape[d] + idx[d];
  return f;
}

// Calls f(idx) for every index of shape in row-major order.
void for_each_index(const Shape& shape, const std::function<void(const std::vector<int64_t>&)>& f) {
  std::vector<int64_t> idx(static_cast<std::size_t>(shape.rank), 0);
  for (int64_t n = 0; n < shape.numel(); ++n) {
    f(idx);
    for (int d = shape.rank - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

// Element idx of any view, read through its strides.
double at(const Tensor& t, const std::vector<int64_t>& idx) {
  int64_t off = 0;
  for (int d = 0; d < t.rank(); ++d) off += idx[d] * t.stride(d);
  return t.strided_data<double>()[off];
}

}  // namespace

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

// ---- strided views ------------------------------------------------------------------------

TEST(TensorViews, StridesOfFreshTensorsAndTransposes) {
  Tensor t = arange({2, 3, 4});
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.stride(0), 12);
  EXPECT_EQ(t.stride(1), 4);
  EXPECT_EQ(t.stride(-1), 1);
  Tensor tt = t.transpose(0, -1);  // (4,3,2)
  EXPECT_EQ(tt.shape(), Shape({4, 3, 2}));
  EXPECT_EQ(tt.stride(0), 1);
  EXPECT_EQ(tt.stride(2), 12);
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_EQ(tt.str(), "f64[4,3,2](strides 1,4,12)@cpu");
  EXPECT_EQ(t.str(), "f64[2,3,4]@cpu");
  for_each_index(tt.shape(), [&](const std::vector<int64_t>& i) {
    EXPECT_EQ(at(tt, i), flat(t.shape(), {i[2], i[1], i[0]}));
  });
  // A dim of size 1 does not break contiguity, whatever its stride.
  EXPECT_TRUE(arange({3, 1}).transpose(0, 1).transpose(0, 1).is_contiguous());
  EXPECT_TRUE(arange({1, 5}).transpose(0, 1).is_contiguous());
}

TEST(TensorViews, NarrowAndSelectOnInnerDims) {
  const Shape shape{2, 3, 4};
  Tensor t = arange(shape);
  Tensor n = t.narrow(2, 1, 2);  // [:, :, 1:3]
  EXPECT_EQ(n.shape(), Shape({2, 3, 2}));
  EXPECT_FALSE(n.is_contiguous());
  std::vector<double> want;
  for_each_index(n.shape(), [&](const std::vector<int64_t>& i) {
    want.push_back(static_cast<double>(flat(shape, {i[0], i[1], i[2] + 1})));
  });
  EXPECT_EQ(n.to_vector<double>(), want);
  EXPECT_EQ(t.narrow(-2, 2, 1).to_vector<double>(),
            (std::vector<double>{8, 9, 10, 11, 20, 21, 22, 23}));
  Tensor s = t.select(1, 2);  // [:, 2, :]
  EXPECT_EQ(s.shape(), Shape({2, 4}));
  EXPECT_EQ(s.to_vector<double>(), (std::vector<double>{8, 9, 10, 11, 20, 21, 22, 23}));
  EXPECT_EQ(t.select(-1, 3).to_vector<double>(), (std::vector<double>{3, 7, 11, 15, 19, 23}));
  EXPECT_EQ(t.select(-1, 3).select(1).to_vector<double>(), (std::vector<double>{15, 19, 23}));
  // The dim-0 overloads on a strided view.
  Tensor p = t.permute({2, 0, 1});  // (4,2,3)
  EXPECT_EQ(p.narrow(1, 2).select(0).to_vector<double>(),
            (std::vector<double>{1, 5, 9, 13, 17, 21}));
  // Views share the buffer.
  t.select(1, 2).select(0).strided_data<double>()[t.stride(-1) * 3] = -1;
  EXPECT_EQ(t.to_vector<double>()[11], -1);
  // Length 0 at the end is a valid (empty) view.
  EXPECT_EQ(t.narrow(2, 4, 0).numel(), 0);
}

TEST(TensorViews, PermuteRankSixMatchesTheIndexFormula) {
  const Shape shape{2, 3, 1, 4, 5, 2};
  Tensor t = arange(shape);
  const std::vector<int> perm = {4, 0, 5, 2, 3, 1};
  Tensor p = t.permute(perm);
  EXPECT_EQ(p.shape(), Shape({5, 2, 2, 1, 4, 3}));
  std::vector<double> want;
  for_each_index(p.shape(), [&](const std::vector<int64_t>& i) {
    std::vector<int64_t> src(6);
    for (int d = 0; d < 6; ++d) src[perm[d]] = i[d];
    want.push_back(static_cast<double>(flat(shape, src)));
    EXPECT_EQ(at(p, i), want.back());
  });
  EXPECT_EQ(p.to_vector<double>(), want);
  // contiguous() round trip: dense copy, permuted back, equals the original.
  Tensor dense = p.contiguous();
  EXPECT_TRUE(dense.is_contiguous());
  EXPECT_EQ(dense.to_vector<double>(), want);
  Tensor back = dense.permute({1, 5, 3, 4, 0, 2}).contiguous();
  EXPECT_EQ(back.shape(), shape);
  EXPECT_EQ(back.to_vector<double>(), t.to_vector<double>());
  // Negative dims, and transpose(-1, -2) twice is the identity view.
  EXPECT_EQ(t.permute({-1, -2, -3, -4, -5, -6}).shape(), Shape({2, 5, 4, 1, 3, 2}));
  Tensor tt = t.transpose(-1, -2).transpose(-1, -2);
  EXPECT_TRUE(tt.is_contiguous());
  EXPECT_EQ(tt.raw_data(), t.raw_data());
}

TEST(TensorViews, ContiguousIsTheTensorItselfWhenDense) {
  Tensor t = arange({3, 4});
  Tensor c = t.contiguous();
  EXPECT_EQ(c.raw_data(), t.raw_data());
  Tensor v = t.transpose(0, 1).contiguous();
  EXPECT_NE(v.raw_data(), t.raw_data());
  EXPECT_EQ(v.to_vector<double>(), (std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_TRUE(v.reshape({12}).is_contiguous());
}

TEST(TensorViews, ExpandBroadcastsWithStrideZero) {
  Tensor t = arange({3, 1});  // [[0],[1],[2]]
  Tensor e = t.expand({2, 3, 4});
  EXPECT_EQ(e.shape(), Shape({2, 3, 4}));
  EXPECT_EQ(e.stride(0), 0);
  EXPECT_EQ(e.stride(1), 1);
  EXPECT_EQ(e.stride(2), 0);
  EXPECT_FALSE(e.is_contiguous());
  std::vector<double> want;
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j) want.push_back(i);
  EXPECT_EQ(e.to_vector<double>(), want);
  EXPECT_EQ(e.clone().to_vector<double>(), want);
  EXPECT_EQ(t.expand({-1, 2}).to_vector<double>(), (std::vector<double>{0, 0, 1, 1, 2, 2}));
  // Grouped-query attention: (B, Hkv, T, Dh) read as (B, Hkv, G, T, Dh) without copying.
  Tensor kv = arange({2, 2, 3, 4});
  Tensor g = kv.reshape({2, 2, 1, 3, 4}).expand({2, 2, 3, 3, 4});
  EXPECT_EQ(g.stride(2), 0);
  for_each_index(g.shape(), [&](const std::vector<int64_t>& i) {
    EXPECT_EQ(at(g, i), flat(kv.shape(), {i[0], i[1], i[3], i[4]}));
  });
}

TEST(TensorViews, CopiesAcceptStridedTensorsOnBothSides) {
  Tensor t = arange({3, 4});
  Tensor dst = Tensor::full({4, 3}, -1, DType::f64);
  dst.copy_from(t.transpose(0, 1));
  EXPECT_EQ(dst.to_vector<double>(), t.transpose(0, 1).to_vector<double>());
  // Into a strided view: only the view's elements change.
  Tensor buf = Tensor::full({4, 5}, -1, DType::f64);
  Tensor inner = buf.narrow(1, 1, 3);  // (4,3), row stride 5
  inner.copy_from(t.transpose(0, 1));
  const std::vector<double> got = buf.to_vector<double>();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 5; ++j)
      EXPECT_EQ(got[i * 5 + j], j == 0 || j == 4 ? -1.0 : t.to_vector<double>()[(j - 1) * 4 + i]);
  EXPECT_EQ(t.transpose(0, 1).to(Device::cpu()).raw_strided_data(), t.raw_data());  // no copy
  EXPECT_EQ(t.narrow(1, 1, 1).to_vector<double>(), (std::vector<double>{1, 5, 9}));
}

TEST(TensorViews, BadViewsAreOneLineNamingTheTensor) {
  Tensor t = Tensor::zeros({2, 3, 4}, DType::f32);
  expect_error([&] { t.narrow(2, 3, 2); },
               {"Tensor::narrow", "[3,5)", "dim 2", "f32[2,3,4]@cpu", "size 4"});
  expect_error([&] { t.narrow(3, 0, 1); }, {"Tensor::narrow", "dim 3", "out of range", "-3 to 2"});
  expect_error([&] { t.select(-1, 4); }, {"Tensor::select", "index 4", "f32[2,3,4]@cpu"});
  expect_error([&] { t.select(-4, 0); }, {"Tensor::select", "dim -4"});
  expect_error([&] { t.permute({0, 0, 1}); }, {"Tensor::permute", "(0,0,1)", "not a permutation"});
  expect_error([&] { t.permute({0, 1}); }, {"Tensor::permute", "(0,1)", "3 dims"});
  expect_error([&] { t.permute({0, 1, 3}); }, {"Tensor::permute", "not a permutation"});
  expect_error([&] { t.transpose(0, 5); }, {"Tensor::transpose", "dim 5"});
  expect_error([&] { t.expand({2, 5, 4}); }, {"Tensor::expand", "size 3", "[2,5,4]"});
  expect_error([&] { t.expand({3, 4}); }, {"Tensor::expand", "fewer dims"});
  Tensor v = t.transpose(1, 2);
  expect_error([&] { v.reshape({24}); },
               {"Tensor::reshape", "f32[2,4,3](strides 12,1,4)@cpu", "non-contiguous",
                "contiguous()"});
  expect_error([&] { v.data<float>(); }, {"f32[2,4,3](strides 12,1,4)@cpu", "contiguous()"});
  EXPECT_THROW(Shape({1, 1, 1, 1, 1, 1, 1}), Error);  // rank 7
  EXPECT_EQ(Tensor::zeros({1, 2, 1, 2, 1, 2}, DType::u8).numel(), 8);
}

TEST(TensorViews, OpsThatNeedDenseTensorsNameTheOpAndTheTensor) {
  Tensor x = Tensor::zeros({3, 4}, DType::f64);
  Tensor y = Tensor::zeros({4, 3}, DType::f64);
  expect_error([&] { ops::unary(ops::Unary::relu, x.transpose(0, 1), y); },
               {"unary: 'x' is f64[4,3](strides 1,4)@cpu", "non-contiguous", "contiguous()"});
  Tensor yt = y.transpose(0, 1);
  expect_error([&] { ops::fill(yt, 1.0); }, {"fill: 'x'", "non-contiguous", "contiguous()"});
  // A broadcast view cannot be written to.
  Tensor e = Tensor::zeros({1, 4}, DType::f64).expand({3, 4});
  expect_error([&] { ops::copy(x, e); }, {"copy", "'dst'", "share memory"});
}
