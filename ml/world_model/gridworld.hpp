// The synthetic gridworld of the Δ-IRIS tests (issue 18): a world where the action alone moves
// an agent, so the next frame follows from (x_t, a_t) and a Δ-tokenizer needs almost no bits
// for it; optional random spawns add what (x_t, a_t) cannot predict.
//
// Frames: H = W = size pixels, a grid of (size / cell)^2 cells of cell x cell pixels on the
// background level kBackgroundLevel (Pong's, ml/diffusion/world_data.hpp). The agent fills its
// cell with kAgentLevel. Actions (5): 0 stay, 1 up, 2 down, 3 left, 4 right, one cell per step;
// a move into the border leaves the agent where it is. Actions are uniform over the 5.
// Spawns (spawn_prob > 0): while no item is on the grid, after each step an item (level
// kItemLevel) appears with probability spawn_prob on a uniformly drawn cell other than the
// agent's; the agent collects it by moving onto it (reward +1, the item is gone from that frame
// on). Rewards are 0 otherwise; terminals all 0 (fixed-length episodes). With spawn_prob = 0
// the world is deterministic given the actions.
// Randomness: Philox (seed, stream = episode, counter): the start cell at counter 0, and for step
// t the action at 1 + 3t, the spawn draw at 2 + 3t and the spawn cell at 3 + 3t, so an episode
// does not depend on the others. The last test_episodes episodes are the test split.
// Tests: tests/unit/test_gridworld.cpp (moves and walls by hand, collection and reward,
// determinism per episode, no change without spawns beyond the agent's cells).
#pragma once
#include <cstdint>

#include "ml/diffusion/world_data.hpp"

namespace naqs::ml::world_model {

struct GridworldConfig {
  int64_t episodes = 32;
  int64_t steps = 32;
  int64_t size = 40;
  int64_t cell = 4;
  double spawn_prob = 0;
  int64_t test_episodes = 4;
  uint64_t seed = 1;
  void validate() const;  // UsageError naming the bad value
};

inline constexpr int32_t kGridActions = 5;
inline constexpr uint8_t kAgentLevel = 236, kItemLevel = 148;

diffusion::WorldData gridworld(const GridworldConfig& c);

}  // namespace naqs::ml::world_model
