// The world model's U-Net (ml/diffusion/unet.hpp): gradients of a tiny network against float64
// central differences, the zero-initialised output, the conditioning paths, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "host/core/tensor_convert.hpp"
#include "ml/diffusion/unet.hpp"

using namespace naqs;
using namespace naqs::ml::diffusion;

namespace {

UNetConfig tiny(int levels) {
  UNetConfig c;
  c.context = 2;
  c.actions = 3;
  c.height = 8;
  c.width = 4;
  c.channels = levels == 3 ? std::vector<int64_t>{4, 6, 8} : std::vector<int64_t>{4, 6};
  c.groups = 2;
  c.cond_dim = 5;
  c.action_dim = 3;
  c.noise_features = 2;
  return c;
}

std::vector<double> uniform(int64_t n, uint64_t stream, double scale) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = scale * (2 * philox_uniform_f64(7, stream, i) - 1);
  return v;
}

// Every parameter random (so no zero-initialised weight hides a path).
void randomise(UNet& net) {
  Tensor flat = net.params().flat();
  flat.copy_from(from_host_f64(uniform(flat.numel(), 1, 0.6), flat.shape(), DType::f64,
                               Device::cpu()));
}

struct Inputs {
  Tensor x;
  std::vector<double> noise;
  std::vector<int32_t> actions;
};

Inputs inputs(const UNetConfig& c, int64_t b) {
  Inputs in;
  in.x = from_host_f64(uniform(b * (1 + c.context) * c.height * c.width, 2, 1.0),
                       {b, 1 + c.context, c.height, c.width}, DType::f64, Device::cpu());
  in.noise = uniform(b, 3, 1.5);
  for (int64_t i = 0; i < b * c.context; ++i) in.actions.push_back(int32_t((5 * i + 1) % 3));
  return in;
}

double objective(UNet& net, const Inputs& in, const std::vector<double>& w) {
  const std::vector<double> f = to_host_f64(net.forward(in.x, in.noise, in.actions));
  double s = 0;
  for (size_t i = 0; i < f.size(); ++i) s += w[i] * f[i];
  return s;
}

}  // namespace

TEST(UNet, GradientsMatchCentralDifferences) {
  for (int levels : {2, 3}) {
    const UNetConfig c = tiny(levels);
    UNet net(c, DType::f64, Device::cpu());
    randomise(net);
    const Inputs in = inputs(c, 3);
    const std::vector<double> w = uniform(3 * c.height * c.width, 4, 1.0);
    net.forward(in.x, in.noise, in.actions);
    ParameterSet g = net.params().like(DType::f64, Device::cpu());
    net.backward(from_host_f64(w, {3, 1, c.height, c.width}, DType::f64, Device::cpu()), g);
    const std::vector<double> grad = to_host_f64(g.flat());
    Tensor flat = net.params().flat();
    double* p = flat.data<double>();
    const double h = 1e-5;
    int64_t checked = 0;
    for (const ParameterEntry& e : net.params().layout()) {
      const int64_t n = e.shape.numel();
      // first, middle and last element of every parameter
      for (int64_t k : {int64_t{0}, n / 2, n - 1}) {
        const int64_t i = e.offset + k;
        const double keep = p[i];
        p[i] = keep + h;
        const double up = objective(net, in, w);
        p[i] = keep - h;
        const double down = objective(net, in, w);
        p[i] = keep;
        const double fd = (up - down) / (2 * h);
        // O(h^2) truncation (~1e-10 here) plus rounding eps |f| / h (~1e-10)
        EXPECT_NEAR(grad[i], fd, 1e-7 + 1e-6 * std::abs(fd))
            << "levels " << levels << " " << e.name << "[" << k << "]";
        ++checked;
      }
    }
    EXPECT_GT(checked, 80);
  }
}

TEST(UNet, StartsAtZeroAndTheConditioningReachesTheOutput) {
  const UNetConfig c = tiny(2);
  UNet net(c, DType::f64, Device::cpu());
  net.init(11);
  const Inputs in = inputs(c, 2);
  for (double v : to_host_f64(net.forward(in.x, in.noise, in.actions))) ASSERT_EQ(v, 0.0);
  randomise(net);
  const std::vector<double> f0 = to_host_f64(net.forward(in.x, in.noise, in.actions));
  Inputs other = in;
  other.actions[1] = (other.actions[1] + 1) % 3;  // sample 0's second past action
  const std::vector<double> f1 = to_host_f64(net.forward(other.x, other.noise, other.actions));
  const int64_t frame = c.height * c.width;
  double diff0 = 0, diff1 = 0;
  for (int64_t i = 0; i < frame; ++i) {
    diff0 += std::abs(f1[i] - f0[i]);
    diff1 += std::abs(f1[frame + i] - f0[frame + i]);
  }
  EXPECT_GT(diff0, 1e-6);  // the action moved sample 0
  EXPECT_EQ(diff1, 0.0);   // and only sample 0
  other = in;
  other.noise[1] += 0.5;
  const std::vector<double> f2 = to_host_f64(net.forward(other.x, other.noise, other.actions));
  double diff_noise = 0;
  for (int64_t i = 0; i < frame; ++i) diff_noise += std::abs(f2[frame + i] - f0[frame + i]);
  EXPECT_GT(diff_noise, 1e-6);
  // the same call twice: the same bits
  EXPECT_EQ(to_host_f64(net.forward(in.x, in.noise, in.actions)), f0);
}

TEST(UNet, BadInputIsOneClearLine) {
  UNetConfig c = tiny(2);
  c.channels = {4, 5};
  EXPECT_THROW(UNet(c, DType::f64, Device::cpu()), UsageError);  // 5 not a multiple of groups 2
  c = tiny(3);
  c.height = 6;  // cannot be halved twice
  EXPECT_THROW(UNet(c, DType::f64, Device::cpu()), UsageError);
  c = tiny(2);
  UNet net(c, DType::f64, Device::cpu());
  Inputs in = inputs(c, 2);
  in.actions[3] = 3;
  try {
    net.forward(in.x, in.noise, in.actions);
    FAIL() << "action 3 of 3 accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("action 3 (sample 1, past position 1) is outside 0..2"),
              std::string::npos)
        << e.what();
  }
}
