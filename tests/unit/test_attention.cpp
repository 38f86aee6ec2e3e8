// Attention, RoPE, the fixed-order row product and token sampling (host/ops/attention.hpp,
// gemm_rows.hpp, token_sample.hpp) on the CPU: against naive float64 loops, the bitwise
// row-independence the KV-cache decode relies on, RoPE's relative-position property, sampler
// statistics and determinism, errors. Gradients against central differences: the op cases
// (tests/op_cases/attention.cpp, gemm_rows.cpp) in tests/unit/test_op_cases.cpp.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "host/core/error.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/attention.hpp"
#include "host/ops/gemm_rows.hpp"
#include "host/ops/token_sample.hpp"
#include "tests/support/testing.hpp"
#include "tests/unit/test_ops_dense.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;

// out (B,Tq,Hq,Dh) by the definition, in double.
std::vector<double> naive_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    int64_t offset, double scale) {
  const int64_t b_n = q.size(0), tq = q.size(1), hq = q.size(2), dh = q.size(3);
  const int64_t tk = k.size(1), hkv = k.size(2);
  const std::vector<double> qv = to_host_f64(q), kv = to_host_f64(k.contiguous()),
                            vv = to_host_f64(v.contiguous());
  std::vector<double> out(static_cast<size_t>(q.numel()), 0.0);
  for (int64_t b = 0; b < b_n; ++b)
    for (int64_t h = 0; h < hq; ++h) {
      const int64_t g = h / (hq / hkv);
      for (int64_t i = 0; i < tq; ++i) {
        std::vector<double> s;
        for (int64_t j = 0; j <= offset + i && j < tk; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < dh; ++d)
            dot += qv[((b * tq + i) * hq + h) * dh + d] * kv[((b * tk + j) * hkv + g) * dh + d];
          s.push_back(dot * scale);
        }
        double m = -INFINITY, z = 0;
        for (double x : s) m = std::max(m, x);
        for (double x : s) z += std::exp(x - m);
        for (size_t j = 0; j < s.size(); ++j)
          for (int64_t d = 0; d < dh; ++d)
            out[((b * tq + i) * hq + h) * dh + d] +=
                std::exp(s[j] - m) / z * vv[((b * tk + int64_t(j)) * hkv + g) * dh + d];
      }
    }
  return out;
}

Tensor zeros_like_t(const Tensor& t) { return Tensor::zeros(t.shape(), t.dtype()); }

