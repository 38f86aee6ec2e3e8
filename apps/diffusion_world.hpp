// The world-model actions of naqs diffusion (apps/diffusion_world.cpp): data, train, rollout.
// Option table and dispatch: apps/cmd_diffusion.cpp.
#pragma once
#include "host/cli/command.hpp"

namespace naqs::apps {

void world_options(po::options_description& desc);
int world_data_run(const CommandContext& ctx);
int world_train_run(const CommandContext& ctx);
int world_rollout_run(const CommandContext& ctx);

}  // namespace naqs::apps
