// The layer kit (nn/layers.hpp) and the ops under it (host/ops/norm, embedding, masked_softmax):
// every backward, summed and per sample, against float64 central differences; hand values; the
// accumulate flag; determinism across thread counts; masks and the causal query offset; a small
// model written as a sequence of kit calls with its gradient in a ParameterSet; bad arguments.
#include <omp.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "host/core/params.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/embedding.hpp"
#include "host/ops/norm.hpp"
#include "host/ops/softmax.hpp"
#include "nn/layers.hpp"
#include "tests/support/testing.hpp"
#include "tests/unit/test_ops_dense.hpp"

using namespace naqs;
using naqs::testing::all_close;
using naqs::testing::expect_error;
using naqs::testing::f64;
using naqs::testing::finite_difference;
using naqs::testing::random_tensor;
using naqs::testing::weighted_sum;

namespace {

// Central differences with h = 1e-6 on O(1) float64 functions: truncation O(h^2 f''') ~ 1e-12,
// rounding eps |f| / h ~ 1e-10 for |f| ~ 1; 1e-8 + 1e-6 |g| leaves two orders of margin.
constexpr double kAtol = 1e-8, kRtol = 1e-6;
constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor rnd(const Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  return random_tensor(s, DType::f64, seed, lo, hi);
}
Tensor zeros(const Shape& s) { return Tensor::zeros(s, DType::f64); }

Tensor ids_tensor(const std::vector<int32_t>& v, const Shape& s) {
  return Tensor::from_vector<int32_t>(v, s);
}

// analytic = d loss / d x by central differences (x is perturbed in place and restored).
void expect_gradient(Tensor x, const std::function<double()>& loss, const Tensor& analytic,
                     const std::string& what) {
  const Tensor fd = finite_difference(x, loss);
  EXPECT_TRUE(all_close(analytic, fd, kAtol, kRtol)) << what;
}

// Sum of w * y over sample b's block (y's dim 0 is the batch B).
double sample_weighted_sum(const Tensor& w, const Tensor& y, int64_t b) {
  return weighted_sum(w.select(b), y.select(b));
}

// Every per-sample gradient row b equals d(sample b's loss)/dx; the rows sum to `summed`.
void expect_per_sample_gradient(Tensor x, const std::function<double(int64_t)>& sample_loss,
                                const Tensor& per_sample, const Tensor& summed,
                                const std::string& what) {
  const int64_t batch = per_sample.size(0);
  Tensor total = zeros(summed.shape());
  for (int64_t b = 0; b < batch; ++b) {
    expect_gradient(x, [&] { return sample_loss(b); }, per_sample.select(b),
                    cat(what, " sample ", b));
    ops::axpby(1.0, per_sample.select(b), 1.0, total);
  }
  EXPECT_TRUE(all_close(total, summed, 1e-14, 1e-13)) << what << ": rows sum to the total";
}

// Calling a backward once more with accumulate doubles its outputs.
void expect_accumulates(const std::function<void(bool accumulate)>& backward,
                        std::initializer_list<Tensor> outputs, const std::string& what) {
  backward(false);
  std::vector<Tensor> once;
  for (const Tensor& t : outputs) once.push_back(t.clone());
  backward(true);
  std::size_t k = 0;
  for (const Tensor& t : outputs) {
    Tensor twice = once[k++].clone();
    ops::scale(twice, 2.0);
    EXPECT_TRUE(all_close(t, twice, 1e-15, 1e-15)) << what << " output " << k;
  }
}

template <class T>
bool bitwise_equal(const Tensor& a, const Tensor& b) {
  const std::vector<T> va = a.to_vector<T>(), vb = b.to_vector<T>();
  return va.size() == vb.size() && std::memcmp(va.data(), vb.data(), va.size() * sizeof(T)) == 0;
}

}  // namespace

// ---- linear ------------------------------------------------------------------------------------

TEST(NnLinear, HandValues) {
  // out = inp @ weight^T + bias: rows [1,2] and [0,-1]; weight (3,2).
  Tensor inp = f64({1, 2, 0, -1}, {2, 2});
  Tensor weight = f64({1, 0, 0, 1, 2, -1}, {3, 2});
  Tensor bias = f64({0.5, 0, -1}, {3});
  Tensor out = zeros({2, 3});
  nn::linear_forward(out, inp, weight, bias);
  EXPECT_TRUE(all_close(out, f64({1.5, 2, -1, 0.5, -1, 0}, {2, 3}), 0, 0));
  nn::linear_forward(out, inp, weight, Tensor());
  EXPECT_TRUE(all_close(out, f64({1, 2, 0, 0, -1, 1}, {2, 3}), 0, 0));
}