// Sets the OpenMP thread count (which parallel_chunks follows) for a scope.
class ThreadCount {
 public:
  explicit ThreadCount(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ThreadCount() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  const Tensor ac = a.contiguous(), bc = b.contiguous();
  return ac.shape() == bc.shape() && ac.dtype() == bc.dtype() &&
         std::memcmp(ac.raw_data(), bc.raw_data(), ac.nbytes()) == 0;
}

TEST(Attention, MatchesNaiveLoopForGroupedHeadsOffsetsAndCachePrefixes) {
  struct Case {
    int64_t b, tq, tk, hq, hkv, dh, off, cap;
  };
  for (DType dt : {DType::f32, DType::f64})
    for (const Case& c : {Case{2, 6, 6, 4, 4, 8, 0, 6}, Case{2, 6, 6, 4, 2, 8, 0, 6},
                          Case{3, 1, 9, 6, 1, 16, 8, 12}, Case{1, 3, 10, 4, 2, 4, 7, 10}}) {
      const Tensor q = random_tensor({c.b, c.tq, c.hq, c.dh}, dt, 1);
      const Tensor kb = random_tensor({c.b, c.cap, c.hkv, c.dh}, dt, 2);
      const Tensor vb = random_tensor({c.b, c.cap, c.hkv, c.dh}, dt, 3);
      const Tensor k = kb.narrow(1, 0, c.tk), v = vb.narrow(1, 0, c.tk);
      Tensor out = Tensor::zeros(q.shape(), dt);
      Tensor probs = Tensor::zeros({c.b, c.hq, c.tq, c.tk}, dt);
      const double scale = 1 / std::sqrt(double(c.dh));
      attention_forward(q, k, v, c.off, scale, out, probs);
      const std::vector<double> want = naive_attention(q, k, v, c.off, scale);
      const double tol = dt == DType::f32 ? 1e-5 : 1e-13;
      const Tensor want_t = from_host_f64(want, q.shape(), DType::f64, Device::cpu());
      EXPECT_TRUE(all_close(out, want_t, tol, tol)) << c.hq << "/" << c.hkv << " off " << c.off;
      // the inference path (no probabilities saved: fixed-order loops instead of OpenBLAS)
      Tensor out_inf = Tensor::zeros(q.shape(), dt), no_probs;
      attention_forward(q, k, v, c.off, scale, out_inf, no_probs);
      EXPECT_TRUE(all_close(out_inf, want_t, tol, tol)) << c.hq << "/" << c.hkv << " inference";
      // masked probabilities are exactly zero, rows sum to 1
      const std::vector<double> p = to_host_f64(probs);
      for (int64_t r = 0; r < c.b * c.hq * c.tq; ++r) {
        const int64_t i = r % c.tq;
        double sum = 0;
        for (int64_t j = 0; j < c.tk; ++j) {
          if (j > c.off + i) EXPECT_EQ(p[r * c.tk + j], 0.0);
          sum += p[r * c.tk + j];
        }
        EXPECT_NEAR(sum, 1.0, tol);
      }
    }
}

// The property the KV-cache decode relies on: each query row computed alone (Tq = 1 at offset
// t, keys 0..t of a longer cache buffer) equals that row of the full causal forward bit for bit.
TEST(Attention, DecodeRowsEqualFullForwardBitwise) {
  for (DType dt : {DType::f32, DType::f64})
    for (int64_t hkv : {1, 2, 4}) {
      const int64_t b = 3, t = 21, hq = 4, dh = 16;
      const Tensor q = random_tensor({b, t, hq, dh}, dt, 10);
      const Tensor k = random_tensor({b, t + 5, hkv, dh}, dt, 11).narrow(1, 0, t);
      const Tensor v = random_tensor({b, t + 5, hkv, dh}, dt, 12).narrow(1, 0, t);
      Tensor full = Tensor::zeros(q.shape(), dt), probs;
      attention_forward(q, k, v, 0, 0.25, full, probs);
      for (int64_t pos = 0; pos < t; ++pos) {
        const Tensor qi = q.narrow(1, pos, 1).contiguous();
        Tensor row = Tensor::zeros(qi.shape(), dt);
        attention_forward(qi, k.narrow(1, 0, pos + 1), v.narrow(1, 0, pos + 1), pos, 0.25, row,
                          probs);
        ASSERT_TRUE(bitwise_equal(row, full.narrow(1, pos, 1))) << "position " << pos;
      }
    }
}

TEST(Attention, BackwardDependsOnlyOnVisibleKeys) {
  // dk/dv of keys no query sees are exactly zero (chunk at offset 2 of 8 keys: all visible up to
  // 2 + 3 = 5; keys 6, 7 unseen).
  const Tensor q = random_tensor({1, 4, 2, 4}, DType::f64, 20);
  const Tensor k = random_tensor({1, 8, 1, 4}, DType::f64, 21);
  const Tensor v = random_tensor({1, 8, 1, 4}, DType::f64, 22);
  Tensor out = Tensor::zeros(q.shape(), DType::f64), probs = Tensor::zeros({1, 2, 4, 8}, DType::f64);
  attention_forward(q, k, v, 2, 0.5, out, probs);
  Tensor dq = Tensor::zeros(q.shape(), DType::f64), dk = Tensor::full(k.shape(), 9, DType::f64),
         dv = Tensor::full(k.shape(), 9, DType::f64);
  attention_backward(random_tensor(q.shape(), DType::f64, 23), q, k, v, probs, 2, 0.5, dq, dk, dv);
  const std::vector<double> dkv = dk.to_vector<double>(), dvv = dv.to_vector<double>();
  for (int64_t j = 6; j < 8; ++j)
    for (int64_t d = 0; d < 4; ++d) {
      EXPECT_EQ(dkv[j * 4 + d], 0.0);
      EXPECT_EQ(dvv[j * 4 + d], 0.0);
    }
}

TEST(Attention, ThreadCountDoesNotChangeResults) {
  const Tensor q = random_tensor({4, 64, 4, 32}, DType::f32, 30);
  const Tensor k = random_tensor({4, 64, 2, 32}, DType::f32, 31);
  const Tensor v = random_tensor({4, 64, 2, 32}, DType::f32, 32);
  Tensor a = Tensor::zeros(q.shape(), DType::f32), pa = Tensor::zeros({4, 4, 64, 64}, DType::f32);
  Tensor b = Tensor::zeros(q.shape(), DType::f32), pb = Tensor::zeros({4, 4, 64, 64}, DType::f32);
  Tensor dqa = zeros_like_t(q), dka = zeros_like_t(k), dva = zeros_like_t(v);
  Tensor dqb = zeros_like_t(q), dkb = zeros_like_t(k), dvb = zeros_like_t(v);
  const Tensor dout = random_tensor(q.shape(), DType::f32, 33);
  {
    ThreadCount one(1);
    attention_forward(q, k, v, 0, 0.2, a, pa);
    attention_backward(dout, q, k, v, pa, 0, 0.2, dqa, dka, dva);
  }
  {
    ThreadCount two(2);
    attention_forward(q, k, v, 0, 0.2, b, pb);
    attention_backward(dout, q, k, v, pb, 0, 0.2, dqb, dkb, dvb);
  }
  EXPECT_TRUE(bitwise_equal(a, b));
  EXPECT_TRUE(bitwise_equal(pa, pb));
  // the inference path (no probabilities) as well
  Tensor ia = Tensor::zeros(q.shape(), DType::f32), ib = Tensor::zeros(q.shape(), DType::f32), none;
  {
    ThreadCount one(1);
    attention_forward(q, k, v, 0, 0.2, ia, none);
  }
  {
    ThreadCount two(2);
    attention_forward(q, k, v, 0, 0.2, ib, none);
  }
  EXPECT_TRUE(bitwise_equal(ia, ib));
  EXPECT_TRUE(bitwise_equal(dqa, dqb));
  EXPECT_TRUE(bitwise_equal(dka, dkb));
  EXPECT_TRUE(bitwise_equal(dva, dvb));
}

TEST(Attention, BadShapesGiveOneLineErrors) {
  const Tensor q = random_tensor({1, 2, 3, 4}, DType::f32, 1);
  const Tensor k = random_tensor({1, 2, 2, 4}, DType::f32, 2);
  Tensor out = Tensor::zeros(q.shape(), DType::f32), probs;
  expect_error([&] { attention_forward(q, k, k, 0, 1.0, out, probs); },
               {"3 query heads are not a multiple of 2 key/value heads"});
  const Tensor q2 = random_tensor({1, 2, 2, 4}, DType::f32, 1);
  Tensor out2 = Tensor::zeros(q2.shape(), DType::f32);
  expect_error([&] { attention_forward(q2, k, k, 1, 1.0, out2, probs); },
               {"2 queries at offset 1 need 3 keys, k has 2"});
}

// <rope(q at p), rope(k at p')> depends on p - p' only.
TEST(Rope, DotProductsDependOnRelativePositionOnly) {
  const int64_t dh = 16;
  const Tensor q = random_tensor({1, 1, 1, dh}, DType::f64, 40);
  const Tensor k = random_tensor({1, 1, 1, dh}, DType::f64, 41);
  auto rotated_dot = [&](int64_t pq, int64_t pk) {
    Tensor rq = Tensor::zeros(q.shape(), DType::f64), rk = Tensor::zeros(k.shape(), DType::f64);
    rope_forward(q, pq, 10000.0, rq);
    rope_forward(k, pk, 10000.0, rk);
    const std::vector<double> a = rq.to_vector<double>(), b = rk.to_vector<double>();
    double s = 0;
    for (int64_t d = 0; d < dh; ++d) s += a[d] * b[d];
    return s;
  };
  for (int64_t delta : {0, 1, 3, 17})
    for (int64_t base : {0, 5, 100, 1000})
      EXPECT_NEAR(rotated_dot(base + delta, base), rotated_dot(delta, 0), 1e-12)
          << "delta " << delta << " at " << base;
  EXPECT_GT(std::abs(rotated_dot(3, 0) - rotated_dot(0, 0)), 1e-3);  // it does rotate
  // the backward is the inverse rotation; position 0 is the identity
  Tensor x = random_tensor({2, 5, 3, dh}, DType::f64, 42), y = Tensor::zeros(x.shape(), DType::f64);
  rope_forward(x, 7, 10000.0, y);
  rope_backward(y, 7, 10000.0, y);
  EXPECT_TRUE(all_close(y, x, 1e-14, 1e-14));
  Tensor x1 = random_tensor({1, 1, 2, dh}, DType::f64, 43), y1 = Tensor::zeros(x1.shape(), DType::f64);
  rope_forward(x1, 0, 10000.0, y1);
  EXPECT_TRUE(bitwise_equal(x1, y1));
  // hand value: pair 0 of position 1 rotates by exactly 1 radian
  Tensor e = Tensor::zeros({1, 2, 1, 2}, DType::f64);
  e.data<double>()[0] = 1;  // position 0 (unchanged)
  e.data<double>()[2] = 1;  // position 1: (1, 0) -> (cos 1, sin 1)
  rope_forward(e, 0, 10000.0, e);
  EXPECT_DOUBLE_EQ(e.data<double>()[2], std::cos(1.0));
  EXPECT_DOUBLE_EQ(e.data<double>()[3], std::sin(1.0));
  Tensor odd = Tensor::zeros({1, 1, 1, 3}, DType::f64);
  expect_error([&] { rope_forward(odd, 0, 10000.0, odd); },
               {"head dim 3"});
}

TEST(GemmRows, RowsAreBitwiseIndependentOfTheRowCount) {
  for (DType dt : {DType::f32, DType::f64}) {
    const int64_t n = 131, k = 96;
    const Tensor w = random_tensor({n, k}, dt, 50);
    const Tensor a = random_tensor({67, k}, dt, 51);
    Tensor full = Tensor::zeros({67, n}, dt);
    gemm_rows(a, w, full);
    // against a float64 loop
    const std::vector<double> av = to_host_f64(a), wv = to_host_f64(w), cv = to_host_f64(full);
    for (int64_t m = 0; m < 67; ++m)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t kk = 0; kk < k; ++kk) s += av[m * k + kk] * wv[j * k + kk];
        ASSERT_NEAR(cv[m * n + j], s, (dt == DType::f32 ? 1e-5 : 1e-13) * k);
      }
    for (int64_t rows : {1, 2, 3, 4, 5, 7, 64}) {
      for (int64_t start : {int64_t{0}, 67 - rows}) {
        const Tensor part = a.narrow(0, start, rows).contiguous();
        Tensor c = Tensor::zeros({rows, n}, dt);
        gemm_rows(part, w, c);
        ASSERT_TRUE(bitwise_equal(c, full.narrow(0, start, rows))) << rows << " rows at " << start;
      }
    }
    ThreadCount one(1);
    Tensor serial = Tensor::zeros({67, n}, dt);
    gemm_rows(a, w, serial);
    EXPECT_TRUE(bitwise_equal(serial, full));
  }
}

