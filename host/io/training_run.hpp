// The files of one training run, for every trainer that writes an output and a checkpoint
// (naqs lm train, naqs diffusion train): the --resume plan (plan_resume, host/io/ownership.hpp),
// the output created whole with its run identity (or reopened and truncated to the checkpoint's
// step), its per-step trace, the checkpoint cadence and the graceful stop on a signal
// (host/core/stop_signal.hpp). The trainer keeps its model, optimiser and loop; this class
// keeps the file rules in one place.
//
//   TrainingRunSpec s;  s.command = "lm";  s.output = ...;  s.checkpoint = ...;
//   s.make_checkpoint = [&] { Checkpoint ck; ck.kind = ...; ck.tensors = ...; return ck; };
//   s.restored = [&](const Checkpoint& ck) { opt.set_steps_taken(ck.attr_int("step")); };
//   s.fill_new_output = [&](H5File& f) { write_provenance(f, ...); ... };
//   TrainingRun run(s);                      // plans, restores, opens the output
//   for (int64_t step = run.first_step(); step < steps; ++step) {
//     ...;  run.append({double(step), loss, ...});
//     if (run.step_done(step)) break;        // a stop signal: checkpoint written
//   }
//   run.finish(steps_done);                  // the final checkpoint
//
// Checkpoints: make_checkpoint() gives the trainer's state (kind, version, fingerprint text,
// texts, tensors, attributes); the run adds the attributes "step" and "run_id". A checkpoint is
// written after step s (0-based) when (s + 1) % checkpoint_every == 0, when a stop signal is
// pending, and by finish(). Rows are appended before the checkpoint of their step, so an output
// holds at least the checkpoint's step rows; fewer is refused (it cannot continue without a gap).
// Tests: tests/unit/test_lm_train.cpp and tests/unit/test_world_model_cmd.cpp run the rules
// through the two trainers (resume bitwise, refusals, stop and continue).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "host/core/stop_signal.hpp"
#include "host/io/checkpoint.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"

namespace naqs {

struct TrainingRunSpec {
  std::string command;     // "lm", "diffusion": the file kind in refusals
  std::string output;      // "" = no output
  std::string checkpoint;  // "" = no checkpoint
  bool resume = false;
  std::string command_line;      // recorded as resume_command_line when an output is continued
  std::string fingerprint_text;  // the settings that must match to resume
  int64_t steps = 0;
  int64_t checkpoint_every = 0;  // 0: only on a stop and at the end
  std::string trace_group = "/train";
  std::vector<std::string> trace_columns;
  std::function<Checkpoint()> make_checkpoint;
  std::function<void(const Checkpoint&)> restored;  // after a checkpoint was loaded into it
  std::function<void(H5File&)> fill_new_output;     // provenance, model, ... of a new output
  std::function<void(const std::string&)> say;      // progress lines (may be empty)
};

class TrainingRun {
 public:
  explicit TrainingRun(TrainingRunSpec spec);
  TrainingRun(const TrainingRun&) = delete;
  TrainingRun& operator=(const TrainingRun&) = delete;

  int64_t first_step() const { return plan_.first_step; }
  bool already_complete() const { return plan_.already_complete; }
  const ResumePlan& plan() const { return plan_; }
  H5File* output() { return file_.get(); }  // null without an output or when complete

  void append(const std::vector<double>& row);  // a trace row (no-op without an output)
  // Step `step` (0-based) is done: writes the checkpoint on cadence or when a stop signal is
  // pending; returns true when the run must stop (the signal).
  bool step_done(int64_t step);
  int stop_signal() const { return signal_; }
  // The final checkpoint after `steps_done` steps (not for a finished run, nor after a stop,
  // whose checkpoint step_done wrote); flushes the output.
  void finish(int64_t steps_done);
  // The line for a stopped run ("stopped by signal 15 after step 40; checkpoint written to ...").
  std::string stop_message(const std::string& label, int64_t steps_done) const;

 private:
  Checkpoint checkpoint_at(int64_t step) const;

  TrainingRunSpec s_;
  ResumePlan plan_;
  StopSignalGuard signals_;
  std::unique_ptr<H5File> file_;
  std::unique_ptr<H5Trace> trace_;
  int signal_ = 0;
};

}  // namespace naqs
