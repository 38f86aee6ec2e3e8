// The naqs executable: the one place that catches errors, prints one line and exits non-zero
// (2 for bad input, 1 for failures). In a multi-rank MPI run the line names the rank and every
// rank is aborted, so none waits forever in a collective (host/dist/comm.hpp).
#include <cstdio>
#include <exception>

#include "host/cli/command.hpp"
#include "host/core/error.hpp"
#include "host/dist/comm.hpp"

int main(int argc, char** argv) {
  int code = 0;
  try {
    return naqs::run_cli(argc, argv);
  } catch (const naqs::UsageError& e) {
    std::fprintf(stderr, "naqs%s: error: %s\n", naqs::dist::rank_tag().c_str(), e.what());
    code = 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "naqs%s: error: %s\n", naqs::dist::rank_tag().c_str(), e.what());
    code = 1;
  }
  std::fflush(stderr);
  naqs::dist::abort_if_parallel(code);
  return code;
}
