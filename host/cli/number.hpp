// The one checked parser for numeric option values, and the way every numeric option is
// declared: with its allowed range beside its help text.
//
//   g.add_options()
//     ("width", cli::number<int>({1, 4096})->default_value(16), "channels of every layer")
//     ("lr", cli::number<double>(cli::positive<double>())->default_value(0.05), "learning rate");
//   ... vm["width"].as<int>() as with any po::value<int>
//
// The help shows "--width arg (=16) [1, 4096]  channels of every layer"; the range
// is checked where the text is parsed (command line and --config INI files alike), so a bad value
// is one UsageError line naming the option, the text and the allowed range (exit 2), before any
// work. parse_checked<T> is the parser itself, for values read from other text (lists, ranges,
// batch schedules): the whole text must be the number (no blanks, no trailing garbage); integers
// are decimal, in range of T (no wrap: "-1" is not a uint64, 2^31 is not an int); reals are finite
// (no inf, nan) unless the range allows it. Every later command declares its numeric options
// with add_number (or parses with parse_checked).
// Tests: tests/unit/test_number.cpp.
#pragma once
#include <boost/program_options.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace naqs::cli {

namespace po = boost::program_options;

// Inclusive range [lo, hi]; for reals `open_lo` excludes lo (a strictly positive value).
template <class T>
struct Range {
  T lo = std::numeric_limits<T>::lowest();
  T hi = std::numeric_limits<T>::max();
  bool open_lo = false;
  std::string str() const;  // "[1, 4096]", "(0, inf)", "any finite number"
};

template <class T>
Range<T> any_value() {
  return {};
}
template <class T>
Range<T> non_negative() {
  return {T(0), std::numeric_limits<T>::max(), false};
}
template <class T>
Range<T> at_least(T lo) {
  return {lo, std::numeric_limits<T>::max(), false};
}
// > 0 (integers: >= 1).
template <class T>
Range<T> positive() {
  if constexpr (std::is_integral_v<T>) return {T(1), std::numeric_limits<T>::max(), false};
  return {T(0), std::numeric_limits<T>::max(), true};
}

// Seeds: [0, 2^63 - 1] (they are stored as int64 in HDF5 provenance and attributes).
inline const Range<uint64_t> kSeedRange{0, (uint64_t{1} << 63) - 1, false};

// Couplings and fields (J, h, hz, Delta): |x| <= 1e6 (beyond it float64 energies lose every
// digit of the other terms; rescale J instead).
inline const Range<double> kCouplingRange{-1e6, 1e6};

// Parses all of `text` as a T within `range`; UsageError "--<option>: '<text>' is not ..." with
// the allowed range otherwise. T: int, int64_t, uint64_t, double.
template <class T>
T parse_checked(const std::string& text, const std::string& option, const Range<T>& range = {});

// The value semantic of a numeric option: po::value<T>() whose text goes through
// parse_checked, and whose help line shows the range beside the default:
//   ("width", cli::number<int>({1, 4096})->default_value(16), "channels of every hidden layer")
// prints "--width arg (=16) [1, 4096]  channels of every hidden layer".
template <class T>
po::typed_value<T>* number(const Range<T>& range);

// A comma-separated list of numbers (--seeds 1,2,3): the option's text, checked item by item
// where it is parsed (command line and INI alike, like number<T>): every item a T in `range`, no
// empty item ("1,,2" is a typo). parse_list<T> turns the text into the values.
template <class T>
po::typed_value<std::string>* number_list(const Range<T>& range);
template <class T>
std::vector<T> parse_list(const std::string& text, const std::string& option,
                          const Range<T>& range);

}  // namespace naqs::cli
