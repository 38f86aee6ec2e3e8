// The naqs executable: the one place that catches errors, prints one line and exits non-zero
// (2 for bad input, 1 for failures).
#include <cstdio>
#include <exception>

#include "host/cli/command.hpp"
#include "host/core/error.hpp"

int main(int argc, char** argv) {
  try {
    return naqs::run_cli(argc, argv);
  } catch (const naqs::UsageError& e) {
    std::fprintf(stderr, "naqs: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "naqs: error: %s\n", e.what());
    return 1;
  }
}
