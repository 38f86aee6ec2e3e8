// The Δ-IRIS tokenizer's conv encoder and decoder (ml/world_model/tokenizer.hpp): every
// parameter's gradient and the tokens' gradient against float64 central differences on a tiny
// network, the halves' parameter ownership, the action path, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/fill.hpp"
#include "ml/world_model/tokenizer.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using namespace naqs::ml::world_model;

namespace {

TokenizerConfig tiny(int levels) {
  TokenizerConfig c;
  c.frame = 8;
  c.actions = 3;
  c.channels = levels == 3 ? std::vector<int64_t>{2, 3, 2} : std::vector<int64_t>{2, 3};
  c.grid = 2;
  c.token_dim = 3;
  return c;
}

std::vector<double> uniform(int64_t n, uint64_t stream, double scale) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = scale * (2 * philox_uniform_f64(13, stream, i) - 1);
  return v;
}

Tensor tensor(const std::vector<double>& v, const Shape& s) {
  return from_host_f64(v, s, DType::f64, Device::cpu());
}

double dot(const Tensor& a, const std::vector<double>& w) {
  const std::vector<double> v = to_host_f64(a);
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * w[i];
  return s;
}

// Central differences (step 1e-5) of loss() in every element of x (a view into a f64 tensor on
// the CPU) against the analytic gradient g. O(h^2) truncation + eps |L| / h rounding.
void check_gradient(Tensor x, const std::vector<double>& g, const std::function<double()>& loss,
                    const std::string& what) {
  const std::vector<double> fd = to_host_f64(naqs::testing::finite_difference(x, loss, 1e-5));
  ASSERT_EQ(g.size(), fd.size()) << what;
  for (size_t i = 0; i < g.size(); ++i)
    EXPECT_LE(std::abs(g[i] - fd[i]), 1e-8 + 1e-6 * std::abs(fd[i]))
        << what << " [" << i << "]: " << g[i] << " vs " << fd[i];
}

void gradients_match(TokenizerConfig c) {
  ConvTokenizer net(c, DType::f64, Device::cpu());
  net.init(3);
  const int64_t B = 2, H = c.frame, N = B * c.tokens();
  const Tensor x_t = tensor(uniform(B * H * H, 1, 1.0), {B, 1, H, H});
  const Tensor x_next = tensor(uniform(B * H * H, 2, 1.0), {B, 1, H, H});
  const std::vector<int32_t> actions{2, 0};
  const std::vector<double> wz = uniform(N * c.token_dim, 3, 1.0);
  const std::vector<double> wo = uniform(B * H * H, 4, 1.0);
  Tensor q = tensor(uniform(N * c.token_dim, 5, 1.0), {N, c.token_dim});

  ParameterSet grads = net.params().like(DType::f64, Device::cpu());
  Tensor all = grads.flat();
  ops::fill(all, 7.0);  // each half must write its own parameters and leave the others
  const Tensor z = net.encode(x_t, x_next, actions);
  ASSERT_EQ(z.shape(), (Shape{N, c.token_dim}));
  net.encode_backward(tensor(wz, z.shape()), grads);
  const Tensor out = net.decode(x_t, actions, q);
  ASSERT_EQ(out.shape(), (Shape{B, 1, H, H}));
  const std::vector<double> dq = to_host_f64(net.decode_backward(tensor(wo, out.shape()), grads));

  const auto enc_loss = [&] { return dot(net.encode(x_t, x_next, actions), wz); };
  const auto dec_loss = [&] { return dot(net.decode(x_t, actions, q), wo); };
  for (const ParameterEntry& e : net.params().layout()) {
    const bool enc = e.name.rfind("enc.", 0) == 0;
    check_gradient(net.params().get(e.name), to_host_f64(grads.get(e.name)),
                   enc ? std::function<double()>(enc_loss) : std::function<double()>(dec_loss),
                   e.name);
  }
  check_gradient(q, dq, dec_loss, "dq");
}

}  // namespace

TEST(Tokenizer, GradientsMatchCentralDifferencesTwoLevels) { gradients_match(tiny(2)); }

TEST(Tokenizer, GradientsMatchCentralDifferencesThreeLevels) { gradients_match(tiny(3)); }

// The IRIS-like baseline: 16 tokens (a 4 x 4 grid) from x_{t+1} alone.
TEST(Tokenizer, GradientsMatchCentralDifferencesBaseline) {
  TokenizerConfig c = tiny(2);
  c.delta = false;
  c.frame = 16;
  c.grid = 4;
  gradients_match(c);
}

