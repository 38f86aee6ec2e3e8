// Op cases of host/ops/gemm.hpp (CUDA twin cuda/gemm.cu): gemm with every transpose, gemm_batched,
// and matmul on strided views (attention shapes, every layout, K = 0, stride-0 broadcast, rank 6
// with batch dims that do not collapse).
#include <cmath>
#include <functional>

#include "host/ops/gemm.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

// ---- gemm ------------------------------------------------------------------------------------
// Tolerance 2 (|alpha| K + |beta|) eps: inputs in [-1, 1], so sum |a||b| <= K; cuBLAS and
// OpenBLAS add the K products in different orders (blocking, FMA), each within K eps of the exact
// sum. Gradient cases (small, f64): d/da = alpha dc op(b)^T, d/db = alpha op(a)^T dc.
NAQS_OP_CASES(gemm_cases) {
  const char* const sizes[] = {"m=1 n=1 k=1",     "m=17 n=33 k=1025", "m=1025 n=17 k=33",
                               "m=33 n=1025 k=17", "m=1 n=1025 k=17",  "m=3 n=5 k=7"};
  uint64_t seed = 100;
  for (DType dt : kFloatTypes)
    for (const char* size : sizes)
      for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb) {
          OpCase c;
          c.op = "gemm";
          c.params = OpParams(cat(size, " ta=", ta, " tb=", tb));
          c.dtype = dt;
          c.seed = ++seed;
          const double alpha = 1.5, beta = (ta + tb) % 2 ? 0.5 : 0.0;
          const int64_t k = c.params.i("k");
          c.atol = 2 * (alpha * k + beta) * eps(dt);
          c.why = "K products summed in different orders (cuBLAS vs OpenBLAS), 2 (1.5K + beta) eps";
          c.make = [ta, tb](const OpCase& c) {
            const int64_t m = c.params.i("m"), n = c.params.i("n"), k = c.params.i("k");
            return OpTensors{{random_tensor(ta ? Shape{k, m} : Shape{m, k}, c.dtype, c.seed),
                              random_tensor(tb ? Shape{n, k} : Shape{k, n}, c.dtype, c.seed + 1)},
                             {random_tensor({m, n}, c.dtype, c.seed + 2)}};
          };
          c.run = [=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            gemm(in[0], in[1], out[0], ta, tb, alpha, beta);
          };
          if (dt == DType::f64 && k <= 7) {
            c.grad_of = {0, 1};
            c.backward = [=](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
              Tensor da = zeros_like(in[0]), db = zeros_like(in[1]);
              // c = op(a) op(b): d op(a) = dc op(b)^T, d op(b) = op(a)^T dc; transposed back.
              if (ta) {
                gemm(in[1], dout[0], da, tb, true, alpha);  // da = op(b) dc^T
              } else {
                gemm(dout[0], in[1], da, false, !tb, alpha);  // da = dc op(b)^T
              }
              if (tb) {
                gemm(dout[0], in[0], db, true, ta, alpha);  // db = dc^T op(a)
              } else {
                gemm(in[0], dout[0], db, !ta, false, alpha);  // db = op(a)^T dc
              }
              return std::vector<Tensor>{da, db};
            };
          }
          cases.push_back(c);
        }
  // Batched: the same tolerance with K = 65.
  for (DType dt : kFloatTypes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        OpCase c;
        c.op = "gemm_batched";
        c.params = OpParams(cat("batch=3 m=17 n=33 k=65 ta=", ta, " tb=", tb));
        c.dtype = dt;
        c.seed = ++seed;
        c.atol = 2 * (65 + 2) * eps(dt);
        c.why = "K products summed in different orders per batch entry, 2 (K + |beta|) eps";
        c.make = [ta, tb](const OpCase& c) {
          const int64_t b = 3, m = 17, n = 33, k = 65;
          return OpTensors{
              {random_tensor(ta ? Shape{b, k, m} : Shape{b, m, k}, c.dtype, c.seed),
               random_tensor(tb ? Shape{b, n, k} : Shape{b, k, n}, c.dtype, c.seed + 1)},
              {random_tensor({b, m, n}, c.dtype, c.seed + 2)}};
        };
        c.run = [ta, tb](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          gemm_batched(in[0], in[1], out[0], ta, tb, -1.0, 2.0);
        };
        cases.push_back(c);
      }
}

