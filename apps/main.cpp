// The naqs executable: the one place that catches errors, prints one line and exits non-zero
// (2 for bad input, 1 for failures). In a multi-rank MPI run the line names the rank and every
// rank is aborted, so none waits forever in a collective (host/dist/comm.hpp).
#include <cstdio>
#include <exception>
#include <filesystem>

#include "host/cli/command.hpp"
#include "host/core/error.hpp"
#include "host/core/error_text.hpp"
#include "host/core/stop_signal.hpp"
#include "host/dist/comm.hpp"

// Stop signals are caught from the first instant the executable's own code runs (before the
// other static initialisers and before main; the shared libraries the loader maps before that
// are listed in docs/VMC.md "Signals"). run_cli keeps them for the commands that stop
// gracefully and restores the default action for the others.
__attribute__((constructor(101))) static void naqs_early_signals() {
  naqs::install_early_stop_handlers();
}

int main(int argc, char** argv) {
  int code = 0;
  try {
    return naqs::run_cli(argc, argv);
  } catch (const naqs::UsageError& e) {
    // About the user's input: one plain line, no source locations of quoted library errors.
    std::fprintf(stderr, "naqs%s: error: %s\n", naqs::dist::rank_tag().c_str(),
                 naqs::strip_source_locations(e.what()).c_str());
    code = 2;
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the user gave (a symlink loop, a permission): the path and the reason, exit 2.
    std::fprintf(stderr, "naqs%s: error: '%s': %s\n", naqs::dist::rank_tag().c_str(),
                 e.path1().string().c_str(), e.code().message().c_str());
    code = 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "naqs%s: error: %s\n", naqs::dist::rank_tag().c_str(), e.what());
    code = 1;
  }
  std::fflush(stderr);
  naqs::dist::abort_if_parallel(code);
  return code;
}