TEST(SampleTokens, FrequenciesMatchTheSoftmaxAtTheTemperature) {
  const int64_t v = 5, rows = 4000;
  const std::vector<double> logits = {0.0, 1.0, -1.0, 2.0, 0.5};
  for (double temp : {1.0, 0.5}) {
    std::vector<double> all;
    for (int64_t r = 0; r < rows; ++r) all.insert(all.end(), logits.begin(), logits.end());
    const Tensor x = from_host_f64(all, {rows, v}, DType::f32, Device::cpu());
    Tensor tok = Tensor::zeros({rows}, DType::i32);
    TokenSampleSpec spec;
    spec.seed = 99;
    spec.temperature = temp;
    sample_tokens(x, spec, tok);
    std::vector<int64_t> count(v, 0);
    for (int32_t t : tok.to_vector<int32_t>()) ++count[t];
    double z = 0;
    for (double l : logits) z += std::exp(l / temp);
    // chi-square with 4 degrees of freedom: P(chi2 > 23.5) < 1e-4
    double chi2 = 0;
    for (int64_t i = 0; i < v; ++i) {
      const double e = rows * std::exp(logits[i] / temp) / z;
      chi2 += (count[i] - e) * (count[i] - e) / e;
    }
    EXPECT_LT(chi2, 23.5) << "temperature " << temp;
  }
}

