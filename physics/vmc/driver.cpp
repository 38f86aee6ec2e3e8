// The VMC run loop; see driver.hpp.
#include "physics/vmc/driver.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "host/core/error.hpp"
#include "host/core/progress.hpp"
#include "host/core/stop_signal.hpp"
#include "host/dist/comm.hpp"
#include "host/io/ownership.hpp"
#include "physics/vmc/output.hpp"

namespace naqs::vmc {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

VmcResult run_vmc(const VmcConfig& config, const Console& console_in) {
  const double t_start = now_s();
  // MPI ranks (host/dist/comm.hpp): one GPU per rank; only rank 0 speaks (`console`), computes
  // the exact reference, writes the output and the checkpoints. Every rank reads a checkpoint to resume.
  dist::Communicator& comm = dist::world();
  VmcConfig c = apply_preset(config);
  c.device = dist::rank_device(comm, c.device);
  if (!comm.is_root()) c.max_ed_sites = 0;
  const Console console = comm.is_root() ? console_in : Console{};
  Trainer trainer(c);
  VmcResult result;
  result.n_params = trainer.psi().params().size();
  auto say = [&](const std::string& text) { console.say(text); };

  // Not host/io/training_run.hpp's TrainingRun (naqs lm / diffusion train), which has no hooks
  // for what this run needs: under MPI every rank restores and takes part in every checkpoint
  // (the Metropolis chains are gathered) while only rank 0 checks paths, owns the output and
  // writes, with rank 0's run id broadcast; the stop decision is collective (dist::any); the VMC
  // checkpoint adds its own checks (dtype, seed, batch stage); and the output has a second trace
  // (/observables) cut back to the checkpoint's step by its own rule (Output).
  //
  // Ownership (host/io/ownership.hpp), all decided before any work: output and checkpoint are
  // different files in writable directories; a new run creates its output exclusively with a
  // fresh run identity; --resume continues an output only when its identity (settings
  // fingerprint + run id) is the checkpoint's, and refuses anything else with one line.
  ResumeRequest req;
  req.command = "vmc";
  req.output = comm.is_root() ? c.output : "";
  req.checkpoint = c.checkpoint;
  req.resume = c.resume;
  req.check_paths = comm.is_root();
  req.fingerprint = fingerprint_hash(fingerprint_text(c));
  req.steps = c.steps;
  req.restore = [&](std::string* run_id) {
    const int64_t step = trainer.restore(c.checkpoint);
    *run_id = trainer.run_id;
    return step;
  };
  req.say = say;
  const ResumePlan plan = plan_resume(req);
  const int64_t first_step = plan.first_step;
  const bool resumed = plan.resumed, reopen = plan.reopen;
  const bool already_complete = plan.already_complete;
  RunIdentity identity = plan.identity;
  if (comm.size() > 1) {  // every rank writes rank 0's run id into its checkpoint state
    char buf[32] = {};
    if (comm.is_root())
      std::memcpy(buf, identity.run_id.data(), std::min<std::size_t>(32, identity.run_id.size()));
    comm.broadcast_bytes(buf, 32, 0);
    identity.run_id.assign(buf, strnlen(buf, 32));
  }
  trainer.run_id = identity.run_id;
  result.first_step = first_step;

  VmcConfig c_out = c;
  if (!comm.is_root() || already_complete) c_out.output.clear();
  Output out(c_out, trainer, first_step, reopen, identity);  // before ED
  result.exact = exact_reference(trainer.hamiltonian(), c.max_ed_sites, Device::cpu());
  for (const std::string& line : run_header(c, trainer, result.exact, comm)) say(line);

  auto observe = [&](int64_t n_samples, uint64_t stream, bool stoppable = false) {
    ObservableOptions oo;
    if (stoppable) oo.should_stop = [] { return stop_requested(); };
    oo.n_samples = n_samples;
    oo.batch_size = c.minibatch;
    oo.seed = c.seed;
    oo.stream = stream;
    oo.memory_cap_bytes = c.memory_cap_bytes;
    return measure_observables(trainer.psi(), trainer.hamiltonian(), trainer.sampler(), oo);
  };
  auto save = [&](int64_t steps_done) {
    if (c.checkpoint.empty()) return;
    const CheckpointState state = trainer.checkpoint_state(steps_done);  // collective (chains)
    if (comm.is_root()) save_checkpoint(c.checkpoint, state);
  };

  StopSignalGuard signals;
  ProgressOptions po;
  po.label = "vmc";
  po.total = c.steps;
  po.first_step = first_step;
  po.quiet = !console.progress;
  Progress progress(po);
  int64_t s = first_step;
  int64_t last_checkpoint = resumed ? first_step : -1;
  for (; s < c.steps; ++s) {
    StepRecord r;
    try {
      r = trainer.step(s);
    } catch (const UsageError&) {
      throw;
    } catch (const Error& e) {
      out.flush();
      throw Error(cat(e.what(), last_checkpoint >= 0
                                    ? cat("; the last good checkpoint '", c.checkpoint,
                                          "' (step ", last_checkpoint, ") is kept unchanged")
                                    : std::string("; no checkpoint had been written yet")));
    }
    result.trace.push_back(r);
    out.append(r, result.exact);
    progress.update(s + 1, progress_fields(r, result.exact));
    // The step's periodic observables belong to the step: measured before its checkpoint even
    // when a signal asked to stop, so a resumed file has every row an uninterrupted one has.
    if (c.observe_every > 0 && (s + 1) % c.observe_every == 0)
      out.append_observables(
          s + 1, observe(c.observe_samples, kObservableStream + static_cast<uint64_t>(s + 1)));
    const bool stop = dist::any(comm, stop_requested());  // all ranks stop after the same step
    if (stop || (c.checkpoint_every > 0 && (s + 1) % c.checkpoint_every == 0)) {
      save(s + 1);
      if (!c.checkpoint.empty()) last_checkpoint = s + 1;
    }
    if (stop) {
      ++s;
      result.interrupted = true;
      result.stop_signal = stop_signal();
      break;
    }
  }
  result.steps_done = s;
  if (result.interrupted) {
    out.flush();
    progress.finish();
    say(cat("vmc: stopped by signal ", result.stop_signal, " after step ", s,
            (c.checkpoint.empty() ? std::string("; no checkpoint file was configured")
                                  : cat("; checkpoint written to '", c.checkpoint,
                                        "' (continue with --resume)"))));
    result.seconds = now_s() - t_start;
    return result;
  }
  if (last_checkpoint != s) save(s);
  progress.finish();

  // The final measurement: a stop signal during it leaves the run resumable (the checkpoint at
  // the last step is written; --resume measures again, with the same samples).
  bool measured = false;
  try {
    result.observables = observe(c.obs_samples, kObservableStream, /*stoppable=*/true);
    measured = !dist::any(comm, stop_requested());
  } catch (const MeasurementStopped&) {
  }
  if (!measured) {
    out.flush();
    result.interrupted = true;
    result.stop_signal = stop_signal();
    say(cat("vmc: stopped by signal ", result.stop_signal, " during the final measurement",
            c.checkpoint.empty() ? std::string("; no checkpoint file was configured")
                                 : cat("; checkpoint '", c.checkpoint, "' is at step ", s,
                                       " (continue with --resume)")));
    result.seconds = now_s() - t_start;
    return result;
  }
  result.have_observables = true;
  for (const std::string& w : result.observables.warnings)
    console.warn(cat("vmc: warning: ", w));
  out.finish(trainer, result.observables, result.exact);
  result.seconds = now_s() - t_start;
  return result;
}

}  // namespace naqs::vmc
