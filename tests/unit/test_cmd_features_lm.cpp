// `naqs features --model` end to end through the built binary ($NAQS_EXE, set by ctest): two tiny
// language models trained on the synthetic corpus (tests/support/lm_fixtures.hpp), their
// residual-stream features on held-out windows drawn by seed or read from an earlier features
// file, a row checked against a forward of its window by itself, `naqs align` on two models'
// files, and every bad input: exit code 2, one line, nothing written.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "host/core/tensor_convert.hpp"
#include "host/io/hdf5.hpp"
#include "ml/transformer/corpus.hpp"
#include "ml/transformer/features.hpp"
#include "ml/transformer/train.hpp"
#include "tests/support/cli_run.hpp"
#include "tests/support/lm_fixtures.hpp"

namespace naqs::testing {
namespace {

namespace fs = std::filesystem;

class CmdFeaturesLm : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (naqs_exe().empty()) return;
    dir_ = fs::temp_directory_path() / ("naqs_test_cmd_features_lm_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(p("tiny.ini")) << tiny_lm_ini();
    for (const auto& [seed, name] : {std::pair{1, "run.h5"}, std::pair{2, "run2.h5"}}) {
      const CliRun r = run_naqs("lm train --config " + p("tiny.ini") + " --seed " +
                                std::to_string(seed) + " -o " + p(name));
      if (r.rc != 0) log_ += r.out;
    }
    const CliRun r = run_naqs("features --model " + p("run.h5") + " --windows 24 --seed 5 --out " +
                              p("f1.h5"));
    if (r.rc != 0) log_ += r.out;
    ok_ = log_.empty();
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (naqs_exe().empty()) GTEST_SKIP() << "NAQS_EXE not set (run through ctest)";
    ASSERT_TRUE(ok_) << "training the tiny models or their first features failed:\n" << log_;
  }
  static std::string p(const std::string& name) { return (dir_ / name).string(); }
  static std::set<std::string> files() {
    std::set<std::string> s;
    for (const auto& e : fs::directory_iterator(dir_)) s.insert(e.path().filename().string());
    return s;
  }
  static fs::path dir_;
  static std::string log_;
  static bool ok_;
};
fs::path CmdFeaturesLm::dir_;
std::string CmdFeaturesLm::log_;
bool CmdFeaturesLm::ok_ = false;

TEST_F(CmdFeaturesLm, LayoutWindowsAndIds) {
  H5File f = H5File::open_read(p("f1.h5"));
  EXPECT_EQ(std::get<std::string>(f.get_attr("/", "layer_names")), "embedding,block1,block2");
  EXPECT_EQ(std::get<std::string>(f.get_attr("/", "pooling")), "mean over positions");
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/", "n_layers")), 3);
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/", "checkpoint_step")), 5);
  for (int l = 0; l < 3; ++l)
    EXPECT_EQ(f.dims("/features/layer_" + std::to_string(l)), (std::vector<int64_t>{24, 16}));
  EXPECT_FALSE(f.exists("/features/layer_3"));
  EXPECT_EQ(f.dims("/windows/bytes"), (std::vector<int64_t>{24, 16}));
  const std::vector<int64_t> ids = f.read_int64s("/ids");
  EXPECT_EQ(ids, f.read_int64s("/windows/offsets"));
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/windows", "context")), 16);
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/windows", "seed")), 5);
  EXPECT_EQ(std::get<std::string>(f.get_attr("/windows", "corpus")), "synthetic:4");
  // the windows are the held-out bytes at their offsets (the corpus as naqs lm train reads it)
  const ml::Corpus corpus = ml::load_corpus("synthetic:4");
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/windows", "n_slots")),
            static_cast<int64_t>(corpus.val.size()) / 16);
  const std::vector<int64_t> bytes = f.read_int64s("/windows/bytes");
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(ids[i] % 16, 0) << i;
    for (int64_t t = 0; t < 16; ++t)
      ASSERT_EQ(bytes[i * 16 + t], corpus.val[static_cast<size_t>(ids[i] + t)]) << i << " " << t;
  }
  EXPECT_NE(std::get<std::string>(f.get_attr("/", "model")).find("model = transformer_lm"),
            std::string::npos);
}

