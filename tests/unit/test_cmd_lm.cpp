// `naqs lm` through the built binary ($NAQS_EXE, set by ctest): train / eval / sample from an INI
// file on the synthetic corpus, sampling with and without the cache prints the same text, bad
// input is one line with exit code 2 and writes nothing, outputs are never overwritten, a
// pending SIGTERM stops training after one step with a checkpoint (exit 3) and --resume finishes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support/cli_run.hpp"
#include "tests/support/lm_fixtures.hpp"

namespace {

namespace fs = std::filesystem;

using naqs::testing::CliRun;
using naqs::testing::run_naqs;

class CmdLm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("NAQS_EXE")) GTEST_SKIP() << "NAQS_EXE not set (run through ctest)";
    dir_ = fs::temp_directory_path() / ("naqs_test_cmd_lm_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ini_ = p("tiny.ini");
    std::ofstream(ini_) << naqs::testing::tiny_lm_ini();
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string p(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
  std::string ini_;
};

TEST_F(CmdLm, TrainEvalSampleFromAnIniFile) {
  CliRun r = run_naqs("lm train --config " + ini_ + " -o " + p("run.h5"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("bits per character"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("entropy rate"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(p("run.h5")));
  r = run_naqs("lm eval --config " + ini_ + " --model " + p("run.h5") + " -o " + p("eval.h5"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("lm eval: validation"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(p("eval.h5")));
  // without --corpus, eval uses the corpus the model was trained on
  r = run_naqs("lm eval --model " + p("run.h5") + " --eval-windows 4");
  ASSERT_EQ(r.rc, 0) << r.out;
  const std::string sample = "lm sample --model " + p("run.h5") +
                             " --prompt abc --tokens 10 --temperature 1 --seed 3";
  const CliRun cached = run_naqs(sample), full = run_naqs(sample + " --no-cache");
  ASSERT_EQ(cached.rc, 0) << cached.out;
  EXPECT_EQ(cached.out, full.out);
  EXPECT_EQ(cached.out.size(), 3u + 10u + 1u);  // prompt, bytes, newline
  // the command line wins over the INI file
  r = run_naqs("lm train --config " + ini_ + " --steps 2 -o " + p("two.h5"));
  ASSERT_EQ(r.rc, 0) << r.out;
}

TEST_F(CmdLm, BadInputIsOneLineExitCode2AndWritesNothing) {
  const std::string out = p("bad.h5");
  const std::vector<std::string> bad = {"--kv-heads 3", "--kv-share 0", "--kv-share 3",
                                        "--d-model 20",   "--corpus " + p("nope"), "--dtype f16",
                                        "--steps -1",     "--batch 0",
                                        // checked numbers (host/cli/number.hpp): the whole text,
                                        // in range, finite
                                        "--lr nan", "--lr 0", "--steps 1e3", "--batch 2x",
                                        "--seed -1", "--final-lr-fraction 1.5",
                                        "--eval-windows 1", "--context 99999999999",
                                        // the sample after training: checked before training
                                        "--prompt ''", "--prompt 0123456789abcdef"};
  for (const std::string& args : bad) {
    const CliRun r = run_naqs("lm train --config " + ini_ + " " + args + " -o " + out);
    EXPECT_EQ(r.rc, 2) << args << ": " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << ": " << r.out;
    EXPECT_EQ(r.out.rfind("naqs: error: ", 0), 0u) << r.out;
    EXPECT_FALSE(fs::exists(out)) << args;
    EXPECT_FALSE(fs::exists(out + ".ckpt")) << args;
  }
  EXPECT_NE(run_naqs("lm train --config " + ini_ + " --corpus " + p("nope") + " -o " + out)
                .out.find("scripts/fetch_corpus.sh"),
            std::string::npos);
  ASSERT_EQ(run_naqs("lm train --config " + ini_ + " -o " + p("run.h5")).rc, 0);
  for (const std::string& args :
       {std::string("lm sample --model ") + p("run.h5") + " --prompt abc --tokens 14",
        std::string("lm sample --model ") + p("absent.h5"), std::string("lm bogus"),
        std::string("lm"), "lm train --config " + ini_ + " -o " + p("run.h5")}) {
    const CliRun r = run_naqs(args);
    EXPECT_EQ(r.rc, 2) << args << ": " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << ": " << r.out;
  }
}

TEST_F(CmdLm, NumbersOfEveryActionAreCheckedBeforeAnyWork) {
  ASSERT_EQ(run_naqs("lm train --config " + ini_ + " -o " + p("run.h5")).rc, 0);
  const std::string model = " --model " + p("run.h5");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"lm sample" + model + " --tokens -3 -o " + p("s.h5"), "--tokens"},
      {"lm sample" + model + " --temperature inf -o " + p("s.h5"), "--temperature"},
      {"lm eval" + model + " --eval-windows x -o " + p("s.h5"), "--eval-windows"},
      {"lm sweep --dir " + p("sw") + " --seeds 1,x", "--seeds"},
      {"lm sweep --dir " + p("sw") + " --seeds 1,-2", "--seeds"},
      {"lm sweep --dir " + p("sw") + " --task 1.5", "--task"},
  };
  for (const auto& [args, option] : bad) {
    const CliRun r = run_naqs(args);
    EXPECT_EQ(r.rc, 2) << args << ": " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << ": " << r.out;
    EXPECT_NE(r.out.find(option), std::string::npos) << args << ": " << r.out;
    EXPECT_FALSE(fs::exists(p("s.h5"))) << args;
    EXPECT_FALSE(fs::exists(p("sw"))) << args;
  }
  // eval / sample outputs: never over an existing file, nothing else written
  std::ofstream(p("taken.h5")) << "x";
  const CliRun r = run_naqs("lm eval" + model + " -o " + p("taken.h5"));
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("taken.h5"), std::string::npos) << r.out;
  EXPECT_EQ(fs::file_size(p("taken.h5")), 1u);
}

TEST_F(CmdLm, ResumeOfAnotherRunsOutputIsOneLineNamingBothFiles) {
  // two runs of the same settings, each stopped before its end with a checkpoint
  const std::string ini = p("short.ini");
  fs::copy_file(ini_, ini);
  std::ofstream(ini, std::ios::app) << "checkpoint-every = 1\n";
  for (const char* name : {"a.h5", "b.h5"})
    ASSERT_EQ(run_naqs("lm train --config " + ini + " --steps 5 -o " + p(name)).rc, 0);
  const CliRun r = run_naqs("lm train --config " + ini + " --steps 5 -o " + p("a.h5") +
                            " --checkpoint " + p("b.h5.ckpt") + " --resume");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_NE(r.out.find(p("a.h5")), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(p("b.h5.ckpt")), std::string::npos) << r.out;
}

TEST_F(CmdLm, PendingSignalStopsAfterOneStepAndResumeFinishes) {
  const std::string out = p("sig.h5"), log = p("sig.log");
  const int status = naqs::testing::run_naqs_with_pending_sigterm(
      {"lm", "train", "--config", ini_, "-o", out}, log);
  ASSERT_NE(status, -1);
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(WIFEXITED(status)) << text;
  EXPECT_EQ(WEXITSTATUS(status), 3) << text;
  EXPECT_NE(text.find("lm: interrupted; partial output"), std::string::npos) << text;
  ASSERT_TRUE(fs::exists(out + ".ckpt"));
  const CliRun r = run_naqs("lm train --config " + ini_ + " -o " + out + " --resume");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("bits per character"), std::string::npos) << r.out;
}

}  // namespace