TEST(SampleTokens, DependsOnSeedSequenceAndPositionOnly) {
  const Tensor x = random_tensor({12, 256}, DType::f64, 60, -3, 3);
  TokenSampleSpec spec;
  spec.seed = 5;
  spec.position = 9;
  Tensor whole = Tensor::zeros({12}, DType::i32);
  sample_tokens(x, spec, whole);
  // the same rows drawn as two batches (the second with first_sequence = 7)
  Tensor lo = Tensor::zeros({7}, DType::i32), hi = Tensor::zeros({5}, DType::i32);
  sample_tokens(x.narrow(0, 0, 7).contiguous(), spec, lo);
  spec.first_sequence = 7;
  sample_tokens(x.narrow(0, 7, 5).contiguous(), spec, hi);
  std::vector<int32_t> split = lo.to_vector<int32_t>(), h = hi.to_vector<int32_t>();
  split.insert(split.end(), h.begin(), h.end());
  EXPECT_EQ(split, whole.to_vector<int32_t>());
  // another position or seed changes the draws
  spec.first_sequence = 0;
  spec.position = 10;
  Tensor other = Tensor::zeros({12}, DType::i32);
  sample_tokens(x, spec, other);
  EXPECT_NE(other.to_vector<int32_t>(), whole.to_vector<int32_t>());
  // temperature 0 is argmax
  spec.temperature = 0;
  Tensor greedy = Tensor::zeros({12}, DType::i32), am = Tensor::zeros({12}, DType::i32);
  sample_tokens(x, spec, greedy);
  argmax(x, am);
  EXPECT_EQ(greedy.to_vector<int32_t>(), am.to_vector<int32_t>());
  spec.temperature = -1;
  expect_error([&] { sample_tokens(x, spec, greedy); },
               {"temperature -1 must be finite and >= 0"});
}

TEST(Argmax, FirstIndexOfTheMaximumWins) {
  const Tensor x = from_host_f64({1, 3, 3, 0, -2, -2, -5, -2}, {2, 4}, DType::f32, Device::cpu());
  Tensor idx = Tensor::zeros({2}, DType::i32);
  argmax(x, idx);
  EXPECT_EQ(idx.to_vector<int32_t>(), (std::vector<int32_t>{1, 0}));
}

}  // namespace
}  // namespace naqs::testing
