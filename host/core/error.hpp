// Errors: library code throws naqs::Error (or UsageError for bad user input, exit code 2);
// only main() catches, prints one line and exits non-zero. Every message names the failing
// call or value and, for internal checks, file:line.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace naqs {

// Concatenates anything streamable into one string: cat("n=", n, " too large").
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

// A failure of the library or of a call it made (CUDA, cuBLAS, HDF5, ...): exit code 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input from the user (option value, config file, lattice size, ...): exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace naqs

// Internal invariant / argument check: throws naqs::Error with file:line and the message.
#define NAQS_CHECK(cond, ...)                                                                \
  do {                                                                                       \
    if (!(cond))                                                                             \
      throw ::naqs::Error(::naqs::cat(__VA_ARGS__, " [", __FILE__, ":", __LINE__, "]"));     \
  } while (0)

// Bad user input: throws naqs::UsageError carrying just the message (it is for the user).
#define NAQS_REQUIRE(cond, ...)                               \
  do {                                                        \
    if (!(cond)) throw ::naqs::UsageError(::naqs::cat(__VA_ARGS__)); \
  } while (0)
