#include "host/core/stop_signal.hpp"

#include <pthread.h>
#include <unistd.h>

#include <csignal>

namespace naqs {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
constexpr int kSignals[] = {SIGTERM, SIGUSR1, SIGINT};
int g_depth = 0;  // guards alive (constructed and destroyed on the main thread)
bool g_early = false;  // install_early_stop_handlers() ran (the naqs executable)

void on_stop_signal(int sig) {
  if (g_stop_signal != 0) {
    // A second stop signal: stop at once. Nothing is written; the last checkpoint stays as it
    // is (a checkpoint being written is a temp file that the next run removes).
    static const char msg[] =
        "naqs: second stop signal: stopped at once; the last checkpoint is kept\n";
    ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(kExitStopped);
  }
  g_stop_signal = sig;
}

void install(struct sigaction* previous) {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, previous ? &previous[i] : nullptr);
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kSignals) sigaddset(&set, sig);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace

StopSignalGuard::StopSignalGuard() {
  if (g_depth++ == 0 && !g_early) g_stop_signal = 0;
  install(previous_);
}

StopSignalGuard::~StopSignalGuard() {
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &previous_[i], nullptr);
  --g_depth;
}

void install_early_stop_handlers() {
  g_early = true;
  install(nullptr);
}

void release_early_stop_handlers() {
  if (!g_early) return;
  g_early = false;
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig : kSignals) sigaction(sig, &dfl, nullptr);
  const int pending = g_stop_signal;
  g_stop_signal = 0;
  if (pending != 0) std::raise(pending);  // what it would have done without the early handler
}

bool stop_requested() { return g_stop_signal != 0; }
int stop_signal() { return g_stop_signal; }
void clear_stop_request() { g_stop_signal = 0; }

}  // namespace naqs