TEST(NnLinear, BackwardMatchesFiniteDifferences) {
  const int64_t batch = 3, t_len = 2, c = 5, oc = 4;
  Tensor inp = rnd({batch, t_len, c}, 1), weight = rnd({oc, c}, 2), bias = rnd({oc}, 3);
  Tensor w = rnd({batch, t_len, oc}, 4), out = zeros({batch, t_len, oc});
  for (bool with_bias : {true, false}) {
    const Tensor b = with_bias ? bias : Tensor();
    auto forward = [&] { nn::linear_forward(out, inp, weight, b); };
    auto loss = [&] { forward(); return weighted_sum(w, out); };
    Tensor dinp = zeros(inp.shape()), dweight = zeros(weight.shape()), dbias = zeros({oc});
    nn::linear_backward(dinp, dweight, with_bias ? dbias : Tensor(), w, inp, weight);
    const std::string what = with_bias ? "bias" : "no bias";
    expect_gradient(inp, loss, dinp, "dinp " + what);
    expect_gradient(weight, loss, dweight, "dweight " + what);
    if (with_bias) expect_gradient(bias, loss, dbias, "dbias");

    Tensor dweight_ps = zeros({batch, oc, c}), dbias_ps = zeros({batch, oc});
    nn::linear_backward_per_sample(dweight_ps, with_bias ? dbias_ps : Tensor(), w, inp);
    auto sample_loss = [&](int64_t s) { forward(); return sample_weighted_sum(w, out, s); };
    expect_per_sample_gradient(weight, sample_loss, dweight_ps, dweight, "dweight " + what);
    if (with_bias) expect_per_sample_gradient(bias, sample_loss, dbias_ps, dbias, "dbias");

    expect_accumulates([&](bool acc) { nn::linear_backward(dinp, dweight, dbias, w, inp, weight,
                                                           acc); },
                       {dinp, dweight, dbias}, "linear_backward");
    expect_accumulates([&](bool acc) { nn::linear_backward_per_sample(dweight_ps, dbias_ps, w,
                                                                      inp, acc); },
                       {dweight_ps, dbias_ps}, "linear_backward_per_sample");
  }
}

// Rank-2 activations (N, C): one row per sample.
TEST(NnLinear, RankTwoRows) {
  Tensor inp = rnd({4, 3}, 5), weight = rnd({2, 3}, 6), w = rnd({4, 2}, 7), out = zeros({4, 2});
  auto loss = [&] { nn::linear_forward(out, inp, weight, Tensor()); return weighted_sum(w, out); };
  Tensor dinp = zeros({4, 3}), dweight = zeros({2, 3}), dweight_ps = zeros({4, 2, 3});
  nn::linear_backward(dinp, dweight, Tensor(), w, inp, weight);
  nn::linear_backward_per_sample(dweight_ps, Tensor(), w, inp);
  expect_gradient(inp, loss, dinp, "dinp");
  expect_per_sample_gradient(
      weight, [&](int64_t s) { loss(); return sample_weighted_sum(w, out, s); }, dweight_ps,
      dweight, "dweight");
}

TEST(NnLinear, BadArgumentsNameTheTensor) {
  Tensor inp = zeros({2, 3}), weight = zeros({4, 3}), out = zeros({2, 4});
  expect_error([&] { nn::linear_forward(out, inp, zeros({4, 2}), Tensor()); },
               {"nn::linear_forward", "weight", "f64[4,2]@cpu", "[4,3]"});
  expect_error([&] { nn::linear_forward(zeros({2, 5}), inp, weight, Tensor()); },
               {"nn::linear_forward", "out", "[2,4]"});
  expect_error([&] { nn::linear_forward(out, inp, weight, zeros({3})); },
               {"nn::linear_forward", "bias", "[4]"});
  expect_error([&] { nn::linear_backward(Tensor(), zeros({3, 4}), Tensor(), out, inp, weight); },
               {"nn::linear_backward", "dweight", "[4,3]"});
  expect_error([&] { nn::linear_backward_per_sample(zeros({4, 3}), Tensor(), out, inp); },
               {"nn::linear_backward_per_sample", "dweight", "[2,4,3]"});
}

// ---- layernorm / rmsnorm ---------------------------------------------------------------------

