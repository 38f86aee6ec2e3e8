// Episodes of frames and actions for the diffusion world model (the layout of
// data/atari/pong.h5, docs/HDF5_LAYOUT.md), the synthetic bouncing-ball generator the tests use
// instead of Atari, and the per-frame metrics of imagined rollouts.
//
// Layout: frames u8 (E, T+1, H, W) (frame t+1 follows action t), actions i32 (E, T) in
// [0, actions), rewards f32 (E, T), terminals u8 (E, T), action names, and the episode ids of
// the train / test split.
// Files: ml/diffusion/world_io.hpp.
//
// Bouncing ball (bouncing_ball()): a Pong-like world of H = W = size pixels, background 87, a
// 2 x 2 ball of level 236 and the player's paddle of level 148 (2 wide, 8 tall, in the last two
// columns but one), the levels of the Pong crop. Pong's 6 actions: 2 and 4 move the paddle up
// 2 pixels, 3 and 5 down, 0 and 1 leave it; the paddle stops at the edges. The ball moves by
// (vy, vx) per step, vy in {-3..3} \ {0} (faster than the paddle, so steep balls can be
// missed), vx in {-2,-1,1,2}, reflecting off the top, bottom and left walls; at the paddle's
// column it bounces back if it overlaps the paddle's rows (reward 0) and otherwise is missed
// (reward -1) and respawns at the centre column, a random row and a random velocity. The
// policy tracks the ball's row, with a random action (uniform over 6) at probability epsilon.
// Every draw is Philox (seed, stream = episode, counter), so an episode does not depend on the
// others. Terminals are all 0 (fixed-length episodes). The last test_episodes episodes are the
// test split.
//
// Metrics (frame_metrics()): mse on the [-1, 1] scale (u8 q -> q 2/255 - 1), PSNR =
// 10 log10(4 / mse) (peak-to-peak 2), and the object-pixel F1 of the two frames' object masks
// (pixels more than kObjectThreshold levels from the real frame's most common level, the
// background): paddles and ball, the pixels that carry the game. ball_centre(): the centroid of
// the pixels above kBallThreshold (the ball; the paddle's 148 stays below), if any.
// Tests: tests/unit/test_world_data.cpp (dynamics by hand: reflection, paddle moves and stops,
// miss and respawn; determinism per episode; metrics on hand frames).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace naqs::ml::diffusion {

struct WorldData {
  int64_t episodes = 0, steps = 0, height = 0, width = 0, actions_count = 0;
  std::vector<uint8_t> frames;     // (E, T+1, H, W)
  std::vector<int32_t> actions;    // (E, T)
  std::vector<float> rewards;      // (E, T)
  std::vector<uint8_t> terminals;  // (E, T)
  std::vector<std::string> action_names;
  std::vector<int32_t> train_episodes, test_episodes;  // indices into the episodes held
  std::vector<int32_t> ids;                            // the file's id of each episode held

  int64_t frame_size() const { return height * width; }
  const uint8_t* frame(int64_t e, int64_t t) const {
    return frames.data() + (e * (steps + 1) + t) * frame_size();
  }
  int32_t action(int64_t e, int64_t t) const { return actions[e * steps + t]; }
};

struct BouncingConfig {
  int64_t episodes = 24;
  int64_t steps = 64;
  int64_t size = 40;
  int64_t test_episodes = 4;
  double epsilon = 0.1;
  uint64_t seed = 1;
  void validate() const;  // UsageError naming the bad value
};

inline constexpr uint8_t kBackgroundLevel = 87, kPaddleLevel = 148, kBallLevel = 236;
inline constexpr int kObjectThreshold = 20, kBallThreshold = 192;

WorldData bouncing_ball(const BouncingConfig& c);

// The split of a generated data set: episodes and test_episodes checked (UsageError unless
// 1 <= test_episodes < episodes), then the last test_episodes episodes are the test split, the
// rest the train split, and ids are 0..episodes-1. Used by every generator.
void check_split(int64_t episodes, int64_t test_episodes);
void split_last_for_test(WorldData& w, int64_t test_episodes);


struct FrameMetrics {
  double mse, psnr, object_f1;
};
// real and imagined: one frame of n u8 pixels each.
FrameMetrics frame_metrics(const uint8_t* real, const uint8_t* imagined, int64_t n);
// (row, col) centroid of the pixels above kBallThreshold of an h x w frame; nullopt if none.
std::optional<std::pair<double, double>> ball_centre(const uint8_t* frame, int64_t h, int64_t w);

}  // namespace naqs::ml::diffusion