// The features of one window equal the residual stream of a forward of that window alone,
// averaged over its positions (the model read from the lm output by the library).
TEST_F(CmdFeaturesLm, RowEqualsAForwardOfItsWindowAlone) {
  H5File f = H5File::open_read(p("f1.h5"));
  const std::vector<int64_t> bytes = f.read_int64s("/windows/bytes");
  const ml::Transformer m = ml::load_model(p("run.h5"));
  for (const int64_t row : {int64_t{0}, int64_t{13}, int64_t{23}}) {
    std::vector<int32_t> tok(bytes.begin() + row * 16, bytes.begin() + (row + 1) * 16);
    ml::TrainState st;
    m.forward_train(Tensor::from_vector(tok, {1, 16}), st);
    for (int l = 0; l < 3; ++l) {
      const Tensor stream = l < 2 ? st.layers[static_cast<size_t>(l)].x_in : st.x_out;
      const std::vector<double> v = to_host_f64(stream);  // (1, 16, 16)
      const std::vector<float> feat = f.read_floats("/features/layer_" + std::to_string(l));
      for (int c = 0; c < 16; ++c) {
        double mean = 0;
        for (int t = 0; t < 16; ++t) mean += v[static_cast<size_t>(t * 16 + c)];
        mean /= 16;
        // f32 model: a batch of 24 and a batch of 1 may round the GEMMs differently, then the
        // mean is stored as float
        const double got = feat[static_cast<size_t>(row * 16 + c)];
        EXPECT_NEAR(got, mean, 1e-5 + 1e-5 * std::abs(mean)) << row << " " << l << " " << c;
      }
    }
  }
}

