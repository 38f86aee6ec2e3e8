// `naqs ed --sample`, `naqs features` and `naqs align` end to end through the built executable
// ($NAQS_EXE): a tiny TFIM chain sampled from ED, a two-step NAQS conv1d and RBM training for
// checkpoints, their features, the alignment file and heat maps; every bad input of issue 19
// gives exit code 2, one line on stderr naming the problem, and no output file.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "host/io/hdf5.hpp"
#include "tests/support/cmd_dir.hpp"

namespace naqs {
namespace {

namespace fs = std::filesystem;

using RunResult = testing::CmdResult;

// One fixture for the whole suite: the ED samples, checkpoints and features are made once.
class CmdAlign : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (testing::naqs_exe().empty()) return;
    scratch_ = testing::CmdDir("naqs_cmd_align_" + std::to_string(::getpid()));
    dir_ = scratch_.dir();
    const std::string d = dir_.string();
    ok_ = run("ed", "--L 8 --h 1 --sample 120 --seed 3 --out " + d + "/cfg.h5").code == 0 &&
          run("ed", "--L 8 --h 1 --sample 90 --seed 3 --out " + d + "/cfg90.h5").code == 0;
    const std::string train = " --L 8 --h 1 --steps 2 --batch 32 --optimizer adam --lr 0.01 "
                              "--obs-samples 64 --ed-max-sites 0 --quiet";
    ok_ = ok_ &&
          run("vmc", train + " --network conv1d --width 4 --depth 2 --out " + d +
                         "/naqs.h5 --checkpoint " + d + "/naqs.ckpt").code == 0 &&
          run("vmc", train + " --model rbm --alpha 1 --out " + d + "/rbm.h5 --checkpoint " +
                         d + "/rbm.ckpt").code == 0 &&
          run("features", "--checkpoint " + d + "/naqs.ckpt --inputs " + d + "/cfg.h5 --out " +
                              d + "/fa.h5").code == 0 &&
          run("features", "--checkpoint " + d + "/rbm.ckpt --inputs " + d + "/cfg.h5 --out " +
                              d + "/fb.h5").code == 0 &&
          run("features", "--checkpoint " + d + "/rbm.ckpt --inputs " + d + "/cfg90.h5 --out " +
                              d + "/f90.h5").code == 0;
  }
  static void TearDownTestSuite() { scratch_.remove(); }
  void SetUp() override {
    if (testing::naqs_exe().empty()) GTEST_SKIP() << "NAQS_EXE not set (run through ctest)";
    ASSERT_TRUE(ok_) << "setting up the ED samples, checkpoints or features failed:\n" << log_;
  }
  static RunResult run(const std::string& cmd, const std::string& args) {
    RunResult r = scratch_.run(cmd, args);
    if (r.code != 0) log_ += cmd + " " + args + ": " + r.err;
    return r;
  }
  static std::set<std::string> files() { return scratch_.files(); }
  std::string path(const std::string& name) const { return scratch_.path(name); }
  static testing::CmdDir scratch_;
  static std::string log_;
  static fs::path dir_;
  static bool ok_;
};
testing::CmdDir CmdAlign::scratch_;
std::string CmdAlign::log_;
fs::path CmdAlign::dir_;
bool CmdAlign::ok_ = false;

TEST_F(CmdAlign, EdSampleDrawsFromGroundState) {
  H5File f = H5File::open_read(path("cfg.h5"));
  EXPECT_EQ(f.dims("/samples/sigma"), (std::vector<int64_t>{120, 8}));
  const std::vector<float> s = f.read_floats("/samples/sigma");
  const std::vector<int64_t> bits = f.read_int64s("/samples/bits");
  const std::vector<int64_t> ids = f.read_int64s("/samples/ids");
  const std::vector<double> p = f.read_doubles("/samples/probability");
  for (int64_t i = 0; i < 120; ++i) {
    EXPECT_EQ(ids[i], i);
    EXPECT_GT(p[i], 0);
    for (int t = 0; t < 8; ++t) EXPECT_EQ(s[i * 8 + t], (bits[i] >> t) & 1 ? -1.0f : 1.0f);
  }
  // same seed, same draws (the 90-sample file is a prefix); a configuration's probability is a
  // function of the configuration
  H5File g = H5File::open_read(path("cfg90.h5"));
  const std::vector<int64_t> bits90 = g.read_int64s("/samples/bits");
  EXPECT_TRUE(std::equal(bits90.begin(), bits90.end(), bits.begin()));
  for (int64_t i = 0; i < 120; ++i)
    for (int64_t j = 0; j < 120; ++j)
      if (bits[i] == bits[j]) EXPECT_EQ(p[i], p[j]);
  // the TFIM ground state at h = 1 favours aligned spins: the two ferromagnetic states are the
  // most probable configurations, and both spin-flip partners appear
  const double p_up = p[std::find(bits.begin(), bits.end(), 0) - bits.begin()];
  EXPECT_EQ(p_up, *std::max_element(p.begin(), p.end()));
  EXPECT_NE(std::find(bits.begin(), bits.end(), 255), bits.end());
}

