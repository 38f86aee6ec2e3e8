// VMC checkpoints: everything a killed run needs to continue bit for bit (DESIGN.md §7).
//
// The VMC state mapped onto the generic checkpoint of host/io/checkpoint.hpp (one HDF5 file,
// replaced atomically, loaded all-or-nothing):
//   attributes on "/":
//     kind = "naqs-vmc-checkpoint", checkpoint_version = 1
//     step            int64   steps completed; the resumed run starts with this step
//     batch_stage     int64   index of the batch-schedule stage `step` falls in
//     seed            int64   the run's Philox key; sampling randomness is keyed by
//                             (seed, stream = step, index = global sample index), so (seed, step)
//                             are the complete RNG counters
//     optimizer_steps int64   the optimiser's step counter t (Adam bias correction)
//     fingerprint     string  FNV-1a 64 of the fingerprint text, hex
//     param_dtype     string  "f32" | "f64";  n_params int64
//     run_id          string  the run identity of the output this checkpoint belongs to
//                             (host/io/ownership.hpp); --resume refuses an output with another
//     written_utc     string
//   datasets:
//     /fingerprint_text  string  canonical "key = value" lines of the model, system, optimiser,
//                                batch schedule and seed (what must match to resume)
//     /layout            string  the parameter layout table (ParameterSet::layout_text())
//     /params            (P)     the flat parameters in their own dtype (bit-exact); every
//                                tensor dataset carries a "dtype" attribute
//     /optimizer/<name>  (P)     optimiser state tensors ("adam.m", "adam.v", "sgd.velocity")
//     /sampler/<name>            Metropolis runs: sampler state tensors, flattened ("chains":
//                                the (C,N) chain configurations in the model dtype), with the
//                                attribute /sampler counter (int64, the Philox step counter)
//
// Loading is strict: a file that cannot be read, is not a checkpoint, or whose fingerprint,
// layout, dtype or tensor sizes differ from the run's is refused with a UsageError naming the
// file and what differs (the differing fingerprint lines are quoted). A refused file is never
// written to: the caller stops before its first checkpoint.
// Tests: tests/unit/test_checkpoint.cpp (round trip bit-exact in f32 and f64, corrupt file,
// fingerprint and layout mismatches, truncated file).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "host/core/tensor.hpp"
#include "host/io/checkpoint.hpp"  // fingerprint_hash, describe_fingerprint_difference

namespace naqs::vmc {

struct CheckpointState {
  int64_t step = 0;
  int64_t batch_stage = 0;
  uint64_t seed = 0;
  int64_t optimizer_steps = 0;
  std::string fingerprint_text;  // see above
  std::string layout_text;
  Tensor params;                                          // (P), any device
  std::vector<std::pair<std::string, Tensor>> optimizer_state;  // (P) each
  std::vector<std::pair<std::string, Tensor>> sampler_state;    // empty for exact sampling
  uint64_t sampler_counter = 0;
  // The run identity shared with the output file (host/io/ownership.hpp): on load, the file's.
  std::string run_id;
};

void save_checkpoint(const std::string& path, const CheckpointState& state);

// Reads `path` into `into`: `into` carries the run's fingerprint_text, layout_text, seed and
// allocated params / optimizer_state / sampler_state tensors (right shape, dtype, device); they
// are checked against the file and then overwritten with its contents (step, batch_stage,
// optimizer_steps, sampler_counter too). Throws UsageError naming the file and the mismatch.
void load_checkpoint(const std::string& path, CheckpointState& into);

}  // namespace naqs::vmc
