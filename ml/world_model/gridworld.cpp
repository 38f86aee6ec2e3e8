// The synthetic gridworld; see gridworld.hpp.
#include "ml/world_model/gridworld.hpp"

#include <algorithm>
#include <cstring>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"

namespace naqs::ml::world_model {
namespace {

// A draw in [0, n) from Philox (seed, stream, counter).
int64_t below(uint64_t seed, uint64_t stream, uint64_t counter, int64_t n) {
  return std::min(n - 1, int64_t(philox_uniform_f64(seed, stream, counter) * double(n)));
}

void fill_cell(uint8_t* frame, int64_t size, int64_t cell, int64_t index, uint8_t level) {
  const int64_t cells = size / cell, r0 = (index / cells) * cell, c0 = (index % cells) * cell;
  for (int64_t r = r0; r < r0 + cell; ++r) std::memset(frame + r * size + c0, level, size_t(cell));
}

}  // namespace

void GridworldConfig::validate() const {
  NAQS_REQUIRE(size >= 4 && size <= 256, "--size ", size, " is not allowed: use 4 to 256 pixels");
  NAQS_REQUIRE(cell >= 1 && size % cell == 0 && size / cell >= 2, "--cell ", cell,
               " is not allowed: use a divisor of --size ", size, " that leaves at least 2 cells");
  NAQS_REQUIRE(steps >= 1, "--steps ", steps, " is not allowed: use at least 1");
  diffusion::check_split(episodes, test_episodes);
  NAQS_REQUIRE(spawn_prob >= 0 && spawn_prob <= 1, "--spawn-prob ", spawn_prob,
               " is not allowed: use a probability in [0, 1]");
}

diffusion::WorldData gridworld(const GridworldConfig& c) {
  c.validate();
  diffusion::WorldData w;
  w.episodes = c.episodes;
  w.steps = c.steps;
  w.height = w.width = c.size;
  w.actions_count = kGridActions;
  w.action_names = {"STAY", "UP", "DOWN", "LEFT", "RIGHT"};
  const int64_t n = c.size * c.size, cells = c.size / c.cell;
  w.frames.assign(size_t(c.episodes * (c.steps + 1) * n), diffusion::kBackgroundLevel);
  w.actions.resize(size_t(c.episodes * c.steps));
  w.rewards.assign(w.actions.size(), 0.0f);
  w.terminals.assign(w.actions.size(), 0);
  diffusion::split_last_for_test(w, c.test_episodes);
  for (int64_t e = 0; e < c.episodes; ++e) {
    const uint64_t stream = uint64_t(e);
    int64_t row, col, item = -1;  // item: its cell index, -1 when none
    {
      const int64_t start = below(c.seed, stream, 0, cells * cells);
      row = start / cells;
      col = start % cells;
    }
    uint8_t* frame = &w.frames[size_t(e * (c.steps + 1) * n)];
    fill_cell(frame, c.size, c.cell, row * cells + col, kAgentLevel);
    for (int64_t t = 0; t < c.steps; ++t) {
      const uint64_t k = 1 + 3 * uint64_t(t);
      const int32_t a = int32_t(below(c.seed, stream, k, kGridActions));
      w.actions[size_t(e * c.steps + t)] = a;
      const int64_t dr = a == 1 ? -1 : a == 2 ? 1 : 0, dc = a == 3 ? -1 : a == 4 ? 1 : 0;
      if (row + dr >= 0 && row + dr < cells) row += dr;
      if (col + dc >= 0 && col + dc < cells) col += dc;
      const int64_t agent = row * cells + col;
      if (agent == item) {
        w.rewards[size_t(e * c.steps + t)] = 1.0f;
        item = -1;
      }
      const bool spawn =
          c.spawn_prob > 0 && philox_uniform_f64(c.seed, stream, k + 1) < c.spawn_prob;
      if (item < 0 && spawn) {
        item = below(c.seed, stream, k + 2, cells * cells - 1);  // a cell other than the agent's
        if (item >= agent) ++item;
      }
      frame += n;
      if (item >= 0) fill_cell(frame, c.size, c.cell, item, kItemLevel);
      fill_cell(frame, c.size, c.cell, agent, kAgentLevel);
    }
  }
  return w;
}

}  // namespace naqs::ml::world_model
