// ops::matmul (host/ops/gemm.hpp) on strided operands against a float64 loop: attention-style
// permuted views (Q K^T from a (B,T,H,Dh) layout, P V written into a permuted output), every
// transposed layout, stride-0 broadcast over batch dims (grouped-query attention), rank 6 with
// batch dims that do not collapse, every size 0, bitwise equality across thread counts, and the
// refusals.
// Tolerance: the error bound of a K-term float sum, (K + 2) * eps * (|alpha| sum_k |a||b| +
// |beta| |c|) per element (Higham's gamma_K; the reference accumulates the absolute sum too).
#include <gtest/gtest.h>

#include <omp.h>

#include <cfloat>
#include <cmath>

#include "host/ops/gemm.hpp"
#include "tests/support/testing.hpp"
#include "tests/unit/test_ops_dense.hpp"

using namespace naqs;
using naqs::testing::expect_error;
using naqs::testing::random_tensor;

namespace {

std::vector<double> values(const Tensor& t) {
  return dispatch_float(t.dtype(), "values", [&](auto tag) {
    using T = decltype(tag);
    const std::vector<T> v = t.to_vector<T>();
    return std::vector<double>(v.begin(), v.end());
  });
}

// c_after must equal alpha * a @ b + beta * c_before, computed here in float64 from the
// logical (row-major) element order of each view.
::testing::AssertionResult matches_reference(const Tensor& a, const Tensor& b,
                                             const std::vector<double>& c_before,
                                             const Tensor& c_after, double alpha, double beta) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  const int64_t n_batch = m * n == 0 ? 0 : c_after.numel() / (m * n);
  const std::vector<double> va = values(a), vb = values(b), vc = values(c_after);
  const double eps = a.dtype() == DType::f32 ? FLT_EPSILON : DBL_EPSILON;
  for (int64_t t = 0; t < n_batch; ++t)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0, abs_sum = 0;
        for (int64_t p = 0; p < k; ++p) {
          const double prod = va[(t * m + i) * k + p] * vb[(t * k + p) * n + j];
          sum += prod;
          abs_sum += std::abs(prod);
        }
        const int64_t ic = (t * m + i) * n + j;
        const double c0 = beta == 0 ? 0.0 : c_before[ic];
        const double want = alpha * sum + beta * c0;
        const double tol = (k + 2) * eps * (std::abs(alpha) * abs_sum + std::abs(beta * c0));
        if (!(std::abs(vc[ic] - want) <= tol))
          return ::testing::AssertionFailure()
                 << "batch " << t << " element (" << i << "," << j << "): " << vc[ic] << " vs "
                 << want << " (tolerance " << tol << ")";
      }
  return ::testing::AssertionSuccess();
}

// Runs matmul(a, b, c) and compares with the reference.
::testing::AssertionResult check_matmul(const Tensor& a, const Tensor& b, Tensor c, double alpha,
                                        double beta) {
  const std::vector<double> before = values(c);
  ops::matmul(a, b, c, alpha, beta);
  return matches_reference(a, b, before, c, alpha, beta);
}

const DType kFloatTypes[] = {DType::f32, DType::f64};

}  // namespace

// Q K^T and P V with Q, K, V as (B,H,T,Dh) views of (B,T,H,Dh) buffers.
TEST(Matmul, AttentionShapedPermutedViews) {
  const int64_t batch = 2, heads = 3, t_len = 7, dh = 5;
  uint64_t seed = 1;
  for (DType dt : kFloatTypes) {
    const Shape bthd{batch, t_len, heads, dh};
    Tensor q = random_tensor(bthd, dt, ++seed).permute({0, 2, 1, 3});
    Tensor k = random_tensor(bthd, dt, ++seed).permute({0, 2, 1, 3});
    Tensor v = random_tensor(bthd, dt, ++seed).permute({0, 2, 1, 3});
    Tensor scores = random_tensor({batch, heads, t_len, t_len}, dt, ++seed);
    EXPECT_TRUE(check_matmul(q, k.transpose(-1, -2), scores, 0.5, 0.0)) << dtype_name(dt);
    EXPECT_TRUE(check_matmul(q, k.transpose(-1, -2), scores, -1.0, 0.75)) << dtype_name(dt);
    // P V written straight into a (B,T,H,Dh) buffer through its (B,H,T,Dh) view.
    Tensor out = Tensor::zeros(bthd, dt);
    Tensor out_view = out.permute({0, 2, 1, 3});
    EXPECT_TRUE(check_matmul(scores, v, out_view, 1.0, 0.0)) << dtype_name(dt);
    EXPECT_FALSE(out_view.is_contiguous());
  }
}