TEST_F(CmdAlign, FeaturesLayout) {
  H5File f = H5File::open_read(path("fa.h5"));
  EXPECT_EQ(std::get<std::string>(f.get_attr("/", "layer_names")), "h0,block1,block2");
  EXPECT_EQ(std::get<std::string>(f.get_attr("/", "pooling")), "mean over sites");
  for (int l = 0; l < 3; ++l)
    EXPECT_EQ(f.dims("/features/layer_" + std::to_string(l)), (std::vector<int64_t>{120, 4}));
  EXPECT_FALSE(f.exists("/features/layer_3"));
  EXPECT_EQ(f.read_int64s("/ids"), H5File::open_read(path("cfg.h5")).read_int64s("/samples/ids"));
  EXPECT_NE(std::get<std::string>(f.get_attr("/", "model")).find("model = naqs_conv1d"),
            std::string::npos);
  H5File r = H5File::open_read(path("fb.h5"));
  EXPECT_EQ(std::get<std::string>(r.get_attr("/", "layer_names")), "theta,tanh_theta");
  EXPECT_EQ(std::get<std::string>(r.get_attr("/", "pooling")), "none");
  EXPECT_EQ(r.dims("/features/layer_1"), (std::vector<int64_t>{120, 8}));
  // tanh(theta) is the tanh of theta, row by row (real RBM)
  const std::vector<float> th = r.read_floats("/features/layer_0");
  const std::vector<float> t = r.read_floats("/features/layer_1");
  for (std::size_t i = 0; i < th.size(); ++i) EXPECT_NEAR(t[i], std::tanh(double(th[i])), 1e-6);
}

