#include "host/cli/option_table.hpp"

namespace naqs::cli {

std::string join_ints(const std::vector<int>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';  // (not `"," + to_string`: GCC 12's -Wrestrict false positive)
    s += std::to_string(v[i]);
  }
  return s;
}

std::vector<int> parse_int_list(const std::string& text, const std::string& option) {
  std::vector<int> v;
  std::size_t pos = 0;
  while (true) {
    const std::size_t comma = text.find(',', pos);
    const std::string item = text.substr(pos, comma == std::string::npos ? comma : comma - pos);
    NAQS_REQUIRE(!item.empty(), "--", option, ": '", text,
                 "' is not a comma-separated list of positive integers");
    v.push_back(parse_checked<int>(item, option, Range<int>{1, 1 << 20}));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return v;
}

}  // namespace naqs::cli