// The baseline reads neither x_t nor the action, in either half.
TEST(Tokenizer, BaselineIgnoresTheContext) {
  TokenizerConfig c = tiny(2);
  c.delta = false;
  ConvTokenizer net(c, DType::f64, Device::cpu());
  net.init(4);
  const int64_t H = c.frame;
  const Tensor x = tensor(uniform(H * H, 1, 1.0), {1, 1, H, H});
  const Tensor y = tensor(uniform(H * H, 2, 1.0), {1, 1, H, H});
  const Tensor q = tensor(uniform(c.tokens() * c.token_dim, 3, 1.0), {c.tokens(), c.token_dim});
  EXPECT_EQ(to_host_f64(net.encode(x, y, {0})), to_host_f64(net.encode(y, y, {2})));
  EXPECT_NE(to_host_f64(net.encode(x, y, {0})), to_host_f64(net.encode(x, x, {0})));
  EXPECT_EQ(to_host_f64(net.decode(x, {0}, q)), to_host_f64(net.decode(y, {1}, q)));
}

// The context reaches both halves: another action or x_t changes the tokens and the prediction.
TEST(Tokenizer, ContextReachesEncoderAndDecoder) {
  const TokenizerConfig c = tiny(2);
  ConvTokenizer net(c, DType::f64, Device::cpu());
  net.init(1);
  const int64_t H = c.frame;
  const Tensor x = tensor(uniform(H * H, 1, 1.0), {1, 1, H, H});
  const Tensor q = tensor(uniform(c.tokens() * c.token_dim, 2, 1.0), {c.tokens(), c.token_dim});
  const std::vector<double> z0 = to_host_f64(net.encode(x, x, {0}));
  EXPECT_NE(z0, to_host_f64(net.encode(x, x, {1})));
  const std::vector<double> o0 = to_host_f64(net.decode(x, {0}, q));
  EXPECT_NE(o0, to_host_f64(net.decode(x, {2}, q)));
  // and x_t reaches both
  const Tensor y = tensor(uniform(H * H, 3, 1.0), {1, 1, H, H});
  EXPECT_NE(z0, to_host_f64(net.encode(y, x, {0})));
  EXPECT_NE(o0, to_host_f64(net.decode(y, {0}, q)));
}

// Token (b, gy, gx) is the block (gy, gx) of the last map: with one level (no resampling) and
// the head's two 3x3 convolutions, changing token 1 (top right) of a 2x2 grid on 8x8 frames
// moves only the pixels within 2 of the top-right 4x4 quadrant.
TEST(Tokenizer, TokenGridIsRowMajorOverTheFrame) {
  TokenizerConfig c = tiny(2);
  c.channels = {2};
  ConvTokenizer net(c, DType::f64, Device::cpu());
  net.init(2);
  const Tensor x = tensor(uniform(64, 1, 1.0), {1, 1, 8, 8});
  std::vector<double> qv = uniform(4 * 3, 2, 1.0);
  const std::vector<double> o0 = to_host_f64(net.decode(x, {1}, tensor(qv, {4, 3})));
  for (int d = 0; d < 3; ++d) qv[1 * 3 + d] += 0.5;
  const std::vector<double> o1 = to_host_f64(net.decode(x, {1}, tensor(qv, {4, 3})));
  int changed = 0;
  for (int r = 0; r < 8; ++r) {
    for (int col = 0; col < 8; ++col) {
      const bool near = r <= 3 + 2 && col >= 4 - 2;
      if (!near) {
        EXPECT_EQ(o0[r * 8 + col], o1[r * 8 + col]) << "pixel " << r << "," << col;
      }
      changed += o0[r * 8 + col] != o1[r * 8 + col];
    }
  }
  EXPECT_GT(changed, 16);
}

TEST(Tokenizer, BadSettingsAndInputs) {
  TokenizerConfig c = tiny(2);
  c.grid = 3;  // the last level is 4x4
  EXPECT_THROW(ConvTokenizer(c, DType::f64, Device::cpu()), UsageError);
  c = tiny(2);
  c.frame = 10;  // 5x5 at the last level: no 2x2 grid
  EXPECT_THROW(ConvTokenizer(c, DType::f64, Device::cpu()), UsageError);
  c = tiny(2);
  ConvTokenizer net(c, DType::f64, Device::cpu());
  const Tensor x = Tensor::zeros({1, 1, 8, 8}, DType::f64);
  EXPECT_THROW(net.encode(x, x, {3}), UsageError);
  EXPECT_THROW(net.encode(x, x, {0, 1}), UsageError);
  EXPECT_THROW(net.encode(x, Tensor::zeros({1, 1, 8, 4}, DType::f64), {0}), UsageError);
  EXPECT_THROW(net.decode(x, {0}, Tensor::zeros({3, 3}, DType::f64)), UsageError);
}
