#include "physics/vmc/checkpoint.hpp"

#include "host/core/error.hpp"

namespace naqs::vmc {
namespace {

constexpr const char* kKind = "naqs-vmc-checkpoint";
constexpr const char* kSamplerCounter = "/sampler:counter";

// The generic checkpoint of `s`, sharing its tensors (so a load restores into them). The
// sampler's tensors are stored flattened.
Checkpoint to_generic(const CheckpointState& s) {
  Checkpoint c;
  c.kind = kKind;
  c.version = 1;
  c.fingerprint_text = s.fingerprint_text;
  c.texts.push_back({"/layout", s.layout_text, "parameter layout"});
  c.attributes = {{"step", s.step},
                  {"batch_stage", s.batch_stage},
                  {"seed", static_cast<int64_t>(s.seed)},
                  {"optimizer_steps", s.optimizer_steps},
                  {"param_dtype", std::string(dtype_name(s.params.dtype()))},
                  {"n_params", s.params.numel()},
                  {"run_id", s.run_id}};
  c.tensors.emplace_back("/params", s.params);
  for (const auto& [name, t] : s.optimizer_state) c.tensors.emplace_back("/optimizer/" + name, t);
  for (const auto& [name, t] : s.sampler_state)
    c.tensors.emplace_back("/sampler/" + name, t.reshape({-1}));
  if (!s.sampler_state.empty())
    c.attributes.emplace_back(kSamplerCounter, static_cast<int64_t>(s.sampler_counter));
  return c;
}

}  // namespace

void save_checkpoint(const std::string& path, const CheckpointState& s) {
  check_defined("save_checkpoint", s.params, "params");
  naqs::save_checkpoint(path, to_generic(s));
}

void load_checkpoint(const std::string& path, CheckpointState& into) {
  Checkpoint c = to_generic(into);
  naqs::load_checkpoint(path, c, [&](const Checkpoint& file) {
    const std::string dtype = file.attr_string("param_dtype");
    NAQS_REQUIRE(dtype == dtype_name(into.params.dtype()), "parameters are ", dtype,
                 ", this run uses ", dtype_name(into.params.dtype()));
    const int64_t seed = file.attr_int("seed");
    NAQS_REQUIRE(static_cast<uint64_t>(seed) == into.seed, "seed ", seed, ", this run ",
                 into.seed);
    const int64_t step = file.attr_int("step");
    NAQS_REQUIRE(step >= 0, "negative step ", step);
    if (!into.sampler_state.empty())
      NAQS_REQUIRE(file.attr_int(kSamplerCounter) >= 0, "bad /sampler counter");
  });
  into.step = c.attr_int("step");
  into.batch_stage = c.attr_int("batch_stage");
  into.optimizer_steps = c.attr_int("optimizer_steps");
  into.run_id = c.attr_string("run_id");
  if (!into.sampler_state.empty())
    into.sampler_counter = static_cast<uint64_t>(c.attr_int(kSamplerCounter));
}

}  // namespace naqs::vmc
