// Bouncing-ball episodes and rollout metrics; see world_data.hpp.
#include "ml/diffusion/world_data.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "host/ops/quantize.hpp"

namespace naqs::ml::diffusion {
namespace {

constexpr int64_t kBall = 2, kPaddleW = 2, kPaddleH = 8, kPaddleStep = 2;

// Philox draws of one episode, in order.
class Draws {
 public:
  Draws(uint64_t seed, uint64_t episode) : seed_(seed), stream_(episode) {}
  double uniform() { return philox_uniform_f64(seed_, stream_, next_++); }
  int64_t below(int64_t n) { return std::min<int64_t>(n - 1, int64_t(uniform() * double(n))); }

 private:
  uint64_t seed_, stream_, next_ = 0;
};

struct Ball {
  int64_t y, x, vy, vx;
};

// A speed of 1..max pixels per step, either sign.
int64_t random_speed(Draws& d, int64_t max) {
  const int64_t s = 1 + d.below(max);
  return d.uniform() < 0.5 ? -s : s;
}

Ball spawn(Draws& d, int64_t size) {
  Ball b;
  b.y = d.below(size - kBall + 1);
  b.x = size / 2 - 1;
  b.vy = random_speed(d, 3);  // faster than the paddle's 2: steep balls can be missed
  b.vx = random_speed(d, 2);
  return b;
}

void draw(uint8_t* f, int64_t size, const Ball& b, int64_t paddle_y) {
  std::fill(f, f + size * size, kBackgroundLevel);
  const int64_t px = size - 1 - kPaddleW;
  for (int64_t r = paddle_y; r < paddle_y + kPaddleH; ++r)
    for (int64_t c = px; c < px + kPaddleW; ++c) f[r * size + c] = kPaddleLevel;
  for (int64_t r = b.y; r < b.y + kBall; ++r)
    for (int64_t c = b.x; c < b.x + kBall; ++c) f[r * size + c] = kBallLevel;
}

// Reflects coordinate p (moving by v) into [0, hi]; flips v on a bounce.
void reflect(int64_t& p, int64_t& v, int64_t hi) {
  p += v;
  if (p < 0) {
    p = -p;
    v = -v;
  } else if (p > hi) {
    p = 2 * hi - p;
    v = -v;
  }
}

}  // namespace

void BouncingConfig::validate() const {
  NAQS_REQUIRE(size >= 16 && size <= 256, "--size ", size,
               " is not allowed: use 16 to 256 pixels");
  NAQS_REQUIRE(steps >= 1, "--steps ", steps, " is not allowed: use at least 1");
  check_split(episodes, test_episodes);
  NAQS_REQUIRE(epsilon >= 0 && epsilon <= 1, "--epsilon ", epsilon,
               " is not allowed: use a probability in [0, 1]");
}

void check_split(int64_t episodes, int64_t test_episodes) {
  NAQS_REQUIRE(test_episodes >= 1 && episodes > test_episodes, "--episodes ", episodes,
               " and --test-episodes ", test_episodes,
               " are not allowed: use at least one test episode and one train episode");
}

void split_last_for_test(WorldData& w, int64_t test_episodes) {
  check_split(w.episodes, test_episodes);
  w.train_episodes.clear();
  w.test_episodes.clear();
  w.ids.clear();
  for (int64_t e = 0; e < w.episodes; ++e) {
    (e < w.episodes - test_episodes ? w.train_episodes : w.test_episodes)
        .push_back(static_cast<int32_t>(e));
    w.ids.push_back(static_cast<int32_t>(e));
  }
}

WorldData bouncing_ball(const BouncingConfig& c) {
  c.validate();
  WorldData w;
  w.episodes = c.episodes;
  w.steps = c.steps;
  w.height = w.width = c.size;
  w.actions_count = 6;
  w.action_names = {"NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"};
  w.frames.resize(static_cast<size_t>(c.episodes * (c.steps + 1) * c.size * c.size));
  w.actions.resize(static_cast<size_t>(c.episodes * c.steps));
  w.rewards.assign(w.actions.size(), 0.0f);
  w.terminals.assign(w.actions.size(), 0);
  split_last_for_test(w, c.test_episodes);
  const int64_t paddle_x = c.size - 1 - kPaddleW;  // the paddle's first column
  const int64_t max_x = paddle_x - kBall;          // the ball's last column before the paddle
  for (int64_t e = 0; e < c.episodes; ++e) {
    Draws d(c.seed, static_cast<uint64_t>(e));
    Ball b = spawn(d, c.size);
    int64_t paddle_y = (c.size - kPaddleH) / 2;
    draw(&w.frames[static_cast<size_t>(e * (c.steps + 1) * c.size * c.size)], c.size, b,
         paddle_y);
    for (int64_t t = 0; t < c.steps; ++t) {
      // policy: track the ball's row, epsilon-random
      int32_t a;
      if (d.uniform() < c.epsilon) {
        a = static_cast<int32_t>(d.below(6));
      } else {
        const int64_t diff = (b.y + kBall / 2) - (paddle_y + kPaddleH / 2);
        a = diff < -1 ? 2 : diff > 1 ? 3 : 0;
      }
      w.actions[static_cast<size_t>(e * c.steps + t)] = a;
      const int64_t move = (a == 2 || a == 4) ? -kPaddleStep : (a == 3 || a == 5) ? kPaddleStep : 0;
      paddle_y = std::clamp<int64_t>(paddle_y + move, 0, c.size - kPaddleH);
      reflect(b.y, b.vy, c.size - kBall);
      b.x += b.vx;
      if (b.x < 0) {
        b.x = -b.x;
        b.vx = -b.vx;
      } else if (b.x > max_x) {
        const bool hit = b.y + kBall > paddle_y && b.y < paddle_y + kPaddleH;
        if (hit) {
          b.x = 2 * max_x - b.x;
          b.vx = -b.vx;
        } else {
          w.rewards[static_cast<size_t>(e * c.steps + t)] = -1.0f;
          b = spawn(d, c.size);
        }
      }
      draw(&w.frames[static_cast<size_t>((e * (c.steps + 1) + t + 1) * c.size * c.size)], c.size,
           b, paddle_y);
    }
  }
  return w;
}

FrameMetrics frame_metrics(const uint8_t* real, const uint8_t* imagined, int64_t n) {
  NAQS_CHECK(n >= 1, "frame_metrics: empty frame");
  std::array<int64_t, 256> hist{};
  for (int64_t i = 0; i < n; ++i) ++hist[real[i]];
  const int background =
      static_cast<int>(std::max_element(hist.begin(), hist.end()) - hist.begin());
  double se = 0;
  int64_t both = 0, in_real = 0, in_imagined = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double diff = (double(real[i]) - double(imagined[i])) * ops::kFrameScale;
    se += diff * diff;
    const bool r = std::abs(int(real[i]) - background) > kObjectThreshold;
    const bool m = std::abs(int(imagined[i]) - background) > kObjectThreshold;
    both += r && m;
    in_real += r;
    in_imagined += m;
  }
  FrameMetrics out;
  out.mse = se / double(n);
  out.psnr = 10 * std::log10(4.0 / out.mse);  // +inf for identical frames
  out.object_f1 = in_real + in_imagined == 0 ? 1.0 : 2.0 * double(both) / double(in_real + in_imagined);
  return out;
}

std::optional<std::pair<double, double>> ball_centre(const uint8_t* frame, int64_t h, int64_t w) {
  double sr = 0, sc = 0;
  int64_t count = 0;
  for (int64_t r = 0; r < h; ++r)
    for (int64_t c = 0; c < w; ++c)
      if (frame[r * w + c] > kBallThreshold) {
        sr += double(r);
        sc += double(c);
        ++count;
      }
  if (count == 0) return std::nullopt;
  return std::make_pair(sr / double(count), sc / double(count));
}

}  // namespace naqs::ml::diffusion