TEST_F(CmdFeaturesLm, WindowsFileGivesIdenticalInputsAndAlignRuns) {
  // the same model on the windows of f1.h5: the same rows exactly
  CliRun r = run_naqs("features --model " + p("run.h5") + " --inputs " + p("f1.h5") + " --out " +
                      p("f1b.h5"));
  ASSERT_EQ(r.rc, 0) << r.out;
  H5File a = H5File::open_read(p("f1.h5")), b = H5File::open_read(p("f1b.h5"));
  EXPECT_EQ(a.read_int64s("/ids"), b.read_int64s("/ids"));
  EXPECT_EQ(a.read_int64s("/windows/bytes"), b.read_int64s("/windows/bytes"));
  EXPECT_EQ(a.read_floats("/features/layer_2"), b.read_floats("/features/layer_2"));
  EXPECT_EQ(std::get<int64_t>(b.get_attr("/windows", "seed")), 5);
  EXPECT_EQ(std::get<std::string>(b.get_attr("/windows", "drawn_by")), p("f1.h5"));
  // another model on the same windows; naqs align takes the two files as they are
  r = run_naqs("features --model " + p("run2.h5") + " --inputs " + p("f1.h5") + " --out " +
               p("f2.h5"));
  ASSERT_EQ(r.rc, 0) << r.out;
  H5File c = H5File::open_read(p("f2.h5"));
  EXPECT_EQ(a.read_int64s("/ids"), c.read_int64s("/ids"));
  EXPECT_NE(a.read_floats("/features/layer_2"), c.read_floats("/features/layer_2"));
  r = run_naqs("align " + p("f1.h5") + " " + p("f2.h5") + " --k 3 --null 5 --no-png --out " +
               p("al.h5"));
  ASSERT_EQ(r.rc, 0) << r.out;
  H5File al = H5File::open_read(p("al.h5"));
  EXPECT_EQ(al.dims("/alignment/mutual_knn"), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(std::get<int64_t>(al.get_attr("/alignment/mutual_knn", "n")), 24);
  // the same seed draws the same windows; another seed others
  r = run_naqs("features --model " + p("run2.h5") + " --windows 24 --seed 5 --out " + p("s5.h5"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(H5File::open_read(p("s5.h5")).read_int64s("/ids"), a.read_int64s("/ids"));
  r = run_naqs("features --model " + p("run.h5") + " --windows 24 --seed 6 --out " + p("s6.h5"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(H5File::open_read(p("s6.h5")).read_int64s("/ids"), a.read_int64s("/ids"));
  // a shorter context than the model's
  r = run_naqs("features --model " + p("run.h5") + " --windows 10 --context 8 --out " + p("c8.h5"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(H5File::open_read(p("c8.h5")).dims("/windows/bytes"), (std::vector<int64_t>{10, 8}));
}

TEST_F(CmdFeaturesLm, RandomInitIsTheUntrainedModel) {
  const CliRun r = run_naqs("features --model " + p("run.h5") + " --inputs " + p("f1.h5") +
                            " --random-init --out " + p("r.h5"));
  ASSERT_EQ(r.rc, 0) << r.out;
  H5File f = H5File::open_read(p("r.h5")), g = H5File::open_read(p("f1.h5"));
  EXPECT_NE(f.read_floats("/features/layer_2"), g.read_floats("/features/layer_2"));
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/", "checkpoint_step")), 0);
  // layer 0 of the initial model: the mean of the embedding rows init(seed 1) gives
  const ml::Transformer trained = ml::load_model(p("run.h5"));
  ml::Transformer init(trained.config(), trained.dtype(), trained.device());
  init.init(1);
  const std::vector<double> wte = to_host_f64(init.params().get("wte"));  // (256, 16)
  const std::vector<int64_t> bytes = g.read_int64s("/windows/bytes");
  const std::vector<float> e = f.read_floats("/features/layer_0");
  for (int64_t row = 0; row < 24; ++row)
    for (int c = 0; c < 16; ++c) {
      double mean = 0;
      for (int t = 0; t < 16; ++t) mean += wte[static_cast<size_t>(bytes[row * 16 + t] * 16 + c)];
      mean /= 16;
      EXPECT_NEAR(e[static_cast<size_t>(row * 16 + c)], mean, 1e-7 + 1e-6 * std::abs(mean));
    }
}

TEST_F(CmdFeaturesLm, BadInputIsOneLineExitCode2AndWritesNothing) {
  {
    H5File h = H5File::create_exclusive(p("long.h5"));  // windows longer than the context
    h.write_dataset("/windows/bytes", std::vector<int64_t>(2 * 20, 97), {2, 20});
    h.write_dataset("/ids", std::vector<int64_t>{0, 20}, {2});
    h.close();
    H5File q = H5File::create_exclusive(p("byte.h5"));  // a value that is no byte
    std::vector<int64_t> v(2 * 8, 97);
    v[8 + 3] = 300;
    q.write_dataset("/windows/bytes", v, {2, 8});
    q.write_dataset("/ids", std::vector<int64_t>{0, 8}, {2});
    q.close();
    std::ofstream(p("text.h5")) << "not hdf5";
  }
  const std::string model = "features --model " + p("run.h5");
  const std::string out = " --out " + p("bad.h5");
  const std::vector<std::pair<std::string, std::string>> cases{
      {model + " --corpus " + p("nope"), "does not exist"},
      {model + " --context 17", "--context 17 exceeds the context"},
      {model + " --windows 4097", "holds 4096 disjoint windows of 16 bytes"},
      {model + " --windows 0", "--windows: 0 is out of range"},
      {model + " --seed -3", "--seed"},
      {"features --model " + p("f1.h5"), "not a finished naqs lm train output"},
      {"features --model " + p("text.h5"), "is not a readable naqs lm train output"},
      {"features --model " + p("absent.h5"), "does not exist"},
      {model + " --checkpoint " + p("run.h5.ckpt"), "one of --checkpoint"},
      {"features --checkpoint " + p("run.h5.ckpt") + " --windows 8 --inputs " + p("f1.h5"),
       "--windows is an option of --model"},
      {model + " --inputs " + p("f1.h5") + " --windows 8", "--windows and --inputs"},
      {model + " --inputs " + p("f1.h5") + " --corpus synthetic:4", "--corpus and --inputs"},
      {model + " --inputs " + p("run.h5"), "has no /windows/bytes"},
      {model + " --inputs " + p("long.h5"), "windows of 20 bytes exceed the model's context 16"},
      {model + " --inputs " + p("byte.h5"), "row 1 has 300"},
      {model + " --inputs " + p("absent.h5"), "does not exist"},
      {model + " --out " + p("f1.h5"), "already exists"},
  };
  const std::set<std::string> before = files();
  for (const auto& [args, needle] : cases) {
    const bool has_out = args.find("--out") != std::string::npos;
    const CliRun r = run_naqs(args + (has_out ? "" : out));
    EXPECT_EQ(r.rc, 2) << args << "\n" << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << args << "\n" << r.out;
    EXPECT_EQ(files(), before) << args;
  }
}

}  // namespace
}  // namespace naqs::testing
