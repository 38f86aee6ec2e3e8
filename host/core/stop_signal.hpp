// Graceful stop on SIGTERM, SIGUSR1 and SIGINT (Slurm preemption, `scancel --signal`, Ctrl-C):
// the handler only sets a flag (async-signal-safe); long loops poll stop_requested() at a safe
// point (the end of a training step), write a checkpoint and return. A second SIGINT while a
// stop is pending restores the default action, so Ctrl-C twice still kills a stuck run.
// StopSignalGuard installs the handlers for its lifetime and restores the previous ones.
// Tests: tests/unit/test_checkpoint.cpp (raise() sets the flag; handlers restored).
#pragma once

namespace naqs {

class StopSignalGuard {
 public:
  StopSignalGuard();   // installs handlers, clears the flag
  ~StopSignalGuard();  // restores the previous handlers
  StopSignalGuard(const StopSignalGuard&) = delete;
  StopSignalGuard& operator=(const StopSignalGuard&) = delete;
};

bool stop_requested();
int stop_signal();          // the signal number that asked to stop (0 if none)
void clear_stop_request();  // for tests

}  // namespace naqs
