// One training run's files; see training_run.hpp.
#include "host/io/training_run.hpp"

#include "host/core/error.hpp"

namespace naqs {

TrainingRun::TrainingRun(TrainingRunSpec spec) : s_(std::move(spec)) {
  NAQS_CHECK(static_cast<bool>(s_.make_checkpoint), "TrainingRun: no make_checkpoint");
  ResumeRequest req;
  req.command = s_.command;
  req.output = s_.output;
  req.checkpoint = s_.checkpoint;
  req.resume = s_.resume;
  req.fingerprint = fingerprint_hash(s_.fingerprint_text);
  req.steps = s_.steps;
  req.restore = [&](std::string* id) {
    Checkpoint ck = checkpoint_at(0);
    load_checkpoint(s_.checkpoint, ck);
    if (s_.restored) s_.restored(ck);
    *id = ck.attr_string("run_id");
    return ck.attr_int("step");
  };
  req.say = s_.say;
  plan_ = plan_resume(req);
  if (s_.output.empty() || plan_.already_complete) return;
  if (!plan_.reopen) {
    // Created whole or not at all, carrying the run identity (a run killed at any instant
    // leaves no output or one that --resume recognises).
    write_new_atomically(s_.output, [&](H5File& f) {
      if (s_.fill_new_output) s_.fill_new_output(f);
      write_run_identity(f, plan_.identity);
    });
  }
  file_ = std::make_unique<H5File>(H5File::open_rw(s_.output));
  trace_ = std::make_unique<H5Trace>(*file_, s_.trace_group, s_.trace_columns);
  NAQS_REQUIRE(trace_->rows() >= plan_.first_step, "output '", s_.output, "' holds ",
               trace_->rows(), " training steps but checkpoint '", s_.checkpoint,
               "' is at step ", plan_.first_step,
               "; it cannot be continued without a gap (left as it is)");
  if (plan_.reopen) {
    file_->set_attr("/", "resumed_at_step", plan_.first_step);
    file_->set_attr("/", "resume_command_line", s_.command_line);
  }
  trace_->truncate_to(plan_.first_step);
  file_->flush();
}

Checkpoint TrainingRun::checkpoint_at(int64_t step) const {
  Checkpoint ck = s_.make_checkpoint();
  ck.attributes.push_back({"step", step});
  ck.attributes.push_back({"run_id", plan_.identity.run_id});
  return ck;
}

void TrainingRun::append(const std::vector<double>& row) {
  if (trace_) trace_->append(row);
}

bool TrainingRun::step_done(int64_t step) {
  const bool stop = stop_requested();
  if (!s_.checkpoint.empty() &&
      (stop || (s_.checkpoint_every > 0 && (step + 1) % s_.checkpoint_every == 0)))
    save_checkpoint(s_.checkpoint, checkpoint_at(step + 1));
  if (stop) {
    signal_ = ::naqs::stop_signal();
    if (file_) file_->flush();
  }
  return stop;
}

void TrainingRun::finish(int64_t steps_done) {
  if (!s_.checkpoint.empty() && !plan_.already_complete && signal_ == 0)
    save_checkpoint(s_.checkpoint, checkpoint_at(steps_done));
  if (file_) file_->flush();
}

std::string TrainingRun::stop_message(const std::string& label, int64_t steps_done) const {
  return cat(label, ": stopped by signal ", signal_, " after step ", steps_done,
             s_.checkpoint.empty() ? std::string("; no checkpoint file was configured")
                                   : cat("; checkpoint written to '", s_.checkpoint,
                                         "' (continue with --resume)"));
}

}  // namespace naqs