// x = [1,2,3,4], eps = 0: mean 2.5, variance 1.25, rstd = 1/sqrt(1.25); rms = sqrt(7.5).
TEST(NnNorm, HandValues) {
  Tensor x = f64({1, 2, 3, 4}, {1, 4});
  Tensor gamma = f64({2, 1, 0.5, 1}, {4}), beta = f64({0, 1, 0, -1}, {4});
  Tensor y = zeros({1, 4}), mean = zeros({1}), rstd = zeros({1});
  nn::layernorm_forward(y, mean, rstd, x, gamma, beta, 0.0);
  const double r = 0.89442719099991588, h1 = 1.3416407864998738, h2 = 0.44721359549995794;
  EXPECT_NEAR(mean.item(), 2.5, 1e-15);
  EXPECT_NEAR(rstd.item(), r, 1e-15);
  EXPECT_TRUE(all_close(y, f64({-2 * h1, 1 - h2, 0.5 * h2, h1 - 1}, {1, 4}), 1e-15, 1e-15));
  nn::layernorm_forward(y, mean, rstd, x, gamma, Tensor(), 0.0);  // no bias
  EXPECT_TRUE(all_close(y, f64({-2 * h1, -h2, 0.5 * h2, h1}, {1, 4}), 1e-15, 1e-15));

  const double rr = 0.36514837167011074;
  nn::rmsnorm_forward(y, rstd, x, gamma, 0.0);
  EXPECT_NEAR(rstd.item(), rr, 1e-15);
  EXPECT_TRUE(all_close(y, f64({2 * rr, 2 * rr, 1.5 * rr, 4 * rr}, {1, 4}), 1e-15, 1e-15));
  // eps enters under the root: one row of zeros gives y = beta, rstd = 1/sqrt(eps).
  Tensor z = zeros({1, 4});
  nn::layernorm_forward(y, mean, rstd, z, gamma, beta, 0.25);
  EXPECT_NEAR(rstd.item(), 2.0, 1e-15);
  EXPECT_TRUE(all_close(y, beta.reshape({1, 4}), 0, 0));
}

TEST(NnNorm, LayernormBackwardMatchesFiniteDifferences) {
  const int64_t batch = 2, t_len = 3, c = 7;
  Tensor x = rnd({batch, t_len, c}, 11, -2, 2), gamma = rnd({c}, 12), beta = rnd({c}, 13);
  Tensor w = rnd({batch, t_len, c}, 14);
  Tensor y = zeros(x.shape()), mean = zeros({batch, t_len}), rstd = zeros({batch, t_len});
  auto forward = [&] { nn::layernorm_forward(y, mean, rstd, x, gamma, beta, 1e-5); };
  auto loss = [&] { forward(); return weighted_sum(w, y); };
  forward();
  Tensor dx = zeros(x.shape()), dgamma = zeros({c}), dbeta = zeros({c});
  nn::layernorm_backward(dx, dgamma, dbeta, w, x, gamma, mean, rstd);
  Tensor dgamma_ps = zeros({batch, c}), dbeta_ps = zeros({batch, c});
  nn::layernorm_backward_per_sample(dgamma_ps, dbeta_ps, w, x, mean, rstd);
  expect_gradient(x, loss, dx, "dx");
  expect_gradient(gamma, loss, dgamma, "dgamma");
  expect_gradient(beta, loss, dbeta, "dbeta");
  auto sample_loss = [&](int64_t s) { forward(); return sample_weighted_sum(w, y, s); };
  expect_per_sample_gradient(gamma, sample_loss, dgamma_ps, dgamma, "dgamma");
  expect_per_sample_gradient(beta, sample_loss, dbeta_ps, dbeta, "dbeta");
  forward();
  // dx may alias dy: the parameter sums read dy before dx overwrites it.
  Tensor dy = w.clone(), dgamma2 = zeros({c}), dbeta2 = zeros({c});
  nn::layernorm_backward(dy, dgamma2, dbeta2, dy, x, gamma, mean, rstd);
  EXPECT_TRUE(all_close(dy, dx, 0, 0));
  EXPECT_TRUE(all_close(dgamma2, dgamma, 0, 0));
  expect_accumulates([&](bool acc) {
    nn::layernorm_backward(dx, dgamma, dbeta, w, x, gamma, mean, rstd, acc);
  }, {dx, dgamma, dbeta}, "layernorm_backward");
  expect_accumulates([&](bool acc) {
    nn::layernorm_backward_per_sample(dgamma_ps, dbeta_ps, w, x, mean, rstd, acc);
  }, {dgamma_ps, dbeta_ps}, "layernorm_backward_per_sample");
}

