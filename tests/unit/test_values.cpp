// Command-line value lists and ranges (host/cli/values.hpp).
#include <gtest/gtest.h>

#include "host/cli/values.hpp"
#include "host/core/error.hpp"

namespace naqs {
namespace {

TEST(Values, ListsAndRanges) {
  EXPECT_EQ(parse_value_list("1", "h"), (std::vector<double>{1}));
  EXPECT_EQ(parse_value_list("0.5,1,2", "h"), (std::vector<double>{0.5, 1, 2}));
  EXPECT_EQ(parse_value_list("2,-1e-1", "h"), (std::vector<double>{2, -0.1}));
  EXPECT_EQ(parse_value_list("0.5:1.5:0.25", "h"), (std::vector<double>{0.5, 0.75, 1, 1.25, 1.5}));
  // 0.1 steps are not exact in binary; the stop is still included, values are start + k·step.
  std::vector<double> r = parse_value_list("0:1:0.1", "h");
  ASSERT_EQ(r.size(), 11u);
  EXPECT_DOUBLE_EQ(r[3], 3 * 0.1);
  EXPECT_EQ(parse_value_list("1:1:0.5", "h"), (std::vector<double>{1}));
  EXPECT_EQ(parse_value_list("0:1:0.3", "h").size(), 4u);  // 0, .3, .6, .9
}

TEST(Values, MalformedIsUsageError) {
  for (const char* bad : {"", "a", "1,", ",1", "1,,2", "1:2", "1:2:0", "1:2:-1", "2:1:0.5",
                          "1:2:3:4", "1:2,3", "nan", "inf", "1x", " 1", "0:1e9:1e-3"}) {
    try {
      parse_value_list(bad, "h");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--h"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace naqs