TEST_F(CmdAlign, AlignWritesMatricesNullAndHeatMaps) {
  RunResult r = run("align", path("fa.h5") + " " + path("fb.h5") +
                                 " --metric all --k 5 --null 20 --out " + path("al.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  H5File f = H5File::open_read(path("al.h5"));
  for (const char* m : {"mutual_knn", "cycle_knn", "lcs_knn", "edit_distance_knn", "cka",
                        "unbiased_cka", "cknna"}) {
    const std::string ds = std::string("/alignment/") + m;
    EXPECT_EQ(f.dims(ds), (std::vector<int64_t>{3, 2})) << m;
    const std::vector<double> s = f.read_doubles(ds);
    const double best = std::get<double>(f.get_attr(ds, "best"));
    EXPECT_EQ(best, *std::max_element(s.begin(), s.end())) << m;
    EXPECT_EQ(std::get<int64_t>(f.get_attr(ds, "n")), 120);
    EXPECT_EQ(std::get<int64_t>(f.get_attr(ds, "k")), 5);
    EXPECT_EQ(f.dims(std::string("/null/") + m), (std::vector<int64_t>{20})) << m;
    EXPECT_TRUE(fs::exists(path(std::string("al_") + m + ".png"))) << m;
  }
  EXPECT_EQ(std::get<double>(f.get_attr("/alignment/mutual_knn", "chance")), 5.0 / 119.0);
  // a file against itself: the k-NN metrics and the CKA family reach 1, except cycle_knn: k-NN
  // is not symmetric (j may be among i's neighbours without i among j's; here many sampled
  // configurations repeat, and repeats tie), so A -> A -> A need not come back
  r = run("align", path("fa.h5") + " " + path("fa.h5") + " --metric all --null 3 --no-png --out " +
                       path("self.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  H5File g = H5File::open_read(path("self.h5"));
  EXPECT_LT(std::get<double>(g.get_attr("/alignment/cycle_knn", "best")), 1.0);
  for (const char* m : {"mutual_knn", "lcs_knn", "edit_distance_knn", "cka", "unbiased_cka",
                        "cknna"})
    EXPECT_NEAR(std::get<double>(g.get_attr(std::string("/alignment/") + m, "best")), 1.0, 1e-12)
        << m;
}

TEST_F(CmdAlign, BadInputExitsTwoWithOneLineAndNoFile) {
  // hand-made feature files: a NaN row, other ids, no /features
  {
    H5File f = H5File::create_exclusive(path("nan.h5"));
    std::vector<float> v(120 * 3, 0.5f);
    v[7 * 3 + 1] = std::nanf("");
    f.write_dataset("/features/layer_0", std::vector<float>(120 * 2, 1.0f), {120, 2});
    f.write_dataset("/features/layer_1", v, {120, 3});
    std::vector<int64_t> ids(120);
    for (int i = 0; i < 120; ++i) ids[i] = i;
    f.write_dataset("/ids", ids, {120});
    f.close();
    H5File g = H5File::create_exclusive(path("ids.h5"));
    g.write_dataset("/features/layer_0", std::vector<float>(120 * 2, 1.0f), {120, 2});
    ids[5] = 1000;
    g.write_dataset("/ids", ids, {120});
    g.close();
    H5File h = H5File::create_exclusive(path("nofeat.h5"));
    h.write_dataset("/ids", ids, {120});
    h.close();
  }
  const std::set<std::string> before = files();
  const std::string a = path("fa.h5") + " ", out = " --out " + path("bad.h5");
  const std::vector<std::pair<std::string, std::string>> cases{
      {a + path("f90.h5"), "N = 90"},
      {a + path("ids.h5"), "differ in /ids at row 5"},
      {a + path("fb.h5") + " --k 0", "--k: 0 is out of range"},
      {a + path("fb.h5") + " --k 120", "--k 120 is not allowed for N = 120"},
      {a + path("nan.h5"), "nan.h5:/features/layer_1 row 7 has a NaN or Inf"},
      {a + path("fb.h5") + " --quantile 0", "--quantile: 0 is out of range"},
      {a + path("fb.h5") + " --quantile 1.5", "(0, 1]"},
      {a + path("nofeat.h5"), "has no /features"},
      {a + path("fb.h5") + " --metric svcca", "mutual_knn, cycle_knn, lcs_knn"},
      {a + path("missing.h5"), "does not exist"},
      {path("fa.h5"), "two feature files"},
      {a + path("fb.h5") + " --out " + path("fa.h5") + " --no-png", "already exists"},
  };
  for (const auto& [args, needle] : cases) {
    const bool has_out = args.find("--out") != std::string::npos;
    RunResult r = run("align", args + (has_out ? "" : out));
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(files(), before) << args;
  }
  // an existing heat map is an existing output too
  std::ofstream(path("pre_mutual_knn.png")) << "keep";
  RunResult r = run("align", a + path("fb.h5") + " --out " + path("pre.h5"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("pre_mutual_knn.png' already exists"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("pre.h5")));
  // naqs ed --sample and naqs features
  const std::vector<std::tuple<std::string, std::string, std::string>> more{
      {"ed", "--L 8 --sample 10", "--sample needs --out"},
      {"ed", "--L 8 --h 0.5,1 --sample 10 --out " + path("x.h5"), "one --h"},
      {"ed", "--L 8 --sample 0 --out " + path("x.h5"), "--sample: 0 is out of range"},
      {"features", "--checkpoint " + path("nope.ckpt") + " --inputs " + path("cfg.h5") +
                       " --out " + path("x.h5"), "does not exist"},
      {"features", "--checkpoint " + path("cfg.h5") + " --inputs " + path("cfg.h5") + " --out " +
                       path("x.h5"), "is not a naqs vmc checkpoint"},
      {"features", "--checkpoint " + path("naqs.ckpt") + " --inputs " + path("fa.h5") +
                       " --out " + path("x.h5"), "has no /samples/sigma"},
      {"features", "--checkpoint " + path("naqs.ckpt") + " --inputs " + path("cfg.h5") +
                       " --out " + path("fa.h5"), "already exists"},
  };
  const std::set<std::string> before2 = files();
  for (const auto& [cmd, args, needle] : more) {
    RunResult q = run(cmd, args);
    EXPECT_EQ(q.code, 2) << cmd << " " << args << "\n" << q.err;
    EXPECT_EQ(std::count(q.err.begin(), q.err.end(), '\n'), 1) << args << "\n" << q.err;
    EXPECT_NE(q.err.find(needle), std::string::npos) << args << "\n" << q.err;
    EXPECT_EQ(files(), before2) << args;
  }
}

// A checkpoint whose fingerprint has a malformed number (hand-edited, or damaged): one line
// naming the checkpoint, the fingerprint line and the allowed values, exit 2, nothing written.
// (std::stoi / std::stod took "4x" as 4 and threw an uncaught std::invalid_argument on "abc".)
TEST_F(CmdAlign, MalformedFingerprintNumberIsOneLineExitTwo) {
  const std::string text = H5File::open_read(path("naqs.ckpt")).read_string("/fingerprint_text");
  const std::vector<std::tuple<std::string, std::string, std::string>> cases{
      {"width = 4", "width = 4x", "fingerprint line 'width': '4x' is not"},
      {"J = 1", "J = abc", "fingerprint line 'J': 'abc' is not"},
      {"depth = 2", "depth = -1", "fingerprint line 'depth': -1 is out of range"},
      {"seed = ", "seed = 1e3", "fingerprint line 'seed'"},
  };
  int k = 0;
  for (const auto& [from, to, needle] : cases) {
    const std::size_t at = text.find("\n" + from);
    ASSERT_NE(at, std::string::npos) << from << " in\n" << text;
    std::string bad = text;
    const std::size_t end = bad.find('\n', at + 1);
    bad.replace(at + 1, end - at - 1, to);
    const std::string ck = path("bad" + std::to_string(k++) + ".ckpt");
    fs::copy_file(path("naqs.ckpt"), ck);
    {
      H5File f = H5File::open_rw(ck);
      f.write_string("/fingerprint_text", bad);
      f.close();
    }
    const std::set<std::string> before = files();
    RunResult r = run("features", "--checkpoint " + ck + " --inputs " + path("cfg.h5") +
                                      " --out " + path("x.h5"));
    EXPECT_EQ(r.code, 2) << to << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << to << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << to << "\n" << r.err;
    EXPECT_NE(r.err.find(ck), std::string::npos) << r.err;
    EXPECT_EQ(files(), before) << to;
  }
}

TEST_F(CmdAlign, RandomInitFeaturesDiffer) {
  RunResult r = run("features", "--checkpoint " + path("naqs.ckpt") + " --inputs " +
                                    path("cfg.h5") + " --random-init --out " + path("fr.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  H5File f = H5File::open_read(path("fr.h5")), g = H5File::open_read(path("fa.h5"));
  EXPECT_NE(f.read_floats("/features/layer_2"), g.read_floats("/features/layer_2"));
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/", "checkpoint_step")), 0);
}

// The 2D model: a 3x3 square, NAQS conv2d; features are its horizontal stream H0..H<depth>,
// mean over the 9 sites.
TEST_F(CmdAlign, Conv2dFeatures) {
  const std::string d = dir_.string();
  ASSERT_EQ(run("ed", "--lattice square --L 3 --h 2 --sample 40 --out " + d + "/sq.h5").code, 0)
      << log_;
  ASSERT_EQ(run("vmc", "--lattice square --L 3 --Ly 3 --h 2 --network conv2d --width 3 --depth 2 "
                       "--steps 2 --batch 16 --optimizer adam --obs-samples 32 --ed-max-sites 0 "
                       "--quiet --out " + d + "/sq_vmc.h5 --checkpoint " + d + "/sq.ckpt")
                .code,
            0)
      << log_;
  ASSERT_EQ(run("features", "--checkpoint " + d + "/sq.ckpt --inputs " + d + "/sq.h5 --out " + d +
                                "/sq_f.h5")
                .code,
            0)
      << log_;
  H5File f = H5File::open_read(path("sq_f.h5"));
  EXPECT_EQ(std::get<std::string>(f.get_attr("/", "layer_names")), "H0,H1,H2");
  EXPECT_EQ(f.dims("/features/layer_2"), (std::vector<int64_t>{40, 3}));
  EXPECT_NE(std::get<std::string>(f.get_attr("/", "model")).find("model = naqs_conv2d"),
            std::string::npos);
  // an input file whose configurations have another number of sites is refused
  RunResult r = run("features", "--checkpoint " + d + "/sq.ckpt --inputs " + d + "/cfg.h5 --out " +
                                    d + "/x.h5");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("8 sites per row, the model 9"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("x.h5")));
}

}  // namespace
}  // namespace naqs