// ---- matmul on views --------------------------------------------------------------------------
// in[0], in[1] and out[0] are buffers; the case multiplies views of them (a view of out[0] is c,
// so elements of out[0] outside it must keep their values). Tolerance as for gemm,
// 2 (|alpha| K + |beta|) eps. Gradient cases (f64, small, injective views): da = alpha dc b^T
// and db = alpha a^T dc, each written through its operand's view (matmul on strided outputs).
using View = std::function<Tensor(const Tensor&)>;

Tensor same(const Tensor& t) { return t; }
Tensor bhtd(const Tensor& t) { return t.permute({0, 2, 1, 3}); }  // (B,T,H,Dh) -> (B,H,T,Dh)

struct MatmulLayout {
  std::string params;  // unique among matmul cases
  Shape a_base, b_base, c_base;
  View a_view, b_view, c_view;
  double alpha, beta;
  bool gradient;  // small, injective views: a float64 gradient case too
};

// out = alpha x @ y into a view of any layout: when out's columns are strided (a transposed
// operand's gradient), computes out^T = alpha y^T x^T instead (matmul needs c's column stride 1).
void matmul_into(const Tensor& x, const Tensor& y, Tensor out, double alpha) {
  if (out.size(-1) <= 1 || out.stride(-1) == 1) {
    ops::matmul(x, y, out, alpha);
  } else {
    Tensor out_t = out.transpose(-1, -2);
    ops::matmul(y.transpose(-1, -2), x.transpose(-1, -2), out_t, alpha);
  }
}

void add_matmul_case(std::vector<OpCase>& cases, const MatmulLayout& l, DType dt,
                     uint64_t seed) {
  OpCase c;
  c.op = "matmul";
  c.params = OpParams(l.params);
  c.dtype = dt;
  c.seed = seed;
  const int64_t k = l.a_view(Tensor::empty(l.a_base, dt)).size(-1);
  c.atol = 2 * (std::abs(l.alpha) * k + std::abs(l.beta)) * eps(dt);
  c.why = "K products summed in different orders (cuBLAS vs OpenBLAS), 2 (|alpha| K + |beta|) eps";
  c.make = [l](const OpCase& c) {
    return OpTensors{{random_tensor(l.a_base, c.dtype, c.seed),
                      random_tensor(l.b_base, c.dtype, c.seed + 1)},
                     {random_tensor(l.c_base, c.dtype, c.seed + 2)}};
  };
  c.run = [l](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    Tensor cv = l.c_view(out[0]);
    ops::matmul(l.a_view(in[0]), l.b_view(in[1]), cv, l.alpha, l.beta);
  };
  if (dt == DType::f64 && l.gradient) {
    c.grad_of = {0, 1};
    c.backward = [l](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
      const Tensor a = l.a_view(in[0]), b = l.b_view(in[1]), dc = l.c_view(dout[0]);
      Tensor da = zeros_like(in[0]), db = zeros_like(in[1]);
      matmul_into(dc, b.transpose(-1, -2), l.a_view(da), l.alpha);
      matmul_into(a.transpose(-1, -2), dc, l.b_view(db), l.alpha);
      return std::vector<Tensor>{da, db};
    };
  }
  cases.push_back(c);
}

