// Bouncing-ball episodes and rollout metrics; see world_data.hpp.
#include "ml/diffusion/world_data.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

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
  NAQS_REQUIRE(test_episodes >= 1 && episodes > test_episodes, "--episodes ", episodes,
               " and --test-episodes ", test_episodes,
               " are not allowed: use at least one test episode and one train episode");
  NAQS_REQUIRE(epsilon >= 0 && epsilon <= 1, "--epsilon ", epsilon,
               " is not allowed: use a probability in [0, 1]");
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
  const int64_t paddle_x = c.size - 1 - kPaddleW;  // the paddle's first column
  const int64_t max_x = paddle_x - kBall;          // the ball's last column before the paddle
  for (int64_t e = 0; e < c.episodes; ++e) {
    (e < c.episodes - c.test_episodes ? w.train_episodes : w.test_episodes)
        .push_back(static_cast<int32_t>(e));
    w.ids.push_back(static_cast<int32_t>(e));
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

namespace {

constexpr const char* kCollectors =
    "scripts/fetch_atari.sh and scripts/collect_pong.py write Pong episodes (bash "
    "scripts/setup.sh runs them); naqs diffusion data writes synthetic bouncing-ball ones";

// The dataset must exist with this element type and these dims (-1: any).
std::vector<int64_t> check_dataset(const H5File& f, const std::string& name,
                                   const std::vector<std::string>& types,
                                   const std::vector<int64_t>& want) {
  NAQS_REQUIRE(f.exists(name), "data file '", f.path(), "' has no dataset ", name, " (",
               kCollectors, ")");
  const std::string t = f.element_type(name);
  bool type_ok = false;
  std::string allowed;
  for (const std::string& a : types) {
    type_ok = type_ok || t == a;
    allowed += (allowed.empty() ? "" : " or ") + a;
  }
  NAQS_REQUIRE(type_ok, "data file '", f.path(), "': dataset ", name, " is ", t, ", not ",
               allowed);
  const std::vector<int64_t> dims = f.dims(name);
  bool shape_ok = dims.size() == want.size();
  for (size_t i = 0; shape_ok && i < dims.size(); ++i)
    shape_ok = want[i] < 0 || dims[i] == want[i];
  if (!shape_ok) {
    std::string got, w;
    for (size_t i = 0; i < dims.size(); ++i) got += cat(i ? ", " : "", dims[i]);
    for (size_t i = 0; i < want.size(); ++i)
      w += i ? ", " : "", w += want[i] < 0 ? std::string("*") : cat(want[i]);
    throw UsageError(cat("data file '", f.path(), "': dataset ", name, " has shape (", got,
                         "), expected (", w, ")"));
  }
  return dims;
}

}  // namespace

WorldData read_world_data(const std::string& path, Split split) {
  NAQS_REQUIRE(!path.empty(), "--data is empty: name an episodes file (", kCollectors, ")");
  std::FILE* probe = std::fopen(path.c_str(), "rb");
  NAQS_REQUIRE(probe != nullptr, "data file '", path, "' cannot be read (", kCollectors, ")");
  std::fclose(probe);
  const H5File f = H5File::open_read(path);
  const std::vector<int64_t> fd = check_dataset(f, "/frames", {"uint8"}, {-1, -1, -1, -1});
  const int64_t E = fd[0], T = fd[1] - 1;
  NAQS_REQUIRE(E >= 1 && T >= 1, "data file '", path, "': /frames holds ", E, " episodes of ",
               fd[1], " frames; need at least one episode of two frames");
  check_dataset(f, "/actions", {"int32"}, {E, T});
  check_dataset(f, "/rewards", {"float32", "float64"}, {E, T});
  check_dataset(f, "/terminals", {"uint8"}, {E, T});
  const int64_t A = check_dataset(f, "/action_names", {"string"}, {-1})[0];
  NAQS_REQUIRE(A >= 1, "data file '", path, "': /action_names is empty");
  WorldData w;
  w.steps = T;
  w.height = fd[2];
  w.width = fd[3];
  w.actions_count = A;
  std::vector<int32_t> split_ids[2];
  const char* split_names[2] = {"/train_episodes", "/test_episodes"};
  for (int s = 0; s < 2; ++s) {
    check_dataset(f, split_names[s], {"int32", "int64"}, {-1});
    for (int64_t id : f.read_int64s(split_names[s])) {
      NAQS_REQUIRE(id >= 0 && id < E, "data file '", path, "': ", split_names[s], " names episode ",
                   id, ", outside 0..", E - 1);
      split_ids[s].push_back(static_cast<int32_t>(id));
    }
  }
  std::vector<int32_t> take;
  for (int32_t e = 0; e < E; ++e) {
    const bool in_train = std::count(split_ids[0].begin(), split_ids[0].end(), e) > 0;
    const bool in_test = std::count(split_ids[1].begin(), split_ids[1].end(), e) > 0;
    if (split == Split::all || (split == Split::train && in_train) ||
        (split == Split::test && in_test)) {
      (in_test ? w.test_episodes : w.train_episodes).push_back(static_cast<int32_t>(take.size()));
      take.push_back(e);
    }
  }
  NAQS_REQUIRE(!take.empty(), "data file '", path, "' has no ",
               split == Split::train ? "train" : "test", " episodes");
  w.episodes = static_cast<int64_t>(take.size());
  w.ids = take;
  const int64_t P = w.frame_size();
  w.frames.resize(static_cast<size_t>(w.episodes * (T + 1) * P));
  w.actions.resize(static_cast<size_t>(w.episodes * T));
  w.rewards.resize(w.actions.size());
  w.terminals.resize(w.actions.size());
  for (int64_t i = 0; i < w.episodes; ++i) {
    const int64_t e = take[i];
    const std::vector<uint8_t> fr = f.read_u8_block("/frames", {e, 0, 0, 0}, {1, T + 1, w.height, w.width});
    std::copy(fr.begin(), fr.end(), w.frames.begin() + i * (T + 1) * P);
    const std::vector<int32_t> a = f.read_i32_block("/actions", {e, 0}, {1, T});
    for (int64_t t = 0; t < T; ++t)
      NAQS_REQUIRE(a[t] >= 0 && a[t] < A, "data file '", path, "': /actions[", e, ", ", t,
                   "] = ", a[t], " is outside 0..", A - 1, " (/action_names has ", A, ")");
    std::copy(a.begin(), a.end(), w.actions.begin() + i * T);
    Tensor r = Tensor::empty({T}, DType::f32);
    f.read_block("/rewards", {e, 0}, {1, T}, r);
    const std::vector<float> rv = r.to_vector<float>();
    std::copy(rv.begin(), rv.end(), w.rewards.begin() + i * T);
    const std::vector<uint8_t> tv = f.read_u8_block("/terminals", {e, 0}, {1, T});
    std::copy(tv.begin(), tv.end(), w.terminals.begin() + i * T);
  }
  return w;
}

void write_world_data(H5File& f, const WorldData& d) {
  const int64_t E = d.episodes, T = d.steps;
  f.write_u8("/frames", d.frames, {E, T + 1, d.height, d.width});
  f.write_i32("/actions", d.actions, {E, T});
  f.write_dataset("/rewards", d.rewards, {E, T});
  f.write_u8("/terminals", d.terminals, {E, T});
  f.write_strings("/action_names", d.action_names);
  // the held episodes become /frames rows 0..E-1, so the split indices are their ids
  f.write_i32("/train_episodes", d.train_episodes,
              {static_cast<int64_t>(d.train_episodes.size())});
  f.write_i32("/test_episodes", d.test_episodes, {static_cast<int64_t>(d.test_episodes.size())});
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