TEST(NnNorm, RmsnormBackwardMatchesFiniteDifferences) {
  const int64_t batch = 3, t_len = 2, c = 5;
  Tensor x = rnd({batch, t_len, c}, 21, -2, 2), gamma = rnd({c}, 22), w = rnd(x.shape(), 23);
  Tensor y = zeros(x.shape()), rstd = zeros({batch, t_len});
  auto forward = [&] { nn::rmsnorm_forward(y, rstd, x, gamma, 1e-5); };
  auto loss = [&] { forward(); return weighted_sum(w, y); };
  forward();
  Tensor dx = zeros(x.shape()), dgamma = zeros({c}), dgamma_ps = zeros({batch, c});
  nn::rmsnorm_backward(dx, dgamma, w, x, gamma, rstd);
  nn::rmsnorm_backward_per_sample(dgamma_ps, w, x, rstd);
  expect_gradient(x, loss, dx, "dx");
  expect_gradient(gamma, loss, dgamma, "dgamma");
  expect_per_sample_gradient(
      gamma, [&](int64_t s) { forward(); return sample_weighted_sum(w, y, s); }, dgamma_ps,
      dgamma, "dgamma");
  forward();
  expect_accumulates([&](bool acc) { nn::rmsnorm_backward(dx, dgamma, w, x, gamma, rstd, acc); },
                     {dx, dgamma}, "rmsnorm_backward");
}

// dgamma / dbeta and dx: the same bits on 1 and 2 threads (8192 rows x 160 channels is above
// the OpenMP threshold of 2^20 elements, so both loops do split).
TEST(NnNorm, BackwardBitwiseAcrossThreadCounts) {
  const int64_t rows = 8192, c = 160;
  Tensor x = random_tensor({rows, c}, DType::f32, 31), gamma = random_tensor({c}, DType::f32, 32);
  Tensor dy = random_tensor({rows, c}, DType::f32, 33);
  Tensor y = Tensor::zeros({rows, c}, DType::f32), mean = Tensor::zeros({rows}, DType::f32);
  Tensor rstd = Tensor::zeros({rows}, DType::f32);
  ops::layernorm_forward(x, gamma, Tensor(), 1e-5, y, mean, rstd);
  const int saved = omp_get_max_threads();
  std::vector<Tensor> results;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    Tensor dx = Tensor::zeros({rows, c}, DType::f32), dgamma = Tensor::zeros({c}, DType::f32);
    Tensor dbeta = Tensor::zeros({c}, DType::f32), dgamma_ps = Tensor::zeros({4, c}, DType::f32);
    Tensor none;
    ops::layernorm_backward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta);
    ops::layernorm_backward(dy, x, gamma, mean, rstd, none, dgamma_ps, none);
    results.insert(results.end(), {dx, dgamma, dbeta, dgamma_ps});
  }
  omp_set_num_threads(saved);
  for (std::size_t k = 0; k < 4; ++k)
    EXPECT_TRUE(bitwise_equal<float>(results[k], results[k + 4])) << "output " << k;
}

TEST(NnNorm, BadArgumentsNameTheTensor) {
  Tensor x = zeros({2, 4}), gamma = zeros({4}), y = zeros({2, 4}), mean = zeros({2});
  Tensor rstd = zeros({2});
  expect_error([&] { nn::layernorm_forward(y, mean, rstd, x, zeros({3}), Tensor()); },
               {"layernorm_forward", "gamma", "[4]"});
  expect_error([&] { nn::layernorm_forward(y, zeros({4}), rstd, x, gamma, Tensor()); },
               {"layernorm_forward", "mean", "[2]"});
  expect_error([&] { nn::rmsnorm_forward(y, rstd, x, gamma, -1.0); },
               {"rmsnorm_forward", "eps"});
  expect_error([&] { nn::layernorm_backward_per_sample(zeros({3, 4}), Tensor(), y, x, mean,
                                                       rstd); },
               {"nn::layernorm_backward_per_sample", "dweight", "[2,4]"});
  expect_error([&] {
    Tensor none, dg = zeros({3, 4});
    ops::layernorm_backward(y, x, gamma, mean, rstd, none, dg, none);
  }, {"layernorm_backward", "f64[3,4]@cpu", "G dividing the 2 rows"});
  expect_error([&] { nn::rmsnorm_forward(y, rstd, Tensor::zeros({2, 4}, DType::f32), gamma); },
               {"rmsnorm_forward", "f32[2,4]@cpu"});
}

// ---- embedding ---------------------------------------------------------------------------------