NAQS_OP_CASES(matmul_cases) {
  std::vector<MatmulLayout> layouts;
  // Attention, B = 2, H = 3, T = 17, Dh = 33: Q K^T / sqrt(Dh) from (B,T,H,Dh) buffers; P V
  // into a (B,T,H,Dh) buffer through its (B,H,T,Dh) view; dV += P^T dO into a narrowed c.
  const int64_t b = 2, h = 3, t = 17, dh = 33;
  layouts.push_back({"attn=qk", {b, t, h, dh}, {b, t, h, dh}, {b, h, t, t}, bhtd,
                     [](const Tensor& k) { return bhtd(k).transpose(-1, -2); }, same,
                     1 / std::sqrt(33.0), 0.0, false});
  layouts.push_back({"attn=pv", {b, h, t, t}, {b, t, h, dh}, {b, t, h, dh}, same, bhtd, bhtd, 1.0,
                     0.0, false});
  layouts.push_back({"attn=ptdo_beta1", {b, h, t, t}, {b, h, t, dh}, {b, h, t, dh + 5},
                     [](const Tensor& p) { return p.transpose(-1, -2); }, same,
                     [](const Tensor& c) { return c.narrow(-1, 2, 33); }, 1.0, 1.0, false});
  // Every transposed layout; batch (3,2) stored swapped on a, b from a wider buffer, c with a
  // row gap. Odd sizes, a vector case and K = 0 (c = beta c through the strided c).
  struct Mnk {
    int64_t m, n, k;
  };
  const Mnk sizes[] = {{1, 1, 1}, {17, 33, 65}, {65, 17, 33}, {1, 65, 17}, {17, 1, 33},
                       {5, 7, 0}, {3, 4, 2}};
  for (const Mnk& s : sizes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        const int64_t n = s.n, k = s.k;
        layouts.push_back(
            {cat("m=", s.m, " n=", s.n, " k=", s.k, " ta=", ta, " tb=", tb),
             ta ? Shape{2, 3, s.k, s.m} : Shape{2, 3, s.m, s.k},
             tb ? Shape{3, 2, s.n, s.k + 2} : Shape{3, 2, s.k, s.n + 3}, {3, 2, s.m, s.n + 1},
             [ta](const Tensor& x) { return (ta ? x.transpose(-1, -2) : x).transpose(0, 1); },
             [tb, n, k](const Tensor& x) {
               return tb ? x.narrow(-1, 1, k).transpose(-1, -2) : x.narrow(-1, 0, n);
             },
             [n](const Tensor& c) { return c.narrow(-1, 0, n); }, -1.5, (ta + tb) % 2 ? 0.5 : 0.0,
             s.m * s.n * s.k <= 24 && s.k > 0});
      }
  // Grouped-query attention: 2 K/V heads for 3 query heads each (a stride-0 dim); one weight
  // for every batch (all batch strides 0: one cuBLAS call with strideA = 0).
  layouts.push_back({"gqa=qk", {2, 2, 3, 17, 9}, {2, 2, 1, 17, 9}, {2, 2, 3, 17, 17}, same,
                     [](const Tensor& k) { return k.expand({2, 2, 3, 17, 9}).transpose(-1, -2); },
                     same, 1.0, 0.0, false});
  layouts.push_back({"shared_weight=1", {4, 6, 17, 9}, {1, 1, 9, 5}, {4, 6, 17, 5}, same,
                     [](const Tensor& w) { return w.expand({4, 6, 9, 5}); }, same, 1.0, 0.0,
                     false});
  // Rank 6 whose batch strides collapse to no single stride (the CUDA twin's host loop).
  layouts.push_back({"rank6=1", {2, 2, 3, 2, 5, 7}, {2, 3, 2, 2, 6, 7}, {2, 2, 3, 2, 5, 6},
                     [](const Tensor& a) { return a.permute({3, 0, 2, 1, 4, 5}); },
                     [](const Tensor& b) { return b.permute({0, 2, 1, 3, 5, 4}).transpose(0, 3); },
                     same, 1.0, 0.0, false});
  layouts.push_back({"rank6=small", {2, 2, 2, 1, 3, 2}, {1, 2, 2, 2, 3, 4}, {2, 2, 2, 1, 2, 4},
                     [](const Tensor& a) { return a.permute({1, 0, 3, 2, 5, 4}); },
                     [](const Tensor& b) { return b.permute({1, 2, 0, 3, 4, 5}); },
                     [](const Tensor& c) { return c.permute({0, 1, 3, 2, 4, 5}); }, 1.0, 0.5,
                     true});
  uint64_t seed = 500;
  for (DType dt : kFloatTypes)
    for (const MatmulLayout& l : layouts) add_matmul_case(cases, l, dt, seed += 3);
}

}  // namespace
}  // namespace naqs::testing
