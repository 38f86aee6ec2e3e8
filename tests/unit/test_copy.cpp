// ops::copy (host/ops/copy.hpp) on strided views: every dtype, both sides strided, broadcast
// sources, the collapsed fast paths and the OpenMP-sized path, against an index-formula loop.
// Copies do no arithmetic, so every comparison is exact.
#include <gtest/gtest.h>

#include <omp.h>

#include <numeric>

#include "host/ops/copy.hpp"
#include "tests/unit/test_ops_dense.hpp"

using namespace naqs;
using naqs::testing::expect_error;

namespace {

// Element idx of a view, read through its strides (T matching the dtype).
template <class T>
T at(const Tensor& t, const std::vector<int64_t>& idx) {
  int64_t off = 0;
  for (int d = 0; d < t.rank(); ++d) off += idx[d] * t.stride(d);
  return t.strided_data<T>()[off];
}

// Every element of dst equals the same element of src, read through both views' strides.
template <class T>
::testing::AssertionResult same_elements(const Tensor& src, const Tensor& dst) {
  std::vector<int64_t> idx(static_cast<std::size_t>(src.rank()), 0);
  for (int64_t n = 0; n < src.numel(); ++n) {
    if (at<T>(src, idx) != at<T>(dst, idx))
      return ::testing::AssertionFailure() << "element " << n << " differs";
    for (int d = src.rank() - 1; d >= 0; --d) {
      if (++idx[d] < src.size(d)) break;
      idx[d] = 0;
    }
  }
  return ::testing::AssertionSuccess();
}

template <class T>
Tensor iota(const Shape& shape) {
  std::vector<T> v(static_cast<std::size_t>(shape.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(i % 251);
  return Tensor::from_vector(v, shape);
}

template <class T>
void check_every_layout() {
  const Shape shape{3, 1, 4, 5, 2};
  Tensor src = iota<T>(shape);
  // Strided sources: permuted, narrowed on an inner dim, expanded.
  const std::vector<Tensor> sources = {
      src.permute({3, 0, 4, 1, 2}), src.narrow(3, 1, 3).transpose(0, 2), src.select(2, 1),
      src.narrow(0, 1, 1).expand({4, 1, 4, 5, 2}), src};
  for (const Tensor& s : sources) {
    Tensor dense = Tensor::empty(s.shape(), s.dtype());
    ops::copy(s, dense);
    EXPECT_TRUE(same_elements<T>(s, dense)) << s.str();
    // Strided destination: a permuted view of a fresh buffer with a spare column.
    Shape big = s.shape();
    big[0] += 1;
    Tensor buf = Tensor::zeros(big, s.dtype());
    Tensor dst = buf.narrow(0, 1, s.size(0)).transpose(0, s.rank() - 1);
    Tensor src_t = s.transpose(0, s.rank() - 1);
    ops::copy(src_t, dst);
    EXPECT_TRUE(same_elements<T>(src_t, dst)) << s.str() << " -> " << dst.str();
    // The spare slice 0 of buf is untouched.
    const std::vector<T> spare = buf.narrow(0, 0, 1).to_vector<T>();
    EXPECT_TRUE(std::all_of(spare.begin(), spare.end(), [](T v) { return v == T(0); }));
  }
}

}  // namespace

TEST(Copy, EveryDtypeEveryLayout) {
  check_every_layout<float>();
  check_every_layout<double>();
  check_every_layout<int32_t>();
  check_every_layout<uint8_t>();
}

TEST(Copy, CollapsedPlans) {
  Tensor a = iota<float>({4, 6, 8});
  // Dense on both sides: one dim.
  EXPECT_EQ(ops::detail::plan_copy(a, Tensor::empty({4, 6, 8}, DType::f32)).rank, 1);
  // Rows of a wider buffer: the inner two dims merge, the outer one cannot.
  Tensor rows = iota<float>({4, 7, 8}).narrow(1, 0, 6);  // (4,6,8), strides (56,8,1)
  const CollapsedDims p = ops::detail::plan_copy(rows, a);
  EXPECT_EQ(p.rank, 2);
  EXPECT_EQ(p.size[0], 4);
  EXPECT_EQ(p.size[1], 48);
  EXPECT_EQ(p.stride[0][0], 56);
  EXPECT_EQ(p.stride[1][0], 48);
  EXPECT_EQ(ops::detail::plan_copy(a.permute({1, 0, 2}), a.permute({1, 0, 2})).rank, 3);
  // Size-1 dims are dropped.
  EXPECT_EQ(ops::detail::plan_copy(a.narrow(1, 2, 1), Tensor::empty({4, 1, 8}, DType::f32)).rank, 2);
}

// Above kMinParallelElements the rows are split over OpenMP threads; the result is the same copy.
TEST(Copy, LargeTransposeOnEveryThreadCount) {
  Tensor a = iota<float>({1100, 1001});
  const int saved = omp_get_max_threads();
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    Tensor t = a.transpose(0, 1).contiguous();
    EXPECT_TRUE(same_elements<float>(a.transpose(0, 1), t)) << threads << " threads";
  }
  omp_set_num_threads(saved);
}

TEST(Copy, EmptyAndErrors) {
  Tensor e = Tensor::empty({0, 3}, DType::f64);
  Tensor e2 = Tensor::empty({3, 0}, DType::f64);
  ops::copy(e.transpose(0, 1), e2);  // nothing to do
  Tensor a = Tensor::zeros({2, 3}, DType::f64);
  Tensor b = Tensor::zeros({3, 2}, DType::f64);
  expect_error([&] { ops::copy(a, b); }, {"copy", "'dst'", "[2,3]"});
  Tensor f = Tensor::zeros({2, 3}, DType::f32);
  expect_error([&] { ops::copy(a, f); }, {"copy", "different dtypes"});
  Tensor bcast = Tensor::zeros({2, 1}, DType::f64).expand({2, 3});
  expect_error([&] { ops::copy(a, bcast); }, {"copy", "'dst'", "(strides 1,0)", "share memory"});
}
