// The option declarations shared by `naqs vmc` and `naqs sweep`, declared once and read into the
// same config struct (vmc::VmcConfig), so both commands (and their INI files, --config) accept
// the same names with the same meaning. Groups, each an add_* (declare, with the defaults taken
// from a VmcConfig) and a read_* (fill a VmcConfig from the parsed values):
//   system    --lattice --L --Ly --boundary --J --hz --sz-zero; for `vmc` (OptionUse::vmc) also
//             --hamiltonian --h --delta --marshall (a sweep is over h of the TFIM: its --h is
//             the list of fields, parsed by the sweep, and the Heisenberg options have no field)
//   model     --alpha --network --preset --width --depth --kernel --dilations --activation
//             --phase --dtype --init-scale; for `vmc` also --model (a sweep's methods pick it)
//   sampler   --mc-chains --mc-burn-in --mc-sweeps --mc-global-flip; for `vmc` also --sampler
//   training  --steps --batch --minibatch --optimizer --lr --lr-schedule --beta1 --beta2
//             --adam-eps --momentum --diag-shift --cg-iters --cg-rtol --seed --device
//             --memory-cap-mb
//   run       --checkpoint-every --obs-samples --observe-every --observe-samples --ed-max-sites
//             --quiet (`vmc` adds its output file options itself; a sweep names its files)
// read_* reads only the options the matching add_* declared and throws UsageError (exit 2) for
// malformed values it can check alone (boundary, optimiser, dilations, counts); everything else
// is checked where the config is used (vmc::run_vmc, workflow::validate_spec).
// Tests: tests/unit/test_cli.cpp (VmcModelOptions), tests/unit/test_sweep.cpp
// (SweepAcceptsEveryPerFieldVmcOption).
#pragma once
#include "host/cli/command.hpp"
#include "physics/vmc/driver.hpp"

namespace naqs::cli {

enum class OptionUse { vmc, sweep };

void add_system_options(po::options_description& desc, const vmc::VmcConfig& d, OptionUse use);
void add_model_options(po::options_description& desc, const vmc::VmcConfig& d, OptionUse use);
void add_sampler_options(po::options_description& desc, const vmc::VmcConfig& d, OptionUse use);
void add_training_options(po::options_description& desc, const vmc::VmcConfig& d);
void add_run_options(po::options_description& desc, const vmc::VmcConfig& d);

// Every group above, in that order.
void add_vmc_options(po::options_description& desc, const vmc::VmcConfig& d, OptionUse use);
// Fills every option add_vmc_options declared for `use` into c (the others keep c's values).
void read_vmc_options(const po::variables_map& vm, OptionUse use, vmc::VmcConfig& c);

}  // namespace naqs::cli
