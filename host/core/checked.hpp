// Overflow-checked size arithmetic: the one place where sizes that can come from the user
// (lattice sizes, widths, chains, batch sizes) are multiplied before they reach an allocation.
//   int64_t n = checked_mul(chains, n_sites, "Metropolis chains x sites");
//   std::size_t bytes = checked_bytes(n, sizeof(double), "chain states");
// A product or sum that does not fit (or a negative factor) is a UsageError naming `what`, the
// operands and the limit, so a huge option value ends in one line instead of a wrapped size
// (and a division by zero in the caching allocator). Shape::numel and Tensor::nbytes use them.
// Tests: tests/unit/test_checked.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "host/core/error.hpp"

namespace naqs {

inline int64_t checked_mul(int64_t a, int64_t b, const std::string& what) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r))
    throw UsageError(cat(what, ": ", a, " x ", b, " does not fit a 64-bit size (at most ",
                         std::numeric_limits<int64_t>::max(), ")"));
  return r;
}

inline int64_t checked_add(int64_t a, int64_t b, const std::string& what) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &r))
    throw UsageError(cat(what, ": ", a, " + ", b, " does not fit a 64-bit size"));
  return r;
}

// Elements x element size, as a byte count for an allocation.
inline std::size_t checked_bytes(int64_t n, std::size_t element_size, const std::string& what) {
  return static_cast<std::size_t>(checked_mul(n, static_cast<int64_t>(element_size), what));
}

}  // namespace naqs
