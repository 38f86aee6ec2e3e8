// Transverse-field sweeps (DESIGN.md §7, docs/SWEEP.md): one task per field h, each running the
// requested methods on the TFIM at that h and writing ONE HDF5 file per task.
//
//   directory/
//     sweep.h5                      manifest: the sweep's definition (fingerprint, h per task,
//                                   file names); written once, atomically; later tasks and
//                                   `naqs collect` check against it
//     task-0003_h1.h5               one per finished task, written atomically with `complete`
//                                   = 1 set last, so it either does not exist or is complete
//     work/task-0003/<method>.h5    a VMC method's own output and checkpoint while the task
//     work/task-0003/<method>.ckpt  runs (a killed task resumes from them); removed when the
//     work/task-0003/<method>.seconds  task file has been written; .seconds: the method's
//                                   seconds summed over the task's attempts
//
// Methods: naqs (the NAQS with exact autoregressive samples) and mcmc (an RBM with Metropolis
// samples), both trained by the VMC driver (physics/vmc/driver.hpp) with the same optimiser
// settings, and ed (the exact reference, Lanczos / closed form, physics/vmc/exact_reference.hpp).
// Every task computes the exact reference once (when the system is small enough) and stores
// every method's relative errors against it.
//
// Tasks are idempotent: a task whose file exists (and belongs to this sweep) is skipped; a task
// killed by SIGTERM/SIGUSR1/SIGINT stops after the current VMC step with a checkpoint, and
// running it again resumes from there (the VMC driver's --resume). A local sweep (all tasks in
// order) warm-starts each VMC method from the previous task's trained parameters; a task of a
// Slurm array (run_sweep_task alone) starts cold, so tasks stay independent.
// Seeds: task k uses seed + k for every VMC method.
// Tests: tests/unit/test_sweep.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "physics/vmc/driver.hpp"

namespace naqs::workflow {

enum class SweepMethod { naqs, mcmc, ed };
const char* method_name(SweepMethod m);
// "naqs,mcmc,ed" (any order, no repeats); UsageError naming the bad item otherwise.
std::vector<SweepMethod> parse_methods(const std::string& text);
std::string join_methods(const std::vector<SweepMethod>& methods);
bool is_vmc_method(SweepMethod m);

struct SweepSpec {
  vmc::VmcConfig base;           // system and training options (base.h, output, checkpoint,
                                 // resume, seed offset and init_parameters are set per task)
  std::vector<double> h_values;  // one task per value, in this order
  std::vector<SweepMethod> methods;
  std::string dir;               // the sweep directory
  int64_t warm_steps = -1;       // steps of a warm-started VMC run (-1: base.steps)
  std::string warm_batch;        // batch schedule of a warm-started run ("": base.batch_schedule)
  bool warm_start = true;        // local sweeps: start from the previous task's parameters
  int ed_max_sites = 20;         // exact reference by ED up to this many sites (0: never)
  std::string command_line, config_text;  // provenance
};

// Validates the spec without touching the file system (UsageError naming what is wrong).
void validate_spec(const SweepSpec& spec);

int64_t n_tasks(const SweepSpec& spec);
// "task-0003_h0.75.h5": index (4 digits, more if needed) and h (%.10g).
std::string task_file_name(int64_t task, double h);
// Canonical text of everything that changes a task's result (not the directory).
std::string sweep_fingerprint_text(const SweepSpec& spec);

enum class TaskState { complete, partial, missing };
const char* task_state_name(TaskState s);
struct TaskInfo {
  int64_t index = 0;
  double h = 0;
  std::string file;  // name inside the sweep directory
  TaskState state = TaskState::missing;
};
// Every task with its state in the directory (partial: work files of a started task).
std::vector<TaskInfo> list_tasks(const SweepSpec& spec);

// Creates the directory if needed and writes the manifest, or checks an existing one: a
// directory holding another sweep is refused (UsageError listing the differing settings).
void prepare_sweep_dir(const SweepSpec& spec);

enum class TaskOutcome { ran, skipped, interrupted };
struct TaskResult {
  TaskOutcome outcome = TaskOutcome::ran;
  std::string path;  // the task file
  double seconds = 0;
};

// Runs task `task` (0-based) into the prepared directory. `warm_from`, when non-empty, is the
// path of a complete task file whose trained parameters start every VMC method. Returns
// `interrupted` when a stop signal arrived (a checkpoint was written; run again to resume).
// A task file that exists but is not a complete result of this sweep is refused, never
// overwritten. Its lines, the VMC runs' lines and warnings go to `console` (silent by default;
// `naqs sweep` passes Console::standard(--quiet)).
TaskResult run_sweep_task(const SweepSpec& spec, int64_t task, const std::string& warm_from = "",
                          const Console& console = {});

struct SweepRunSummary {
  int64_t ran = 0, skipped = 0;
  bool interrupted = false;
  double seconds = 0;
};
// All tasks in order (warm starts as described above); stops at the first interruption.
SweepRunSummary run_sweep_local(const SweepSpec& spec, const Console& console = {});

// The observables every task stores per method (results/<q>_mean, _err, _rel_err) and the
// collected table's observable axis, in this order: the rows of vmc::observable_table()
// (physics/vmc/observable_table.hpp) marked `sweep`.
const std::vector<std::string>& sweep_observables();

}  // namespace naqs::workflow
