// Files of the diffusion world model (kept apart from world_data / world_model so the GPU-only
// build, which has no HDF5, still has the models): episode files and the model's settings.
// Episode files (docs/HDF5_LAYOUT.md "Bulk u8 / i32 data"): /frames, /actions, /rewards,
// /terminals, /action_names (strings; their count is the number of actions), /train_episodes,
// /test_episodes (i32 ids), as scripts/collect_pong.py writes them; write_world_data() writes
// the same (frames chunked per episode and deflated). read_world_data() reads one split's
// episodes only (hyperslabs of /frames, /actions, ... per episode), checking every dataset's
// presence, type and shape and every action id (UsageError naming the dataset and the index; a
// missing file names the collector). A WorldData read that way holds those episodes in file
// order, ids[i] the file's id of episode i.
// Tests: tests/unit/test_cmd_diffusion_world.cpp (through the commands: layouts, every bad file).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "host/io/hdf5.hpp"
#include "ml/diffusion/world_data.hpp"
#include "ml/diffusion/world_model.hpp"

namespace naqs::ml::diffusion {

enum class Split { train, test, all };
WorldData read_world_data(const std::string& path, Split split);
// Writes the layout above into f (the caller adds provenance and attributes).
void write_world_data(H5File& f, const WorldData& d);

// The model's settings as attributes of the group "/model" ("/model:name" pairs, the form of
// host/io/checkpoint.hpp's attributes; H5File::set_attr takes them split), and back from a file
// holding them (a train output or checkpoint); a missing attribute is a UsageError naming it.
std::vector<std::pair<std::string, AttrValue>> model_attributes(const WorldModelConfig& c);
WorldModelConfig read_model_attributes(const H5File& f);

}  // namespace naqs::ml::diffusion
