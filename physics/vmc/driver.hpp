// The VMC run (DESIGN.md §5, §7): trains a wavefunction (a NAQS model or an RBM, through the
// Wavefunction base class) on a Hamiltonian with samples from a VmcSampler (exact i.i.d.
// autoregressive sampling or Metropolis chains, physics/sampler/sampler.hpp), writes traces,
// checkpoints and final observables with exact references. The rooms: config.hpp (the typed
// configuration, factories, presets, fingerprint), trainer.hpp (the step), output.hpp (HDF5 and
// the console table); this file is the run loop: the --resume plan, the steps, checkpoints,
// signals, the final measurement.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "host/core/console.hpp"
#include "physics/vmc/config.hpp"
#include "physics/vmc/exact_reference.hpp"
#include "physics/vmc/observables.hpp"
#include "physics/vmc/trainer.hpp"

namespace naqs::vmc {

struct VmcResult {
  int64_t steps_done = 0;
  int64_t first_step = 0;          // > 0 when resumed
  bool interrupted = false;        // stopped by a signal after writing a checkpoint
  int stop_signal = 0;
  std::vector<StepRecord> trace;   // the steps run by this invocation
  bool have_observables = false;
  VmcObservables observables;
  ExactReference exact;
  int64_t n_params = 0;
  double seconds = 0;
};

// Runs (or resumes) the whole job. Throws UsageError for bad configs and refused checkpoints,
// Error for failures (non-finite energies included). Its lines (the exact energy, what runs, a
// stop), the progress line and the measurement's warnings go to `console` (on MPI rank 0; silent
// by default: `naqs vmc` passes Console::standard(--quiet)); the results are returned.
VmcResult run_vmc(const VmcConfig& config, const Console& console = {});

}  // namespace naqs::vmc
