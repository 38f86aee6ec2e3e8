// `naqs diffusion data | train | rollout` through the built binary ($NAQS_EXE, set by ctest):
// the layouts, the PNG strip and GIF, never overwriting, a stopped training run continued with
// --resume to the same parameters bit for bit, and bad input as one line with exit code 2 and
// nothing written.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "host/io/hdf5.hpp"
#include "ml/diffusion/world_io.hpp"
#include "tests/support/cli_run.hpp"
#include "tests/support/cmd_dir.hpp"

namespace {

using naqs::H5File;
using naqs::testing::CmdDir;
using naqs::testing::CmdResult;
using namespace naqs::ml::diffusion;

const std::string kData = "--episodes 6 --episode-steps 12 --size 16 --test-episodes 2";
const std::string kNet =
    "--context 2 --channels 4,8 --groups 2 --cond-dim 8 --action-dim 2 --batch 3";

class CmdDiffusionWorld : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("NAQS_EXE")) GTEST_SKIP() << "NAQS_EXE not set (run through ctest)";
    dir_ = CmdDir("naqs_test_cmd_world_" + std::to_string(::getpid()) + "_" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    const CmdResult r = dir_.run("diffusion data", kData + " -o " + dir_.path("ball.h5"));
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }
  void TearDown() override { dir_.remove(); }

  // A synthetic episodes file changed by `edit` before it is written.
  std::string bad_data(const std::string& name, void (*edit)(WorldData&)) {
    BouncingConfig b;
    b.episodes = 4;
    b.steps = 12;
    b.size = 16;
    b.test_episodes = 1;
    WorldData d = bouncing_ball(b);
    edit(d);
    const std::string path = dir_.path(name);
    H5File f = H5File::create_exclusive(path);
    write_world_data(f, d);
    return path;
  }

  CmdDir dir_;
};

