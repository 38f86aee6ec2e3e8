// Graceful stop on SIGTERM, SIGUSR1 and SIGINT (Slurm preemption, `scancel --signal`, Ctrl-C):
// the handler only sets a flag (async-signal-safe); long loops poll stop_requested() at a safe
// point (the end of a training step), write a checkpoint and return. A second SIGINT while a
// stop is pending restores the default action, so Ctrl-C twice still kills a stuck run.
// StopSignalGuard installs the handlers for its lifetime (and unblocks the three signals, so one
// that arrived while they were blocked, even before exec, is delivered now) and restores the
// previous handlers. Guards nest: only the outermost clears the flag, so a signal that arrives
// after `naqs vmc` / `naqs sweep` installed theirs at process start (host/cli/command.hpp,
// Command::stop_signals) is never lost when a library routine (the VMC driver, the sweep)
// installs its own; an inner guard re-installs the handler (a library initialised in between,
// MPI for one, may have replaced it).
// Tests: tests/unit/test_checkpoint.cpp (raise() sets the flag; nesting keeps it; handlers
// restored), tests/unit/test_cli.cpp (a signal pending at exec stops `naqs vmc` after one step).
#pragma once
#include <csignal>

namespace naqs {

class StopSignalGuard {
 public:
  StopSignalGuard();   // installs handlers; the outermost guard clears the flag
  ~StopSignalGuard();  // restores the previous handlers
  StopSignalGuard(const StopSignalGuard&) = delete;
  StopSignalGuard& operator=(const StopSignalGuard&) = delete;

 private:
  struct sigaction previous_[3];  // SIGTERM, SIGUSR1, SIGINT before this guard
};

bool stop_requested();
int stop_signal();          // the signal number that asked to stop (0 if none)
void clear_stop_request();  // for tests

}  // namespace naqs