TEST(NnEmbedding, ForwardHandValuesAndAccumulate) {
  Tensor table = f64({0, 1, 10, 11, 20, 21}, {3, 2});
  Tensor ids = ids_tensor({2, 0, 2}, {1, 3});
  Tensor out = zeros({1, 3, 2});
  nn::embedding_forward(out, ids, table);
  EXPECT_TRUE(all_close(out, f64({20, 21, 0, 1, 20, 21}, {1, 3, 2}), 0, 0));
  Tensor pos = ids_tensor({0, 1, 2}, {1, 3});
  nn::embedding_forward(out, pos, table, /*accumulate=*/true);  // + rows 0, 1, 2
  EXPECT_TRUE(all_close(out, f64({20, 22, 10, 12, 40, 42}, {1, 3, 2}), 0, 0));
}

TEST(NnEmbedding, BackwardMatchesFiniteDifferences) {
  const int64_t batch = 2, t_len = 5, vocab = 7, c = 3;
  // id 6 never occurs: its gradient row is 0; ids repeat within and across samples.
  Tensor ids = ids_tensor({1, 3, 1, 0, 5, 3, 3, 2, 4, 1}, {batch, t_len});
  Tensor table = rnd({vocab, c}, 41), w = rnd({batch, t_len, c}, 42);
  Tensor out = zeros({batch, t_len, c});
  auto forward = [&] { nn::embedding_forward(out, ids, table); };
  Tensor dtable = Tensor::full({vocab, c}, 99.0, DType::f64);  // overwritten, unused rows too
  nn::embedding_backward(dtable, w, ids);
  expect_gradient(table, [&] { forward(); return weighted_sum(w, out); }, dtable, "dtable");
  for (int64_t ch = 0; ch < c; ++ch) EXPECT_EQ(dtable.select(6).to_vector<double>()[ch], 0.0);
  Tensor dtable_ps = zeros({batch, vocab, c});
  nn::embedding_backward_per_sample(dtable_ps, w, ids);
  expect_per_sample_gradient(
      table, [&](int64_t s) { forward(); return sample_weighted_sum(w, out, s); }, dtable_ps,
      dtable, "dtable");
  expect_accumulates([&](bool acc) { nn::embedding_backward(dtable, w, ids, acc); }, {dtable},
                     "embedding_backward");
  expect_accumulates([&](bool acc) { nn::embedding_backward_per_sample(dtable_ps, w, ids, acc); },
                     {dtable_ps}, "embedding_backward_per_sample");
}

// The backward is bitwise the same on 1 and 2 threads, in f32 where the summation order shows:
// 8192 positions over 50 ids (~164 terms per row) x 160 channels, above the OpenMP threshold.
TEST(NnEmbedding, BackwardBitwiseAcrossThreadCounts) {
  const int64_t n = 8192, vocab = 50, c = 160;
  std::vector<int32_t> id_values(n);
  uint64_t state = 7;
  for (auto& v : id_values) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    v = static_cast<int32_t>((state >> 33) % vocab);
  }
  Tensor ids = ids_tensor(id_values, {4, n / 4});
  Tensor dout = random_tensor({4, n / 4, c}, DType::f32, 51);
  const int saved = omp_get_max_threads();
  std::vector<Tensor> results;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    Tensor dtable = Tensor::zeros({vocab, c}, DType::f32);
    Tensor dtable_ps = Tensor::zeros({4, vocab, c}, DType::f32);
    nn::embedding_backward(dtable, dout, ids);
    nn::embedding_backward_per_sample(dtable_ps, dout, ids);
    results.insert(results.end(), {dtable, dtable_ps});
  }
  omp_set_num_threads(saved);
  EXPECT_TRUE(bitwise_equal<float>(results[0], results[2]));
  EXPECT_TRUE(bitwise_equal<float>(results[1], results[3]));
}

TEST(NnEmbedding, BadIdsAreOneClearErrorAndWriteNothing) {
  Tensor table = rnd({5, 2}, 61), out = Tensor::full({2, 2, 2}, 7.0, DType::f64);
  Tensor ids = ids_tensor({0, 4, 5, 1}, {2, 2});
  expect_error([&] { nn::embedding_forward(out, ids, table); },
               {"embedding_forward", "index 5 at flat position 2", "i32[2,2]@cpu",
                "outside [0, 5)"});
  EXPECT_TRUE(all_close(out, Tensor::full({2, 2, 2}, 7.0, DType::f64), 0, 0));
  Tensor negative = ids_tensor({0, -1, 2, 1}, {2, 2}), dtable = Tensor::full({5, 2}, 7.0,
                                                                           DType::f64);
  expect_error([&] { nn::embedding_backward(dtable, out, negative); },
               {"embedding_backward", "index -1 at flat position 1"});
  EXPECT_TRUE(all_close(dtable, Tensor::full({5, 2}, 7.0, DType::f64), 0, 0));
  expect_error([&] { nn::embedding_forward(out, Tensor::zeros({2, 2}, DType::f32), table); },
               {"embedding_forward", "ids", "i32"});
  expect_error([&] { nn::embedding_forward(zeros({2, 2, 3}), ids_tensor({0, 1, 2, 3}, {2, 2}),
                                           table); },
               {"embedding_forward", "out", "[2,2,2]"});
  expect_error([&] { nn::embedding_backward_per_sample(zeros({3, 5, 2}), out,
                                                       ids_tensor({0, 1, 2, 3}, {2, 2})); },
               {"nn::embedding_backward_per_sample", "dtable", "one (V, C) block per sample"});
}

