// Progress reporter (host/core/progress.hpp): terminal redraws, batch-log lines, quiet mode,
// driven by an injected clock.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "host/core/progress.hpp"

using namespace naqs;

namespace {

// A fake clock and a sink that records every write.
struct Harness {
  double now = 1000.0;
  std::vector<std::string> writes;
  Progress make(ProgressOptions opt, bool terminal) {
    return Progress(
        std::move(opt), terminal, [this] { return now; },
        [this](const std::string& s) { writes.push_back(s); });
  }
  std::string all() const {
    std::string s;
    for (const auto& w : writes) s += w;
    return s;
  }
};

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (std::size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
  return n;
}

}  // namespace

TEST(Progress, FormatDuration) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(25.4), "0:25");
  EXPECT_EQ(format_duration(725), "12:05");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_duration(1.0 / 0.0), "?");
}

TEST(Progress, TerminalLineHasCountFieldsRateAndEta) {
  Harness h;
  Progress p = h.make({.label = "train", .total = 100}, true);
  h.now += 5.0;  // 50 steps in 5 s: 10 steps/s, 50 left: ETA 5 s
  p.update(50, "E = -20.4 ± 0.01");
  ASSERT_EQ(h.writes.size(), 1u);
  EXPECT_EQ(h.writes[0], "\rtrain  50/100 (50%)  E = -20.4 ± 0.01  10.0 steps/s  ETA 0:05");
}

TEST(Progress, TerminalRedrawsAreThrottledAndPadded) {
  Harness h;
  Progress p = h.make({.label = "t", .total = 10, .redraw_s = 0.5}, true);
  h.now += 1.0;
  p.update(1, "a long field value");
  h.now += 0.1;  // within redraw_s: not drawn
  p.update(2, "x");
  EXPECT_EQ(h.writes.size(), 1u);
  h.now += 0.5;
  p.update(3, "x");
  ASSERT_EQ(h.writes.size(), 2u);
  // The shorter line is padded with spaces to erase the previous one (the '±'-free previous
  // line is plain ASCII, so byte counts equal display widths here).
  const std::string prev = h.writes[0].substr(1), cur = h.writes[1].substr(1);
  EXPECT_EQ(cur.size(), prev.size()) << "'" << cur << "' vs '" << prev << "'";
  EXPECT_EQ(cur.back(), ' ');
  p.finish();
  ASSERT_EQ(h.writes.size(), 3u);
  EXPECT_EQ(h.writes[2].front(), '\r');
  EXPECT_EQ(h.writes[2].back(), '\n');
  EXPECT_NE(h.writes[2].find("3/10 (30%)"), std::string::npos) << h.writes[2];
  EXPECT_NE(h.writes[2].find("done in 0:02"), std::string::npos) << h.writes[2];
  EXPECT_EQ(h.writes[2].find("ETA"), std::string::npos) << h.writes[2];
}

TEST(Progress, PaddingCountsCharactersNotUtf8Bytes) {
  Harness h;
  Progress p = h.make({.total = 0}, true);
  h.now += 1;
  p.update(1, "±±±±");  // 4 characters, 8 bytes
  h.now += 1;
  p.update(2, "abcd");  // same width: no padding
  ASSERT_EQ(h.writes.size(), 2u);
  EXPECT_EQ(h.writes[1].back(), 's') << "'" << h.writes[1] << "'";  // ends with "steps/s"
}

TEST(Progress, BatchLogsEveryIntervalAndAtTheEnd) {
  Harness h;
  Progress p = h.make({.label = "train", .total = 100}, false);  // log_every_s = 30
  for (int s = 1; s <= 100; ++s) {
    h.now += 1.0;
    p.update(s, "E = -1");
  }
  p.finish("E = -2");
  const std::string out = h.all();
  EXPECT_EQ(count(out, "\n"), 4) << out;  // at 30, 60, 90 s and the end
  EXPECT_EQ(count(out, "\r"), 0) << out;
  EXPECT_NE(out.find("train  30/100 (30%)  E = -1  1.00 steps/s  ETA 1:10\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("train  100/100 (100%)  E = -2  1.00 steps/s  done in 1:40\n"),
            std::string::npos)
      << out;
}

TEST(Progress, QuietPrintsNothing) {
  Harness h;
  {
    Progress p = h.make({.total = 10, .quiet = true}, true);
    h.now += 100;
    p.update(5);
    p.message("hello");
    p.finish();
  }
  EXPECT_TRUE(h.writes.empty());
}

TEST(Progress, ResumedRunRatesCountFromFirstStepAndItemsUseTheirUnit) {
  Harness h;
  Progress p = h.make(
      {.total = 1000, .first_step = 900, .unit = "samples", .items_per_step = 1024}, false);
  h.now += 40;
  p.update(920);  // 20 steps in 40 s = 0.5 steps/s = 512 samples/s; 80 steps left = 160 s
  ASSERT_EQ(h.writes.size(), 1u);
  EXPECT_EQ(h.writes[0], "920/1000 (92%)  512 samples/s  ETA 2:40\n");
}

TEST(Progress, MessageKeepsTheTerminalLineIntact) {
  Harness h;
  Progress p = h.make({.label = "run"}, true);
  h.now += 1;
  p.update(7);
  p.message("checkpoint written");
  ASSERT_EQ(h.writes.size(), 3u);
  EXPECT_EQ(h.writes[1].front(), '\r');
  EXPECT_NE(h.writes[1].find("\rcheckpoint written\n"), std::string::npos) << h.writes[1];
  EXPECT_EQ(h.writes[2].substr(0, 7), "\rrun  7");
}

TEST(Progress, DestructorEndsAnUnfinishedTerminalLine) {
  Harness h;
  {
    Progress p = h.make({}, true);
    h.now += 1;
    p.update(1);
  }
  ASSERT_EQ(h.writes.size(), 2u);
  EXPECT_EQ(h.writes[1], "\n");
}
