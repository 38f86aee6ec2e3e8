// Episode files and the world model's settings in HDF5; see world_io.hpp.
#include "ml/diffusion/world_io.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "host/core/error.hpp"

namespace naqs::ml::diffusion {
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

std::vector<std::pair<std::string, AttrValue>> model_attributes(const WorldModelConfig& c) {
  const UNetConfig& u = c.unet;
  const Edm& e = c.edm;
  std::string channels;
  for (size_t l = 0; l < u.channels.size(); ++l) channels += cat(l ? "," : "", u.channels[l]);
  return {{"/model:context", u.context},
          {"/model:actions", u.actions},
          {"/model:height", u.height},
          {"/model:width", u.width},
          {"/model:channels", channels},
          {"/model:groups", u.groups},
          {"/model:cond_dim", u.cond_dim},
          {"/model:action_dim", u.action_dim},
          {"/model:noise_features", u.noise_features},
          {"/model:objective", objective_name(e.objective)},
          {"/model:sigma_data", e.sigma_data},
          {"/model:sigma_min", e.sigma_min},
          {"/model:sigma_max", e.sigma_max},
          {"/model:rho", e.rho},
          {"/model:p_mean", e.p_mean},
          {"/model:p_std", e.p_std},
          {"/model:ddpm_timesteps", e.ddpm_timesteps},
          {"/model:beta_1", e.beta_1},
          {"/model:beta_T", e.beta_T},
          {"/model:seed", static_cast<int64_t>(c.seed)}};
}

WorldModelConfig read_model_attributes(const H5File& f) {
  auto get = [&](const std::string& name) {
    NAQS_REQUIRE(f.has_attr("/model", name), "'", f.path(), "' has no /model attribute '", name,
                 "': not a naqs diffusion train output or checkpoint");
    return f.get_attr("/model", name);
  };
  auto i = [&](const char* n) { return std::get<int64_t>(get(n)); };
  auto d = [&](const char* n) { return std::get<double>(get(n)); };
  WorldModelConfig c;
  UNetConfig& u = c.unet;
  u.context = i("context");
  u.actions = i("actions");
  u.height = i("height");
  u.width = i("width");
  u.channels.clear();
  std::stringstream list(std::get<std::string>(get("channels")));
  for (std::string item; std::getline(list, item, ',');) u.channels.push_back(std::stoll(item));
  u.groups = i("groups");
  u.cond_dim = i("cond_dim");
  u.action_dim = i("action_dim");
  u.noise_features = i("noise_features");
  Edm& e = c.edm;
  e.objective = parse_objective(std::get<std::string>(get("objective")));
  e.sigma_data = d("sigma_data");
  e.sigma_min = d("sigma_min");
  e.sigma_max = d("sigma_max");
  e.rho = d("rho");
  e.p_mean = d("p_mean");
  e.p_std = d("p_std");
  e.ddpm_timesteps = i("ddpm_timesteps");
  e.beta_1 = d("beta_1");
  e.beta_T = d("beta_T");
  c.seed = static_cast<uint64_t>(i("seed"));
  c.validate();
  return c;
}

}  // namespace naqs::ml::diffusion
