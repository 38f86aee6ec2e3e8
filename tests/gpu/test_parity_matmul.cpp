// CUDA vs CPU parity of ops::matmul (host/ops/gemm.hpp, twin cuda/gemm.cu) on strided operands:
// attention shapes with odd sizes (Q K^T from (B,T,H,Dh) buffers, P V into a permuted output
// view), every transposed layout, stride-0 broadcast (grouped-query attention), rank 6 with batch
// dims that do not collapse (the host loop around cublas*gemmStridedBatched), K = 0 into a
// strided c. Outputs live inside Guarded buffers with gaps: elements outside the view must keep
// their sentinel on both sides.
// Tolerance 2*(|alpha|*K + |beta|)*eps absolute (inputs in [-1,1], so sum |a||b| <= K): cuBLAS
// and OpenBLAS add the K products in different orders (blocking, FMA), each within K*eps of the
// exact sum. Skips (reported as skipped by ctest) without a CUDA device.
#include <cfloat>
#include <cmath>
#include <functional>

#include "host/ops/gemm.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using namespace naqs::testing;

namespace {

using View = std::function<Tensor(const Tensor&)>;
const Device kGpu = Device::cuda(0);
const DType kFloatTypes[] = {DType::f32, DType::f64};
double eps(DType t) { return t == DType::f32 ? FLT_EPSILON : DBL_EPSILON; }

// Runs matmul(view_a(A), view_b(B), view_c(C)) on both sides, with A, B, C random tensors of the
// given base shapes (C's initial values matter when beta != 0), and compares the whole C buffers.
void expect_parity(const char* name, DType dt, const Shape& a_base, const View& view_a,
                   const Shape& b_base, const View& view_b, const Shape& c_base,
                   const View& view_c, double alpha, double beta, uint64_t seed) {
  Tensor a = random_tensor(a_base, dt, seed), b = random_tensor(b_base, dt, seed + 1);
  Tensor c = random_tensor(c_base, dt, seed + 2);
  Guarded g(c_base, dt, kGpu);
  g.out.copy_from(c);
  Tensor va = view_a(a), vb = view_b(b), vc = view_c(c);
  ops::matmul(va, vb, vc, alpha, beta);
  Tensor gc = view_c(g.out);
  ops::matmul(view_a(a.to(kGpu)), view_b(b.to(kGpu)), gc, alpha, beta);
  const double tol = 2 * (std::abs(alpha) * va.size(-1) + std::abs(beta)) * eps(dt);
  EXPECT_TRUE(all_close(g.out, c, tol, 0)) << name << " " << dtype_name(dt);
  EXPECT_TRUE(g.guards_intact()) << name << " " << dtype_name(dt);
}

Tensor same(const Tensor& t) { return t; }
Tensor bhtd(const Tensor& t) { return t.permute({0, 2, 1, 3}); }  // (B,T,H,Dh) -> (B,H,T,Dh)

}  // namespace

TEST(ParityMatmul, AttentionShapes) {
  NAQS_SKIP_WITHOUT_GPU();
  const int64_t b = 2, h = 3, t = 17, dh = 33;
  uint64_t seed = 10;
  for (DType dt : kFloatTypes) {
    // S = Q K^T / sqrt(Dh): Q, K as (B,H,T,Dh) views of (B,T,H,Dh) buffers.
    expect_parity("q k^T", dt, {b, t, h, dh}, bhtd, {b, t, h, dh},
                  [](const Tensor& k) { return bhtd(k).transpose(-1, -2); }, {b, h, t, t}, same,
                  1 / std::sqrt(33.0), 0.0, seed += 3);
    // O = P V, written into a (B,T,H,Dh) buffer through its (B,H,T,Dh) view.
    expect_parity("p v", dt, {b, h, t, t}, same, {b, t, h, dh}, bhtd, {b, t, h, dh}, bhtd, 1.0,
                  0.0, seed += 3);
    // Gradient-style accumulation into a narrowed c (row gap): dV += P^T dO.
    expect_parity("p^T do, beta 1", dt, {b, h, t, t},
                  [](const Tensor& p) { return p.transpose(-1, -2); }, {b, h, t, dh}, same,
                  {b, h, t, dh + 5}, [](const Tensor& c) { return c.narrow(-1, 2, 33); }, 1.0, 1.0,
                  seed += 3);
  }
}

TEST(ParityMatmul, EveryLayoutAndKZero) {
  NAQS_SKIP_WITHOUT_GPU();
  struct Mnk {
    int64_t m, n, k;
  };
  const Mnk sizes[] = {{1, 1, 1}, {17, 33, 65}, {65, 17, 33}, {1, 65, 17}, {17, 1, 33}, {5, 7, 0}};
  uint64_t seed = 100;
  for (DType dt : kFloatTypes)
    for (const Mnk& s : sizes)
      for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb) {
          // Batch dims (3,2) stored swapped on a, from a wider buffer on b; c with a row gap.
          const View va = [ta](const Tensor& x) {
            return (ta ? x.transpose(-1, -2) : x).transpose(0, 1);
          };
          const Shape a_base = ta ? Shape{2, 3, s.k, s.m} : Shape{2, 3, s.m, s.k};
          const int64_t nk = s.n, kk = s.k;
          const View vb = [tb, nk, kk](const Tensor& x) {
            return tb ? x.narrow(-1, 1, kk).transpose(-1, -2) : x.narrow(-1, 0, nk);
          };
          const Shape b_base = tb ? Shape{3, 2, s.n, s.k + 2} : Shape{3, 2, s.k, s.n + 3};
          const int64_t n = s.n;
          expect_parity("layouts", dt, a_base, va, b_base, vb, {3, 2, s.m, s.n + 1},
                        [n](const Tensor& c) { return c.narrow(-1, 0, n); }, -1.5,
                        (ta + tb) % 2 ? 0.5 : 0.0, seed += 3);
        }
}

TEST(ParityMatmul, BroadcastAndRankSix) {
  NAQS_SKIP_WITHOUT_GPU();
  uint64_t seed = 200;
  for (DType dt : kFloatTypes) {
    // GQA: 2 K/V heads, 3 query heads each (stride-0 dim), T = 17, Dh = 9.
    expect_parity("gqa q k^T", dt, {2, 2, 3, 17, 9}, same, {2, 2, 1, 17, 9},
                  [](const Tensor& k) { return k.expand({2, 2, 3, 17, 9}).transpose(-1, -2); },
                  {2, 2, 3, 17, 17}, same, 1.0, 0.0, seed += 3);
    // One weight for every batch: all batch strides 0 (one cuBLAS call with strideA = 0).
    expect_parity("shared weight", dt, {4, 6, 17, 9}, same, {1, 1, 9, 5},
                  [](const Tensor& w) { return w.expand({4, 6, 9, 5}); }, {4, 6, 17, 5}, same, 1.0,
                  0.0, seed += 3);
    // Rank 6, batch strides that collapse to no single stride.
    expect_parity("rank 6", dt, {2, 2, 3, 2, 5, 7},
                  [](const Tensor& a) { return a.permute({3, 0, 2, 1, 4, 5}); }, {2, 3, 2, 2, 6, 7},
                  [](const Tensor& b) { return b.permute({0, 2, 1, 3, 5, 4}).transpose(0, 3); },
                  {2, 2, 3, 2, 5, 6}, same, 1.0, 0.0, seed += 3);
  }
}