TEST(Matmul, EveryLayoutOddSizesAndZeros) {
  struct Mnk {
    int64_t m, n, k;
  };
  const Mnk sizes[] = {{5, 7, 3}, {1, 9, 4}, {6, 1, 2}, {3, 4, 1}, {1, 1, 1},
                       {0, 3, 2}, {3, 0, 2}, {3, 2, 0}, {17, 13, 33}};
  uint64_t seed = 100;
  for (DType dt : kFloatTypes)
    for (const Mnk& s : sizes)
      for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb) {
          // Batch (2,3); a transposed operand is stored (..., K, M) and read through its view;
          // a's batch dims are swapped in memory, b's come from a wider buffer.
          Tensor a = ta ? random_tensor({3, 2, s.k, s.m}, dt, ++seed).transpose(-1, -2)
                        : random_tensor({3, 2, s.m, s.k}, dt, ++seed);
          a = a.transpose(0, 1);  // (2,3,M,K)
          Tensor b = tb ? random_tensor({2, 3, s.n, s.k + 2}, dt, ++seed)
                              .narrow(-1, 1, s.k)
                              .transpose(-1, -2)
                        : random_tensor({2, 3, s.k, s.n + 3}, dt, ++seed).narrow(-1, 0, s.n);
          // c: rows with a gap (row stride N + 1).
          Tensor c = random_tensor({2, 3, s.m, s.n + 1}, dt, ++seed).narrow(-1, 0, s.n);
          const double beta = (ta + tb) % 2 ? 0.5 : 0.0;
          EXPECT_TRUE(check_matmul(a, b, c, 1.5, beta))
              << dtype_name(dt) << " " << s.m << "x" << s.n << "x" << s.k << " ta " << ta
              << " tb " << tb;
        }
}

// Grouped-query attention: H = Hkv * G query heads read Hkv K/V heads through a stride-0 dim.
TEST(Matmul, StrideZeroBroadcastOverBatchDims) {
  const int64_t batch = 2, hkv = 2, groups = 3, t_len = 5, dh = 4;
  uint64_t seed = 200;
  for (DType dt : kFloatTypes) {
    Tensor q = random_tensor({batch, hkv, groups, t_len, dh}, dt, ++seed);
    Tensor k = random_tensor({batch, hkv, 1, t_len, dh}, dt, ++seed)
                   .expand({batch, hkv, groups, t_len, dh});
    EXPECT_EQ(k.stride(2), 0);
    Tensor s = Tensor::zeros({batch, hkv, groups, t_len, t_len}, dt);
    EXPECT_TRUE(check_matmul(q, k.transpose(-1, -2), s, 1.0, 0.0)) << dtype_name(dt);
    // One matrix for every batch (all batch strides 0), and a collapsed stride-0 batch.
    Tensor w = random_tensor({1, 1, dh, 3}, dt, ++seed).expand({batch, hkv * groups, dh, 3});
    Tensor x = random_tensor({batch, hkv * groups, t_len, dh}, dt, ++seed);
    Tensor y = Tensor::zeros({batch, hkv * groups, t_len, 3}, dt);
    EXPECT_TRUE(check_matmul(x, w, y, 1.0, 0.0)) << dtype_name(dt);
  }
}

