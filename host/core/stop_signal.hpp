// Graceful stop on SIGTERM, SIGUSR1 and SIGINT (Slurm preemption, `scancel --signal`, Ctrl-C):
// the handler only sets a flag (async-signal-safe); long loops poll stop_requested() at a safe
// point (the end of a training step), write a checkpoint and return (naqs exits 3). A second
// of these signals while a stop is pending stops the process at once (_exit(kExitStopped) = 3,
// one line on stderr, nothing written; the last checkpoint is kept, a half-written one is a
// temp file the next run removes). docs/VMC.md "Signals" states the whole rule.
// The naqs executable installs the handlers before anything else of its own runs
// (install_early_stop_handlers from a constructor in apps/main.cpp); run_cli keeps them for
// commands with Command::stop_signals and otherwise gives the signals their default action back
// (release_early_stop_handlers: a signal caught meanwhile is re-raised).
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

constexpr int kExitStopped = 3;  // exit status of a run stopped by a signal (resumable)

// Process-wide handlers from the first instant (the executable's constructor); guards then do
// not clear a signal caught before them.
void install_early_stop_handlers();
// Default actions back; a signal caught since install_early_stop_handlers is re-raised.
void release_early_stop_handlers();

bool stop_requested();
int stop_signal();          // the signal number that asked to stop (0 if none)
void clear_stop_request();  // for tests

}  // namespace naqs
