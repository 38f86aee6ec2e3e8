// The checked numeric parser and the option declarations that use it (see number.hpp).
#include "host/cli/number.hpp"

#include <charconv>
#include <cmath>

#include "host/core/error.hpp"

namespace naqs::cli {
namespace {

template <class T>
std::string show(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    if (v == std::numeric_limits<T>::max()) return "inf";
    if (v == std::numeric_limits<T>::lowest()) return "-inf";
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    return std::string(buf, r.ptr);
  } else {
    return std::to_string(v);
  }
}

template <class T>
const char* kind_name() {
  if constexpr (std::is_floating_point_v<T>) return "a finite number";
  if constexpr (std::is_unsigned_v<T>) return "a non-negative integer";
  return "an integer";
}

// "'<text>' is not an integer (allowed: [1, 4096])", or "" when `text` is a T in `range`.
template <class T>
std::string check_text(const std::string& text, const Range<T>& range, T& v);

// A po::typed_value<T> whose tokens go through check_text (so INI values are checked too); the
// option's name is filled in by Boost (%canonical_option%), run_cli turns it into a UsageError.
template <class T>
class CheckedValue : public po::typed_value<T> {
 public:
  explicit CheckedValue(Range<T> range) : po::typed_value<T>(nullptr), range_(std::move(range)) {}
  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    T v{};
    const std::string problem =
        tokens.size() == 1 ? check_text(tokens[0], range_, v) : std::string("takes one value");
    if (!problem.empty()) throw po::error_with_option_name("%canonical_option%: " + problem);
    store = boost::any(v);
  }
  // Boost prints a real default with lexical_cast's 17 digits ("=0.0030000000000000001"); show
  // the shortest text that reads back to the same double instead ("=0.003").
  std::string name() const override {
    std::string text = po::typed_value<T>::name();
    if constexpr (std::is_floating_point_v<T>) {
      boost::any v;
      if (this->apply_default(v)) {
        const std::string boost_text = "(=" + boost::lexical_cast<std::string>(boost::any_cast<T>(v)) + ")";
        const std::size_t at = text.find(boost_text);
        if (at != std::string::npos)
          text.replace(at, boost_text.size(), "(=" + show(boost::any_cast<T>(v)) + ")");
      }
    }
    return text + " " + range_.str();
  }

 private:
  Range<T> range_;
};

// The text of a number list, each item checked by check_text.
template <class T>
class CheckedList : public po::typed_value<std::string> {
 public:
  explicit CheckedList(Range<T> range)
      : po::typed_value<std::string>(nullptr), range_(std::move(range)) {}
  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    if (tokens.size() != 1)
      throw po::error_with_option_name("%canonical_option%: takes one value");
    const std::string& text = tokens[0];
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = text.find(',', start);
      const std::string item =
          text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      T v{};
      const std::string problem = check_text(item, range_, v);
      if (!problem.empty())
        throw po::error_with_option_name("%canonical_option%: in '" + text + "': " + problem);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    store = boost::any(text);
  }
  std::string name() const override {
    return po::typed_value<std::string>::name() + " list of " + range_.str();
  }

 private:
  Range<T> range_;
};

}  // namespace

template <class T>
std::string Range<T>::str() const {
  const bool no_lo = lo == std::numeric_limits<T>::lowest();
  const bool no_hi = hi == std::numeric_limits<T>::max();
  if (no_lo && no_hi) return std::is_floating_point_v<T> ? "any finite number" : "any integer";
  if (std::is_floating_point_v<T>)
    return cat(open_lo ? "(" : "[", no_lo ? "-inf" : show(lo), ", ", no_hi ? "inf)" : show(hi) + "]");
  if (no_hi) return cat(">= ", show(lo));
  return cat("[", show(lo), ", ", show(hi), "]");
}

namespace {
template <class T>
std::string check_text(const std::string& text, const Range<T>& range, T& v) {
  const std::string allowed = cat(" (allowed: ", range.str(), ")");
  const char* begin = text.data();
  const char* end = begin + text.size();
  // One optional leading '+' (from_chars takes none); never two signs.
  const char* b = begin != end && *begin == '+' ? begin + 1 : begin;
  std::from_chars_result r{b, std::errc::invalid_argument};
  if (b != end && *b != '+' && !(b != begin && *b == '-')) r = std::from_chars(b, end, v);
  if (r.ec == std::errc::result_out_of_range) return cat("'", text, "' is out of range", allowed);
  if (text.empty() || r.ec != std::errc() || r.ptr != end)
    return cat("'", text, "' is not ", kind_name<T>(), allowed);
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(v)) return cat("'", text, "' is not ", kind_name<T>(), allowed);
  }
  const bool below = range.open_lo ? !(v > range.lo) : v < range.lo;
  if (below || v > range.hi) return cat(show(v), " is out of range", allowed);
  return "";
}
}  // namespace

template <class T>
T parse_checked(const std::string& text, const std::string& option, const Range<T>& range) {
  T v{};
  const std::string problem = check_text(text, range, v);
  if (!problem.empty()) throw UsageError(cat("--", option, ": ", problem));
  return v;
}

template <class T>
po::typed_value<T>* number(const Range<T>& range) {
  return new CheckedValue<T>(range);
}

template <class T>
po::typed_value<std::string>* number_list(const Range<T>& range) {
  return new CheckedList<T>(range);
}

template <class T>
std::vector<T> parse_list(const std::string& text, const std::string& option,
                          const Range<T>& range) {
  std::vector<T> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    out.push_back(parse_checked<T>(
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start),
        option, range));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

#define NAQS_NUMBER_INSTANTIATE(T)                                                          \
  template po::typed_value<std::string>* number_list<T>(const Range<T>&);                   \
  template std::vector<T> parse_list<T>(const std::string&, const std::string&,             \
                                        const Range<T>&);                                   \
  template struct Range<T>;                                                                 \
  template T parse_checked<T>(const std::string&, const std::string&, const Range<T>&);     \
  template po::typed_value<T>* number<T>(const Range<T>&);
NAQS_NUMBER_INSTANTIATE(int)
NAQS_NUMBER_INSTANTIATE(int64_t)
NAQS_NUMBER_INSTANTIATE(uint64_t)
NAQS_NUMBER_INSTANTIATE(double)
#undef NAQS_NUMBER_INSTANTIATE

}  // namespace naqs::cli