// ---- activations -------------------------------------------------------------------------------

// The nn wrappers over ops::unary (whose formulas, hand values and central differences are in
// test_ops_dense.cpp): forward, backward and accumulate for the transformer activations.
TEST(NnActivation, ForwardBackwardAccumulate) {
  for (ops::Unary f : {ops::Unary::gelu, ops::Unary::gelu_tanh, ops::Unary::silu}) {
    Tensor x = rnd({3, 4}, 71, -3, 3), w = rnd({3, 4}, 72), y = zeros({3, 4});
    auto loss = [&] { nn::activation_forward(f, y, x); return weighted_sum(w, y); };
    Tensor dx = zeros({3, 4});
    nn::activation_backward(f, dx, w, x);
    expect_gradient(x, loss, dx, ops::unary_name(f));
    expect_accumulates([&](bool acc) { nn::activation_backward(f, dx, w, x, acc); }, {dx},
                       ops::unary_name(f));
  }
}

// ---- masked softmax ----------------------------------------------------------------------------

TEST(NnSoftmax, CausalHandValuesMaskedEntriesExactlyZero) {
  Tensor x = zeros({1, 3, 3}), y = Tensor::full({1, 3, 3}, 5.0, DType::f64);
  ops::SoftmaxMask causal;
  causal.causal = true;
  nn::softmax_forward(y, x, causal);
  const double third = 1.0 / 3;
  EXPECT_TRUE(all_close(y, f64({1, 0, 0, 0.5, 0.5, 0, third, third, third}, {1, 3, 3}), 1e-16,
                        0));
  const std::vector<double> v = y.to_vector<double>();
  EXPECT_EQ(v[1], 0.0);
  EXPECT_EQ(v[2], 0.0);
  EXPECT_EQ(v[5], 0.0);
}

// Decoding with a KV cache: query i alone (Tq = 1) over keys 0..i with query_offset = i gives
// row i of the full causal softmax bit for bit; so does a chunk of queries 2..4 at offset 2.
TEST(NnSoftmax, CausalQueryOffsetEqualsTheFullForward) {
  const int64_t heads = 2, t_len = 5;
  Tensor x = rnd({heads, t_len, t_len}, 81, -3, 3), full = zeros(x.shape());
  ops::SoftmaxMask mask;
  mask.causal = true;
  nn::softmax_forward(full, x, mask);
  const std::vector<double> xv = x.to_vector<double>(), fv = full.to_vector<double>();
  auto at = [&](const std::vector<double>& v, int64_t h, int64_t i, int64_t j) {
    return v[(h * t_len + i) * t_len + j];
  };
  for (int64_t i = 0; i < t_len; ++i) {
    std::vector<double> row;  // (heads, 1, i + 1): query i's scores against the cached keys
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t j = 0; j <= i; ++j) row.push_back(at(xv, h, i, j));
    Tensor step = f64(row, {heads, 1, i + 1}), y = zeros({heads, 1, i + 1});
    mask.query_offset = i;
    nn::softmax_forward(y, step, mask);
    const std::vector<double> yv = y.to_vector<double>();
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t j = 0; j < t_len; ++j) {
        if (j <= i)
          EXPECT_EQ(yv[h * (i + 1) + j], at(fv, h, i, j)) << "h " << h << " i " << i << " j " << j;
        else
          EXPECT_EQ(at(fv, h, i, j), 0.0);
      }
  }
  // Chunked prefill: queries 2..4 against keys 0..4, offset 2.
  std::vector<double> chunk;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 2; i < t_len; ++i)
      for (int64_t j = 0; j < t_len; ++j) chunk.push_back(at(xv, h, i, j));
  Tensor xc = f64(chunk, {heads, 3, t_len}), yc = zeros({heads, 3, t_len});
  mask.query_offset = 2;
  nn::softmax_forward(yc, xc, mask);
  const std::vector<double> yv = yc.to_vector<double>();
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 2; i < t_len; ++i)
      for (int64_t j = 0; j < t_len; ++j)
        EXPECT_EQ(yv[(h * 3 + i - 2) * t_len + j], at(fv, h, i, j));
}

