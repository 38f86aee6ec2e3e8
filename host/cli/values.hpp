// Parsing of value lists given on the command line, shared by commands that sweep a parameter
// (naqs ed --h, the sweep command):
//   "0.5"            one value
//   "0.5,1,2"        a list (kept in the given order)
//   "0.5:1.5:0.25"   an inclusive range start:stop:step with step > 0 and start <= stop
//                    (stop is included when it lies on the grid to within 1e-9 steps;
//                    values are start + k·step, not accumulated sums)
// Anything else (empty items, trailing junk, non-finite numbers, step <= 0, more than
// kMaxValues values) is a UsageError naming the option and the offending text.
// Tests: tests/unit/test_values.cpp.
#pragma once
#include <string>
#include <vector>

namespace naqs {

constexpr int kMaxValues = 100000;

std::vector<double> parse_value_list(const std::string& text, const std::string& option);

// One finite number, the whole text (UsageError naming the option otherwise).
double parse_number(const std::string& text, const std::string& option);

}  // namespace naqs
