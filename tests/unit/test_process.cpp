// spawn_wait (host/core/process.hpp): exit status, a program that cannot start, a child ended
// by a signal, and where its output goes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "host/core/process.hpp"

namespace naqs {
namespace {

namespace fs = std::filesystem;

TEST(Process, ExitStatusIsReturned) {
  EXPECT_EQ(spawn_wait({"sh", "-c", "exit 0"}, /*quiet=*/true), 0);
  EXPECT_EQ(spawn_wait({"sh", "-c", "exit 7"}, /*quiet=*/true), 7);
}

TEST(Process, ProgramThatCannotStartIsMinusOne) {
  EXPECT_EQ(spawn_wait({"/nonexistent/naqs-no-such-program"}, /*quiet=*/true), -1);
  EXPECT_EQ(spawn_wait({}, /*quiet=*/true), -1);
}

TEST(Process, SignalIs128PlusItsNumber) {
  EXPECT_EQ(spawn_wait({"sh", "-c", "kill -9 $$"}, /*quiet=*/true), 128 + 9);
}

TEST(Process, LogReceivesStdoutAndStderr) {
  const fs::path log =
      fs::temp_directory_path() / ("naqs_test_process_" + std::to_string(getpid()) + ".log");
  fs::remove(log);
  ASSERT_EQ(spawn_wait({"sh", "-c", "echo out; echo err 1>&2"}, false, log.string()), 0);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "out\nerr\n");
  fs::remove(log);
}

}  // namespace
}  // namespace naqs