// Additive masks broadcast like numpy: (B,1,1,Tk) key padding, (Tq,Tk), and x's full shape equal
// softmax(x + mask) with the mask added explicitly; -inf entries give exact zeros.
TEST(NnSoftmax, AdditiveMaskBroadcasts) {
  const int64_t batch = 2, heads = 3, tq = 4, tk = 5;
  Tensor x = rnd({batch, heads, tq, tk}, 91, -2, 2);
  std::vector<Shape> mask_shapes = {Shape{batch, 1, 1, tk}, Shape{tq, tk}, Shape{heads, 1, tk},
                                    Shape{batch, heads, tq, tk}};
  uint64_t seed = 92;
  for (const Shape& ms : mask_shapes) {
    Tensor m = rnd(ms, ++seed, -1, 1);
    m.data<double>()[0] = -kInf;  // one masked entry (broadcast to several rows)
    // Expected: build x + broadcast(m) by hand, then the plain softmax over the last axis.
    Tensor z = x.clone();
    double* pz = z.data<double>();
    const double* pm = m.data<double>();
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < tq; ++i)
          for (int64_t j = 0; j < tk; ++j) {
            const int64_t idx[4] = {b, h, i, j};
            int64_t off = 0;  // mask dim k is aligned with x's dim 4 - rank + k
            for (int k = 0; k < ms.rank; ++k)
              off = off * ms[k] + (ms[k] == 1 ? 0 : idx[4 - ms.rank + k]);
            pz[((b * heads + h) * tq + i) * tk + j] += pm[off];
          }
    Tensor want = zeros(x.shape()), y = zeros(x.shape());
    ops::softmax(z, -1, want);
    ops::SoftmaxMask mask;
    mask.additive = m;
    nn::softmax_forward(y, x, mask);
    EXPECT_TRUE(all_close(y, want, 1e-15, 1e-14)) << "mask " << ms.str();
    EXPECT_EQ(y.to_vector<double>()[0], 0.0) << "mask " << ms.str();
  }
  expect_error([&] {
    ops::SoftmaxMask bad;
    bad.additive = zeros({3, tk});
    nn::softmax_forward(zeros(x.shape()), x, bad);
  }, {"masked_softmax", "f64[3,5]@cpu", "does not broadcast", "f64[2,3,4,5]@cpu"});
  expect_error([&] {
    ops::SoftmaxMask bad;
    bad.causal = true;
    bad.query_offset = -1;
    nn::softmax_forward(zeros(x.shape()), x, bad);
  }, {"masked_softmax", "query_offset -1"});
}

// A row with every key masked is all zeros (not NaN), and so is its gradient.
TEST(NnSoftmax, FullyMaskedRowIsZero) {
  Tensor x = rnd({2, 3}, 101), y = zeros({2, 3});
  ops::SoftmaxMask mask;
  mask.additive = f64({-kInf, -kInf, -kInf, 0, -kInf, 0}, {2, 3});
  nn::softmax_forward(y, x, mask);
  const std::vector<double> v = y.to_vector<double>();
  for (int j = 0; j < 3; ++j) EXPECT_EQ(v[j], 0.0) << j;
  EXPECT_EQ(v[4], 0.0);
  EXPECT_NEAR(v[3] + v[5], 1.0, 1e-15);
  Tensor dx = Tensor::full({2, 3}, 5.0, DType::f64);
  nn::softmax_backward(dx, rnd({2, 3}, 102), y);
  const std::vector<double> d = dx.to_vector<double>();
  for (int j = 0; j < 3; ++j) EXPECT_EQ(d[j], 0.0) << j;
  EXPECT_EQ(d[4], 0.0);
  for (double e : d) EXPECT_TRUE(std::isfinite(e));
}

// Central differences through a finite additive mask broadcast over heads plus a causal mask at
// offset 2 (Tq = 4, Tk = 6); the gradient at masked entries is exactly 0.
TEST(NnSoftmax, BackwardMatchesFiniteDifferences) {
  const int64_t heads = 2, tq = 4, tk = 6;
  Tensor x = rnd({heads, tq, tk}, 111, -2, 2), w = rnd(x.shape(), 112), y = zeros(x.shape());
  ops::SoftmaxMask mask;
  mask.additive = rnd({tq, tk}, 113);
  mask.causal = true;
  mask.query_offset = 2;
  auto loss = [&] { nn::softmax_forward(y, x, mask); return weighted_sum(w, y); };
  loss();
  Tensor dx = zeros(x.shape());
  nn::softmax_backward(dx, w, y);
  expect_gradient(x, loss, dx, "dscores");
  const std::vector<double> d = dx.to_vector<double>();
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < tq; ++i)
      for (int64_t j = mask.query_offset + i + 1; j < tk; ++j)
        EXPECT_EQ(d[(h * tq + i) * tk + j], 0.0);
  expect_accumulates([&](bool acc) { nn::softmax_backward(dx, w, y, acc); }, {dx},
                     "softmax_backward");
}