// Rank 6 (four batch dims) whose strides collapse to no single stride: the CUDA twin loops over
// the outer ones.
TEST(Matmul, RankSixNonCollapsingBatchDims) {
  uint64_t seed = 300;
  for (DType dt : kFloatTypes) {
    Tensor a = random_tensor({2, 2, 3, 2, 4, 5}, dt, ++seed).permute({3, 0, 2, 1, 4, 5});
    Tensor b = random_tensor({2, 3, 2, 2, 6, 5}, dt, ++seed)
                   .permute({0, 2, 1, 3, 5, 4})
                   .transpose(0, 3);  // (2,2,3,2,5,6) with scrambled batch strides
    Tensor c = Tensor::zeros({2, 2, 3, 2, 4, 6}, dt);
    EXPECT_TRUE(check_matmul(a, b, c, 1.0, 0.0)) << dtype_name(dt);
  }
}

// Batched products run on parallel_chunks above kMinParallelMacs with OpenBLAS single-threaded
// inside: the same bits on 1 and 2 threads.
TEST(Matmul, BitwiseSameOnEveryThreadCount) {
  Tensor a = random_tensor({4, 2, 64, 96}, DType::f32, 400).transpose(0, 1);
  Tensor b = random_tensor({8, 96, 128}, DType::f32, 401).reshape({2, 4, 96, 128});
  const int saved = omp_get_max_threads();
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    Tensor c = Tensor::zeros({2, 4, 64, 128}, DType::f32);
    ops::matmul(a, b, c);
    results.push_back(c.to_vector<float>());
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(results[0], results[1]);
}

TEST(Matmul, GemmTakesStridedViewsToo) {
  Tensor a = random_tensor({6, 9}, DType::f64, 500).narrow(1, 2, 4);  // (6,4), row stride 9
  Tensor b = random_tensor({5, 4}, DType::f64, 501);
  Tensor c = Tensor::zeros({6, 5}, DType::f64);
  const std::vector<double> before = values(c);
  ops::gemm(a, b, c, false, true);  // a @ b^T
  EXPECT_TRUE(matches_reference(a, b.transpose(0, 1), before, c, 1.0, 0.0));
}

TEST(Matmul, RefusalsNameTheOpAndTheTensor) {
  Tensor a = Tensor::zeros({2, 3, 4}, DType::f32);
  Tensor b = Tensor::zeros({2, 4, 5}, DType::f32);
  Tensor c = Tensor::zeros({2, 3, 5}, DType::f32);
  expect_error([&] { ops::matmul(a, b.select(0), c); }, {"matmul", "same rank", "f32[4,5]@cpu"});
  expect_error([&] { ops::matmul(a, a, c); }, {"matmul", "inner or batch", "f32[2,3,4]@cpu"});
  expect_error([&] { ops::matmul(a, Tensor::zeros({3, 4, 5}, DType::f32), c); },
               {"matmul", "inner or batch", "f32[3,4,5]@cpu"});
  // A broadcast row inside the matrix is not a BLAS layout.
  Tensor rows = Tensor::zeros({2, 1, 4}, DType::f32).expand({2, 3, 4});
  expect_error([&] { ops::matmul(rows, b, c); },
               {"matmul", "'a'", "(strides 4,0,1)", "contiguous()"});
  // Outputs: a broadcast batch, a transposed c.
  Tensor c_bcast = Tensor::zeros({1, 3, 5}, DType::f32).expand({2, 3, 5});
  expect_error([&] { ops::matmul(a, b, c_bcast); }, {"matmul", "'c'", "share memory"});
  Tensor c_t = Tensor::zeros({2, 5, 3}, DType::f32).transpose(-1, -2);
  expect_error([&] { ops::matmul(a, b, c_t); }, {"matmul", "'c'", "stride 1"});
  Tensor i = Tensor::zeros({2, 2}, DType::i32);
  expect_error([&] { ops::matmul(i, i, i); }, {"matmul", "i32"});
}
