// The checked numeric parser (host/cli/number.hpp): ranges, finiteness, trailing garbage, no
// wrap-around, and its option semantics inside Boost.Program_options (command line and INI).
#include <gtest/gtest.h>

#include <sstream>
#include <vector>

#include "host/cli/number.hpp"
#include "host/core/error.hpp"

namespace naqs::cli {
namespace {

TEST(Number, ParsesWholeTextsInRange) {
  EXPECT_EQ(parse_checked<int>("42", "n", Range<int>{1, 100}), 42);
  EXPECT_EQ(parse_checked<int>("+7", "n"), 7);
  EXPECT_EQ(parse_checked<int64_t>("-5", "n"), -5);
  EXPECT_EQ(parse_checked<int64_t>("9223372036854775807", "n"), INT64_MAX);
  EXPECT_EQ(parse_checked<uint64_t>("18446744073709551615", "n"), UINT64_MAX);
  EXPECT_EQ(parse_checked<double>("1e-3", "x"), 1e-3);
  EXPECT_EQ(parse_checked<double>("-2.5", "x"), -2.5);
  EXPECT_EQ(parse_checked<double>("+.5", "x"), 0.5);
  EXPECT_EQ(parse_checked<double>("0", "x", non_negative<double>()), 0.0);
}

TEST(Number, RefusesWithOneLineNamingOptionTextAndRange) {
  auto msg = [](auto f) {
    try {
      f();
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string m = msg([] { parse_checked<int>("2147483647", "width", Range<int>{1, 4096}); });
  EXPECT_NE(m.find("--width"), std::string::npos) << m;
  EXPECT_NE(m.find("2147483647"), std::string::npos) << m;
  EXPECT_NE(m.find("[1, 4096]"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  for (const char* bad : {"", " 1", "1 ", "1x", "0x10", "1.0", "1e3", "--1", "+-1", "+", "-",
                          "99999999999999999999", "2147483648"})
    EXPECT_THROW(parse_checked<int>(bad, "n"), UsageError) << "'" << bad << "'";
  for (const char* bad : {"-1", "+-1", "-0x1", "18446744073709551616"})
    EXPECT_THROW(parse_checked<uint64_t>(bad, "seed"), UsageError) << bad;
  for (const char* bad : {"inf", "-inf", "nan", "NaN", "infinity", "1e400", "1.5.2", "1,5", "",
                          "0x1p3", "1e", ".", "++1"})
    EXPECT_THROW(parse_checked<double>(bad, "x"), UsageError) << "'" << bad << "'";
  EXPECT_THROW(parse_checked<double>("0", "diag-shift", positive<double>()), UsageError);
  EXPECT_THROW(parse_checked<double>("-1e-300", "lr", non_negative<double>()), UsageError);
  EXPECT_THROW(parse_checked<int64_t>("0", "chains", positive<int64_t>()), UsageError);
}

TEST(Number, RangeText) {
  EXPECT_EQ((Range<int>{1, 4096}.str()), "[1, 4096]");
  EXPECT_EQ(non_negative<int64_t>().str(), ">= 0");
  EXPECT_EQ(positive<double>().str(), "(0, inf)");
  EXPECT_EQ((Range<double>{0, 1}.str()), "[0, 1]");
  EXPECT_EQ(any_value<double>().str(), "any finite number");
}

TEST(Number, RealDefaultsShowTheShortestText) {
  po::options_description desc("t");
  desc.add_options()("lr", number<double>(positive<double>())->default_value(0.003), "rate")(
      "tol", number<double>(positive<double>())->default_value(1e-6), "tolerance");
  std::ostringstream help;
  help << desc;
  EXPECT_NE(help.str().find("--lr arg (=0.003) (0, inf)"), std::string::npos) << help.str();
  EXPECT_NE(help.str().find("--tol arg (=1e-06) (0, inf)"), std::string::npos) << help.str();
}

TEST(Number, OptionSemanticChecksCommandLineAndIniAndShowsTheRange) {
  po::options_description desc("t");
  desc.add_options()("width", number<int>(Range<int>{1, 4096})->default_value(16), "channels")(
      "lr", number<double>(positive<double>())->default_value(0.5), "rate");
  std::ostringstream help;
  help << desc;
  EXPECT_NE(help.str().find("--width arg (=16) [1, 4096]"), std::string::npos) << help.str();
  EXPECT_NE(help.str().find("(0, inf)"), std::string::npos) << help.str();
  auto parse_cmd = [&](std::vector<std::string> args) {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
    return vm;
  };
  EXPECT_EQ(parse_cmd({"--width", "32"})["width"].as<int>(), 32);
  EXPECT_EQ(parse_cmd({})["width"].as<int>(), 16);
  EXPECT_THROW(parse_cmd({"--width", "0"}), po::error);
  EXPECT_THROW(parse_cmd({"--width", "2147483647"}), po::error);
  EXPECT_THROW(parse_cmd({"--lr", "inf"}), po::error);
  try {
    parse_cmd({"--lr", "nan"});
  } catch (const po::error& e) {
    EXPECT_NE(std::string(e.what()).find("--lr"), std::string::npos) << e.what();
  }
  std::istringstream ini("width = 5000\n");
  po::variables_map vm;
  EXPECT_THROW(po::store(po::parse_config_file(ini, desc), vm), po::error);
}

TEST(Number, ListsAreCheckedItemByItemOnTheCommandLineAndInIniFiles) {
  EXPECT_EQ(parse_list<uint64_t>("1,2,30", "seeds", kSeedRange),
            (std::vector<uint64_t>{1, 2, 30}));
  for (const char* bad : {"1,,2", "1,", "", "1,x", "1,-2", "1, 2", "9223372036854775808"})
    EXPECT_THROW(parse_list<uint64_t>(bad, "seeds", kSeedRange), UsageError) << bad;
  po::options_description desc("t");
  desc.add_options()("seeds", number_list<uint64_t>(kSeedRange)->default_value("1,2"), "seeds");
  po::variables_map vm;
  po::store(po::command_line_parser(std::vector<std::string>{"--seeds", "4,5"}).options(desc).run(),
            vm);
  EXPECT_EQ(vm["seeds"].as<std::string>(), "4,5");
  po::variables_map bad;
  EXPECT_THROW(
      po::store(po::command_line_parser(std::vector<std::string>{"--seeds", "4,,5"}).options(desc)
                    .run(), bad),
      po::error);
  std::istringstream ini("seeds = 1,x\n");
  po::variables_map from_ini;
  EXPECT_THROW(po::store(po::parse_config_file(ini, desc), from_ini), po::error);
}

}  // namespace
}  // namespace naqs::cli
