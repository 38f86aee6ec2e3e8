// The Δ-IRIS tests' gridworld (ml/world_model/gridworld.hpp): the rules frame by frame
// (moves, walls, spawns, collection and reward), determinism per episode, bad settings.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "host/core/error.hpp"
#include "ml/world_model/gridworld.hpp"

using namespace naqs;
using namespace naqs::ml;
using namespace naqs::ml::world_model;

namespace {

// The cells (row-major indices) whose every pixel has `level`; -1 if none, -2 if several.
int64_t find_cell(const uint8_t* frame, int64_t size, int64_t cell, uint8_t level) {
  const int64_t cells = size / cell;
  int64_t found = -1;
  for (int64_t i = 0; i < cells * cells; ++i) {
    const int64_t r0 = (i / cells) * cell, c0 = (i % cells) * cell;
    bool all = true;
    for (int64_t r = r0; r < r0 + cell; ++r)
      for (int64_t col = c0; col < c0 + cell; ++col) all = all && frame[r * size + col] == level;
    if (all) found = found == -1 ? i : -2;
  }
  return found;
}

// Every pixel is the background, the agent's or the item's level.
bool only_known_levels(const uint8_t* frame, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (frame[i] != diffusion::kBackgroundLevel && frame[i] != kAgentLevel &&
        frame[i] != kItemLevel)
      return false;
  return true;
}

GridworldConfig small(double spawn_prob) {
  GridworldConfig c;
  c.episodes = 6;
  c.test_episodes = 2;
  c.steps = 60;
  c.size = 12;
  c.cell = 3;  // 4 x 4 cells: the walls are hit often
  c.spawn_prob = spawn_prob;
  c.seed = 9;
  return c;
}

}  // namespace

TEST(Gridworld, TheActionAloneMovesTheAgent) {
  const GridworldConfig c = small(0);
  const diffusion::WorldData w = gridworld(c);
  ASSERT_EQ(w.actions_count, 5);
  EXPECT_EQ(w.train_episodes, (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(w.test_episodes, (std::vector<int32_t>{4, 5}));
  int blocked = 0, moved = 0;
  for (int64_t e = 0; e < c.episodes; ++e) {
    for (int64_t t = 0; t < c.steps; ++t) {
      const int64_t p = find_cell(w.frame(e, t), c.size, c.cell, kAgentLevel);
      const int64_t q = find_cell(w.frame(e, t + 1), c.size, c.cell, kAgentLevel);
      ASSERT_GE(p, 0);
      ASSERT_GE(q, 0);
      const int a = w.action(e, t);
      int64_t r = p / 4 + (a == 1 ? -1 : a == 2 ? 1 : 0);
      int64_t col = p % 4 + (a == 3 ? -1 : a == 4 ? 1 : 0);
      const bool wall = r < 0 || r > 3 || col < 0 || col > 3;
      if (wall) {
        r = p / 4;
        col = p % 4;
      }
      blocked += wall;
      moved += a != 0 && !wall;
      EXPECT_EQ(q, r * 4 + col) << "episode " << e << " step " << t << " action " << a;
      // Nothing but the agent: 9 agent pixels, the rest background.
      int64_t agent_pixels = 0;
      for (int64_t i = 0; i < c.size * c.size; ++i) {
        agent_pixels += w.frame(e, t + 1)[i] == kAgentLevel;
        EXPECT_TRUE(w.frame(e, t + 1)[i] == kAgentLevel ||
                    w.frame(e, t + 1)[i] == diffusion::kBackgroundLevel);
      }
      EXPECT_EQ(agent_pixels, 9);
      EXPECT_EQ(w.rewards[e * c.steps + t], 0.0f);
    }
  }
  EXPECT_GT(blocked, 10) << "the walls must be exercised";
  EXPECT_GT(moved, 100);
}

TEST(Gridworld, SpawnsAndCollection) {
  GridworldConfig c = small(0.5);
  c.steps = 200;  // an item waits ~20 steps for the random walk: ~60 spawns in all
  const diffusion::WorldData w = gridworld(c);
  int spawns = 0, collected = 0;
  for (int64_t e = 0; e < c.episodes; ++e) {
    EXPECT_EQ(find_cell(w.frame(e, 0), c.size, c.cell, kItemLevel), -1) << "no item at start";
    for (int64_t t = 0; t < c.steps; ++t) {
      const uint8_t* next = w.frame(e, t + 1);
      ASSERT_TRUE(only_known_levels(next, c.size * c.size));
      const int64_t before = find_cell(w.frame(e, t), c.size, c.cell, kItemLevel);
      const int64_t after = find_cell(next, c.size, c.cell, kItemLevel);
      const int64_t agent = find_cell(next, c.size, c.cell, kAgentLevel);
      ASSERT_NE(before, -2);
      ASSERT_NE(after, -2);
      const bool reward = w.rewards[e * c.steps + t] == 1.0f;
      EXPECT_EQ(reward, before >= 0 && agent == before) << "episode " << e << " step " << t;
      if (before >= 0 && !reward) {
        EXPECT_EQ(after, before) << "an item stays until collected";
      }
      if (after >= 0 && after != before) {
        ++spawns;
        EXPECT_NE(after, agent) << "an item never spawns under the agent";
      }
      collected += reward;
    }
  }
  EXPECT_GT(spawns, 20);
  EXPECT_GT(collected, 0);
}

TEST(Gridworld, EpisodesDoNotDependOnTheOthers) {
  GridworldConfig a = small(0.3), b = small(0.3);
  b.episodes = 9;
  b.test_episodes = 3;
  const diffusion::WorldData wa = gridworld(a), wb = gridworld(b);
  const int64_t n = (a.steps + 1) * a.size * a.size;
  for (int64_t e = 0; e < a.episodes; ++e) {
    EXPECT_EQ(std::memcmp(wa.frame(e, 0), wb.frame(e, 0), size_t(n)), 0) << "episode " << e;
    for (int64_t t = 0; t < a.steps; ++t) EXPECT_EQ(wa.action(e, t), wb.action(e, t));
  }
  b = small(0.3);
  b.seed = 10;
  EXPECT_NE(std::memcmp(wa.frame(0, 0), gridworld(b).frame(0, 0), size_t(n)), 0);
}

TEST(Gridworld, BadSettings) {
  GridworldConfig c = small(0);
  c.cell = 5;  // does not divide 12
  EXPECT_THROW(gridworld(c), UsageError);
  c = small(0);
  c.cell = 12;  // one cell only
  EXPECT_THROW(gridworld(c), UsageError);
  c = small(1.5);
  EXPECT_THROW(gridworld(c), UsageError);
  c = small(0);
  c.test_episodes = 6;
  EXPECT_THROW(gridworld(c), UsageError);
}