// ---- a model as a sequence of kit calls -------------------------------------------------------

// Token + position embedding, layernorm, MLP (GELU tanh) with a residual, rmsnorm, an unbiased
// head and a softmax over the vocabulary; loss = sum(w * probabilities). The gradient of every
// parameter lands in grads = params.like(...) and matches central differences of the flat vector.
TEST(NnModel, SequenceOfCallsMatchesFiniteDifferences) {
  const int64_t batch = 2, t_len = 3, vocab = 5, c = 4, hidden = 8;
  ParameterSet params;
  params.add("wte", {vocab, c});
  params.add("wpe", {t_len, c});
  params.add("ln.w", {c});
  params.add("ln.b", {c});
  params.add("fc.w", {hidden, c});
  params.add("fc.b", {hidden});
  params.add("proj.w", {c, hidden});
  params.add("proj.b", {c});
  params.add("lnf.w", {c});
  params.add("head.w", {vocab, c});
  params.allocate(DType::f64, Device::cpu());
  params.flat().copy_from(rnd({params.size()}, 121));
  ParameterSet grads = params.like(DType::f64, Device::cpu());
  const auto p = [&](const char* name) { return params.get(name); };
  const auto g = [&](const char* name) { return grads.get(name); };

  Tensor ids = ids_tensor({1, 4, 4, 0, 2, 1}, {batch, t_len});
  Tensor pos = ids_tensor({0, 1, 2, 0, 1, 2}, {batch, t_len});
  Tensor w = rnd({batch, t_len, vocab}, 122);
  auto act = [&](int64_t last) { return zeros({batch, t_len, last}); };
  Tensor x = act(c), h = act(c), a = act(hidden), ga = act(hidden), m = act(c), r = act(c);
  Tensor rn = act(c), logits = act(vocab), probs = act(vocab);
  Tensor ln_mean = zeros({batch, t_len}), ln_rstd = zeros({batch, t_len});
  Tensor rms_rstd = zeros({batch, t_len});
  const ops::Unary gelu = ops::Unary::gelu_tanh;

  auto forward = [&] {
    nn::embedding_forward(x, ids, p("wte"));
    nn::embedding_forward(x, pos, p("wpe"), /*accumulate=*/true);
    nn::layernorm_forward(h, ln_mean, ln_rstd, x, p("ln.w"), p("ln.b"));
    nn::linear_forward(a, h, p("fc.w"), p("fc.b"));
    nn::activation_forward(gelu, ga, a);
    nn::linear_forward(m, ga, p("proj.w"), p("proj.b"));
    r.copy_from(x);
    ops::axpby(1.0, m, 1.0, r);  // residual r = x + m
    nn::rmsnorm_forward(rn, rms_rstd, r, p("lnf.w"));
    nn::linear_forward(logits, rn, p("head.w"), Tensor());
    nn::softmax_forward(probs, logits);
    return weighted_sum(w, probs);
  };
  forward();
  Tensor dlogits = act(vocab), drn = act(c), dr = act(c), dga = act(hidden), da = act(hidden);
  Tensor dh = act(c), dx = act(c);
  nn::softmax_backward(dlogits, w, probs);
  nn::linear_backward(drn, g("head.w"), Tensor(), dlogits, rn, p("head.w"));
  nn::rmsnorm_backward(dr, g("lnf.w"), drn, r, p("lnf.w"), rms_rstd);
  nn::linear_backward(dga, g("proj.w"), g("proj.b"), dr, ga, p("proj.w"));  // dm = dr
  nn::activation_backward(gelu, da, dga, a);
  nn::linear_backward(dh, g("fc.w"), g("fc.b"), da, h, p("fc.w"));
  dx.copy_from(dr);  // the residual's direct path
  nn::layernorm_backward(dx, g("ln.w"), g("ln.b"), dh, x, p("ln.w"), ln_mean, ln_rstd,
                         /*accumulate=*/true);  // grads start at zero (params.like)
  nn::embedding_backward(g("wte"), dx, ids);
  nn::embedding_backward(g("wpe"), dx, pos);

  Tensor flat = params.flat();
  expect_gradient(flat, forward, grads.flat(), "all parameters");
}
