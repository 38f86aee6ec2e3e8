// The bouncing-ball episodes and the rollout metrics (ml/diffusion/world_data.hpp).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "host/core/error.hpp"
#include "ml/diffusion/world_data.hpp"

using namespace naqs;
using namespace naqs::ml::diffusion;

namespace {

// The paddle's top row in frame t of episode e: the first row of level kPaddleLevel.
int64_t paddle_top(const WorldData& w, int64_t e, int64_t t) {
  const uint8_t* f = w.frame(e, t);
  for (int64_t r = 0; r < w.height; ++r)
    if (f[r * w.width + w.width - 3] == kPaddleLevel) return r;
  return -1;
}

}  // namespace

TEST(WorldData, BouncingBallFramesFollowTheRules) {
  BouncingConfig c;
  c.episodes = 6;
  c.steps = 200;
  c.test_episodes = 2;
  const WorldData w = bouncing_ball(c);
  ASSERT_EQ(w.frames.size(), size_t(6 * 201 * 40 * 40));
  EXPECT_EQ(w.train_episodes, (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(w.test_episodes, (std::vector<int32_t>{4, 5}));
  int64_t misses = 0, bounces_left = 0, random_actions = 0;
  for (int64_t e = 0; e < w.episodes; ++e)
    for (int64_t t = 0; t < w.steps; ++t) {
      const auto b0 = ball_centre(w.frame(e, t), 40, 40), b1 = ball_centre(w.frame(e, t + 1), 40, 40);
      ASSERT_TRUE(b0 && b1);
      // every frame: 4 ball pixels, 16 paddle pixels, the rest background
      int64_t ball = 0, paddle = 0;
      for (int64_t i = 0; i < 1600; ++i) {
        const uint8_t v = w.frame(e, t + 1)[i];
        ball += v == kBallLevel;
        paddle += v == kPaddleLevel;
        ASSERT_TRUE(v == kBallLevel || v == kPaddleLevel || v == kBackgroundLevel);
      }
      ASSERT_EQ(ball, 4);
      ASSERT_EQ(paddle, 16);
      // the paddle moves 2 up for actions 2 and 4, 2 down for 3 and 5, stops at the edges
      const int32_t a = w.action(e, t);
      const int64_t p0 = paddle_top(w, e, t), p1 = paddle_top(w, e, t + 1);
      const int64_t want = a == 2 || a == 4 ? std::max<int64_t>(0, p0 - 2)
                           : a == 3 || a == 5 ? std::min<int64_t>(32, p0 + 2)
                                              : p0;
      ASSERT_EQ(p1, want) << "e " << e << " t " << t << " action " << a;
      // the ball moves at most 3 pixels per row and 2 per column, except when missed (reward -1, respawn at the
      // centre column)
      const double dy = b1->first - b0->first, dx = b1->second - b0->second;
      if (w.rewards[e * w.steps + t] != 0) {
        EXPECT_EQ(w.rewards[e * w.steps + t], -1.0f);
        EXPECT_EQ(b1->second, 19.5);
        ++misses;
      } else {
        ASSERT_LE(std::abs(dy), 3.0);
        ASSERT_LE(std::abs(dx), 2.0);
      }
      if (b0->second < 2.5 && dx >= 0 && t > 0 &&
          b0->second - ball_centre(w.frame(e, t - 1), 40, 40)->second < 0)
        ++bounces_left;
      random_actions += a == 1 || a == 4 || a == 5;  // the tracking policy never picks these
      EXPECT_EQ(w.terminals[e * w.steps + t], 0);
    }
  // the tracking policy misses sometimes (epsilon 0.1, a ball up to 2 px/step), and the ball
  // comes back from the left wall
  EXPECT_GT(misses, 0);
  EXPECT_LT(misses, 60);
  EXPECT_GT(bounces_left, 10);
  // random actions at about epsilon * 3/6 of the steps: 60 of 1200 expected
  EXPECT_GT(random_actions, 25);
  EXPECT_LT(random_actions, 110);
}

TEST(WorldData, EpisodesAreDeterministicAndIndependent) {
  BouncingConfig c;
  c.episodes = 5;
  c.steps = 30;
  const WorldData a = bouncing_ball(c);
  c.episodes = 3;
  c.test_episodes = 1;
  const WorldData b = bouncing_ball(c);
  // episode e depends only on (seed, e)
  for (int64_t e = 0; e < 3; ++e)
    for (int64_t t = 0; t <= 30; ++t)
      ASSERT_TRUE(std::equal(a.frame(e, t), a.frame(e, t) + 1600, b.frame(e, t)));
  c.seed = 2;
  const WorldData other = bouncing_ball(c);
  EXPECT_NE(other.frames, b.frames);
}

TEST(WorldData, MetricsByHand) {
  std::vector<uint8_t> real(16, 87), imagined(16, 87);
  real[0] = 236;  // one ball pixel
  real[5] = 148;  // one paddle pixel
  imagined[0] = 236;
  imagined[6] = 148;  // paddle one pixel off
  imagined[9] = 100;  // within the threshold of the background: not an object
  const FrameMetrics m = frame_metrics(real.data(), imagined.data(), 16);
  const double d1 = (148 - 87) * 2.0 / 255, d2 = (100 - 87) * 2.0 / 255;
  const double mse = (2 * d1 * d1 + d2 * d2) / 16;
  EXPECT_NEAR(m.mse, mse, 1e-15);
  EXPECT_NEAR(m.psnr, 10 * std::log10(4 / mse), 1e-12);
  EXPECT_DOUBLE_EQ(m.object_f1, 2.0 * 1 / (2 + 2));  // one of two objects pixels shared
  const FrameMetrics same = frame_metrics(real.data(), real.data(), 16);
  EXPECT_EQ(same.mse, 0.0);
  EXPECT_TRUE(std::isinf(same.psnr));
  EXPECT_EQ(same.object_f1, 1.0);
  std::vector<uint8_t> bg(16, 87);
  EXPECT_EQ(frame_metrics(bg.data(), bg.data(), 16).object_f1, 1.0);  // nothing to find
  EXPECT_EQ(frame_metrics(real.data(), bg.data(), 16).object_f1, 0.0);
  const auto c = ball_centre(real.data(), 4, 4);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first, 0.0);
  EXPECT_EQ(c->second, 0.0);
  EXPECT_FALSE(ball_centre(bg.data(), 4, 4));
}

TEST(WorldData, BadConfigIsOneClearLine) {
  BouncingConfig c;
  c.size = 8;
  EXPECT_THROW(bouncing_ball(c), UsageError);
  c = BouncingConfig{};
  c.test_episodes = c.episodes;
  EXPECT_THROW(bouncing_ball(c), UsageError);
  c = BouncingConfig{};
  c.epsilon = 1.5;
  EXPECT_THROW(bouncing_ball(c), UsageError);
}
