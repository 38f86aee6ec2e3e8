// Value lists and ranges for command-line options (see values.hpp).
#include "host/cli/values.hpp"

#include <cmath>
#include <cstdlib>

#include "host/cli/number.hpp"
#include "host/core/error.hpp"

namespace naqs {

double parse_number(const std::string& text, const std::string& option) {
  return cli::parse_checked<double>(text, option);
}

std::vector<double> parse_value_list(const std::string& text, const std::string& option) {
  const std::string hint = " (use a value, a list like 0.5,1,2 or a range start:stop:step)";
  NAQS_REQUIRE(!text.empty(), "--", option, " is empty", hint);
  std::vector<double> out;
  if (text.find(':') != std::string::npos) {
    const std::size_t a = text.find(':'), b = text.find(':', a + 1);
    NAQS_REQUIRE(b != std::string::npos && text.find(':', b + 1) == std::string::npos &&
                     text.find(',') == std::string::npos,
                 "--", option, ": '", text, "' is not a range start:stop:step", hint);
    const double start = parse_number(text.substr(0, a), option);
    const double stop = parse_number(text.substr(a + 1, b - a - 1), option);
    const double step = parse_number(text.substr(b + 1), option);
    NAQS_REQUIRE(step > 0, "--", option, ": the range step must be positive, got ", step);
    NAQS_REQUIRE(start <= stop, "--", option, ": the range start ", start,
                 " is larger than its stop ", stop);
    const double count = std::floor((stop - start) / step + 1e-9) + 1;
    NAQS_REQUIRE(count <= kMaxValues, "--", option, ": the range '", text, "' has ", count,
                 " values (at most ", kMaxValues, ")");
    for (int k = 0; k < static_cast<int>(count); ++k) out.push_back(start + k * step);
    return out;
  }
  std::size_t pos = 0;
  while (true) {
    const std::size_t comma = text.find(',', pos);
    const std::string item = text.substr(pos, comma == std::string::npos ? comma : comma - pos);
    NAQS_REQUIRE(!item.empty(), "--", option, ": empty item in '", text, "'", hint);
    out.push_back(parse_number(item, option));
    NAQS_REQUIRE(out.size() <= static_cast<std::size_t>(kMaxValues), "--", option,
                 ": more than ", kMaxValues, " values");
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace naqs