TEST_F(CmdDiffusionWorld, DataTrainRolloutWriteTheLayoutsAndNeverOverwrite) {
  const std::string data = " --data " + dir_.path("ball.h5");
  CmdResult r = dir_.run("diffusion train",
                         kNet + data + " --train-steps 4 -o " + dir_.path("t.h5"));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  {
    H5File f = H5File::open_read(dir_.path("t.h5"));
    EXPECT_EQ(f.dims("/train/loss"), (std::vector<int64_t>{4}));
    EXPECT_EQ(std::get<std::string>(f.get_attr("/model", "channels")), "4,8");
    EXPECT_EQ(std::get<int64_t>(f.get_attr("/", "complete")), 1);
    EXPECT_TRUE(f.exists("/model/params"));
  }
  r = dir_.run("diffusion rollout", data + " --checkpoint " + dir_.path("t.h5") +
                                        " --horizon 3 --steps 2 --sampler heun -o " +
                                        dir_.path("r.h5"));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("heun, 2 steps (3 network evaluations per frame)"), std::string::npos)
      << r.out;
  EXPECT_EQ(dir_.files(), (std::set<std::string>{"ball.h5", "t.h5", "t.h5.ckpt", "r.h5",
                                                 "r_strip.png", "r.gif"}));
  {
    H5File f = H5File::open_read(dir_.path("r.h5"));
    EXPECT_EQ(f.dims("/rollout/imagined"), (std::vector<int64_t>{2, 3, 16, 16}));
    EXPECT_EQ(f.element_type("/rollout/imagined"), "uint8");
    EXPECT_EQ(f.dims("/rollout/copy_last/psnr"), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(f.read_int64s("/rollout/episodes"), (std::vector<int64_t>{4, 5}));
  }
  // the checkpoint serves as the model too, with the same frames
  r = dir_.run("diffusion rollout", data + " --checkpoint " + dir_.path("t.h5.ckpt") +
                                        " --horizon 3 --steps 2 --sampler heun --no-png -o " +
                                        dir_.path("r2.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(H5File::open_read(dir_.path("r.h5")).read_u8_block("/rollout/imagined", {0, 0, 0, 0}, {2, 3, 16, 16}),
            H5File::open_read(dir_.path("r2.h5")).read_u8_block("/rollout/imagined", {0, 0, 0, 0}, {2, 3, 16, 16}));
  const uint64_t before = naqs::testing::file_hash(dir_.path("r.h5"));
  r = dir_.run("diffusion rollout", data + " --checkpoint " + dir_.path("t.h5") + " -o " +
                                        dir_.path("r.h5"));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(naqs::testing::file_hash(dir_.path("r.h5")), before);
}

TEST_F(CmdDiffusionWorld, StoppedTrainingResumesBitForBit) {
  const std::string data = " --data " + dir_.path("ball.h5");
  CmdResult r = dir_.run("diffusion train", kNet + data + " --train-steps 5 -o " +
                                                dir_.path("straight.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  // a SIGTERM pending at exec: stops after the first step with a checkpoint, exit 3
  std::vector<std::string> args{"diffusion", "train", "--data", dir_.path("ball.h5"),
                                "--train-steps", "5", "-o", dir_.path("stopped.h5")};
  for (const char* a : {"--context", "2", "--channels", "4,8", "--groups", "2", "--cond-dim", "8",
                        "--action-dim", "2", "--batch", "3"})
    args.push_back(a);
  const int status = naqs::testing::run_naqs_with_pending_sigterm(args, dir_.path("log.txt"));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3) << naqs::testing::read_text(dir_.path("log.txt"));
  EXPECT_EQ(H5File::open_read(dir_.path("stopped.h5")).dims("/train/loss"),
            (std::vector<int64_t>{1}));
  // without --resume the checkpoint is never overwritten
  r = dir_.run("diffusion train", kNet + data + " --train-steps 5 -o " + dir_.path("stopped.h5"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  // other settings are refused, naming the difference
  r = dir_.run("diffusion train",
               kNet + data + " --train-steps 5 --lr 0.01 --resume -o " + dir_.path("stopped.h5"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("lr=0.01"), std::string::npos) << r.err;
  r = dir_.run("diffusion train",
               kNet + data + " --train-steps 5 --resume -o " + dir_.path("stopped.h5"));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  H5File a = H5File::open_read(dir_.path("straight.h5")), b = H5File::open_read(dir_.path("stopped.h5"));
  EXPECT_EQ(a.read_doubles("/model/params"), b.read_doubles("/model/params"));
  EXPECT_EQ(a.read_doubles("/train/loss"), b.read_doubles("/train/loss"));
}

TEST_F(CmdDiffusionWorld, BadInputIsOneLineAndWritesNothing) {
  const std::string frames_only = dir_.path("frames_only.h5");
  {
    H5File f = H5File::create_exclusive(frames_only);
    f.write_u8("/frames", std::vector<uint8_t>(2 * 13 * 16 * 16, 87), {2, 13, 16, 16});
  }
  const std::string int_frames = dir_.path("int_frames.h5");
  {
    H5File f = H5File::create_exclusive(int_frames);
    f.write_i32("/frames", std::vector<int32_t>(2 * 13 * 16 * 16, 87), {2, 13, 16, 16});
  }
  const std::string bad_action =
      bad_data("bad_action.h5", [](WorldData& d) { d.actions[1 * d.steps + 7] = 6; });
  const std::string train = " --train-steps 2 " + kNet + " -o " + dir_.path("out.h5");
  struct Case {
    std::string args, want;
  };
  const std::vector<Case> cases{
      {"train --data " + dir_.path("missing.h5") + train, "scripts/collect_pong.py"},
      {"train --data " + bad_action + train, "/actions[1, 7] = 6 is outside 0..5"},
      {"train --data " + frames_only + train, "has no dataset /actions"},
      {"train --data " + int_frames + train, "dataset /frames is int32, not uint8"},
      {"train --data " + dir_.path("ball.h5") + train + " --context 13",
       "--context 13 is longer than the 12 steps"},
      {"train --data " + dir_.path("ball.h5") + train + " --objective vp", "not an objective"},
      {"train --data " + dir_.path("ball.h5") + " --channels 4,5 --groups 2 -o " +
           dir_.path("out.h5"),
       "--channels 5 (level 1)"},
      {"rollout --data " + dir_.path("ball.h5") + " --checkpoint " + dir_.path("ball.h5") +
           " -o " + dir_.path("out.h5"),
       "not a naqs diffusion train output or checkpoint"},
      {"rollout --data " + dir_.path("ball.h5") + " -o " + dir_.path("out.h5"), "--checkpoint"},
      {"world", "allowed: toy, data, train, rollout"},
      {"data --size 8 -o " + dir_.path("out.h5"), "--size"},
  };
  for (const Case& c : cases) {
    const auto before = dir_.files();
    const CmdResult r = dir_.run("diffusion", c.args + " --no-png");
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.err;
    EXPECT_EQ(naqs::testing::count_lines(r.err), 1) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(dir_.files(), before) << c.args;
  }
}

}  // namespace
