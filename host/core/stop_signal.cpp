#include "host/core/stop_signal.hpp"

#include <pthread.h>

#include <csignal>

namespace naqs {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
constexpr int kSignals[] = {SIGTERM, SIGUSR1, SIGINT};
int g_depth = 0;  // guards alive (constructed and destroyed on the main thread)

void on_stop_signal(int sig) {
  if (sig == SIGINT && g_stop_signal != 0) std::signal(SIGINT, SIG_DFL);  // second Ctrl-C
  g_stop_signal = sig;
}

}  // namespace

StopSignalGuard::StopSignalGuard() {
  if (g_depth++ == 0) g_stop_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, &previous_[i]);
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kSignals) sigaddset(&set, sig);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

StopSignalGuard::~StopSignalGuard() {
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &previous_[i], nullptr);
  --g_depth;
}

bool stop_requested() { return g_stop_signal != 0; }
int stop_signal() { return g_stop_signal; }
void clear_stop_request() { g_stop_signal = 0; }

}  // namespace naqs
