// Training, evaluation and sampling of the byte-level transformer (ml/transformer/train.hpp,
// corpus.hpp) on the synthetic corpus: --resume after a signal continues bit for bit, the
// output layout, sampling with and without the KV cache gives the same text, corpus errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <variant>
#include <vector>

#include <unistd.h>

#include "host/core/error.hpp"
#include "host/core/stop_signal.hpp"
#include "host/io/checkpoint.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"
#include "ml/transformer/corpus.hpp"
#include "ml/transformer/train.hpp"
#include "tests/support/lm_fixtures.hpp"

namespace naqs::testing {
namespace {

namespace fs = std::filesystem;

class LmTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("naqs_test_lm_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static ml::LmConfig tiny_run() { return tiny_lm_config(); }
  fs::path dir_;
};

TEST_F(LmTrain, ResumeAfterASignalContinuesBitwise) {
  ml::LmConfig straight = tiny_run();
  straight.output = path("straight.h5");
  straight.checkpoint = path("straight.ckpt");
  const ml::LmResult a = ml::run_lm_train(straight);
  ASSERT_FALSE(a.interrupted);

  ml::LmConfig cut = tiny_run();
  cut.output = path("cut.h5");
  cut.checkpoint = path("cut.ckpt");
  {
    StopSignalGuard outer;  // keeps the flag raised below for the run's own guard
    std::raise(SIGTERM);
    const ml::LmResult first = ml::run_lm_train(cut);
    EXPECT_TRUE(first.interrupted);
    EXPECT_EQ(first.steps_done, 1);
    clear_stop_request();
  }
  cut.resume = true;
  const ml::LmResult b = ml::run_lm_train(cut);
  EXPECT_EQ(b.first_step, 1);
  EXPECT_FALSE(b.interrupted);
  H5File fa = H5File::open_read(straight.output), fb = H5File::open_read(cut.output);
  EXPECT_EQ(fa.read_doubles("/model/params"), fb.read_doubles("/model/params"));
  EXPECT_EQ(fa.read_doubles("/train/loss"), fb.read_doubles("/train/loss"));
  EXPECT_EQ(fa.read_doubles("/results/val_loss"), fb.read_doubles("/results/val_loss"));
  EXPECT_EQ(fa.read_string("/sample/text"), fb.read_string("/sample/text"));
  // a fresh run refuses the existing checkpoint; another fingerprint is refused on resume
  ml::LmConfig again = tiny_run();
  again.output = path("again.h5");
  again.checkpoint = cut.checkpoint;
  EXPECT_THROW(ml::run_lm_train(again), UsageError);
  again.resume = true;
  again.lr = 1e-2;
  try {
    ml::run_lm_train(again);
    ADD_FAILURE() << "resumed with another fingerprint";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("lr"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(again.output));
}

TEST_F(LmTrain, OutputLayoutAndTheOutputIsNeverOverwritten) {
  ml::LmConfig c = tiny_run();
  c.output = path("run.h5");
  const ml::LmResult r = ml::run_lm_train(c);
  H5File f = H5File::open_read(c.output);
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/model", "heads")), 4);
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/model", "kv_heads")), 1);
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/model", "kv_share")), 2);
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/model", "d_head")), 4);
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/model", "n_params")), r.n_params);
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/model", "kv_bytes_per_token")), 2 * 1 * 4 * 1 * 4);
  EXPECT_EQ(std::get<std::string>(f.get_attr("/model", "dtype")), "f32");
  for (const char* col : {"step", "loss", "lr", "grad_norm", "tokens_per_s"})
    EXPECT_EQ(f.read_doubles(cat("/train/", col)).size(), 6u) << col;
  for (const char* res : {"val_loss", "val_loss_err", "val_bpc", "val_bpc_err", "val_ppl",
                          "val_ppl_err"})
    EXPECT_TRUE(f.exists(cat("/results/", res))) << res;
  EXPECT_EQ(f.read_doubles("/results/window_loss").size(), 8u);
  EXPECT_NEAR(f.read_doubles("/results/val_bpc")[0], r.eval.loss / std::log(2.0), 1e-12);
  EXPECT_EQ(f.read_string("/sample/text").size(), 8u);
  // every sampled byte exactly (the string form would end at a sampled 0 byte)
  const std::vector<int64_t> bytes = f.read_int64s("/sample/bytes");
  ASSERT_EQ(bytes.size(), r.sample.size());
  for (size_t i = 0; i < bytes.size(); ++i)
    EXPECT_EQ(bytes[i], static_cast<uint8_t>(r.sample[i])) << i;
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/", "complete")), 1);
  // the trained model reloads and evaluates to the same numbers
  const ml::Transformer m = ml::load_model(c.output);
  const ml::Corpus corpus = ml::load_corpus(c.corpus, c.synthetic_train_bytes, c.synthetic_val_bytes);
  const ml::EvalResult e = ml::evaluate(m, corpus.val, c.eval_windows, c.batch);
  EXPECT_EQ(e.loss, r.eval.loss);
  c.checkpoint = path("other.ckpt");
  EXPECT_THROW(ml::run_lm_train(c), UsageError);  // output exists
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A run stopped by a signal after its first step (a checkpoint written when `checkpoint` is set).
ml::LmResult interrupted_run(ml::LmConfig c) {
  StopSignalGuard outer;
  std::raise(SIGTERM);
  const ml::LmResult r = ml::run_lm_train(c);
  clear_stop_request();
  return r;
}

TEST_F(LmTrain, OutputAndCheckpointCarryTheRunIdentity) {
  ml::LmConfig c = tiny_run();
  c.output = path("run.h5");
  c.checkpoint = path("run.ckpt");
  ml::run_lm_train(c);
  const auto out_id = read_run_identity(H5File::open_read(c.output));
  ASSERT_TRUE(out_id.has_value());
  EXPECT_EQ(out_id->run_id.size(), 32u);
  EXPECT_EQ(out_id->fingerprint, fingerprint_hash(ml::lm_fingerprint_text(c)));
  H5File ck = H5File::open_read(c.checkpoint);
  EXPECT_EQ(std::get<std::string>(ck.get_attr("/", "run_id")), out_id->run_id);
}

TEST_F(LmTrain, ResumeRefusesAnOutputOfAnotherRunNamingBothFiles) {
  ml::LmConfig a = tiny_run(), b = tiny_run();
  a.output = path("a.h5");
  a.checkpoint = path("a.ckpt");
  b.output = path("b.h5");
  b.checkpoint = path("b.ckpt");
  ASSERT_TRUE(interrupted_run(a).interrupted);
  ASSERT_TRUE(interrupted_run(b).interrupted);
  const std::string a_out = file_bytes(a.output), b_ckpt = file_bytes(b.checkpoint);
  ml::LmConfig mixed = tiny_run();  // the same settings, but a's output with b's checkpoint
  mixed.output = a.output;
  mixed.checkpoint = b.checkpoint;
  mixed.resume = true;
  try {
    ml::run_lm_train(mixed);
    ADD_FAILURE() << "continued another run's output";
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(a.output), std::string::npos) << msg;
    EXPECT_NE(msg.find(b.checkpoint), std::string::npos) << msg;
    EXPECT_NE(msg.find("refusing to mix"), std::string::npos) << msg;
  }
  EXPECT_EQ(file_bytes(a.output), a_out);
  EXPECT_EQ(file_bytes(b.checkpoint), b_ckpt);
  // a checkpoint whose output is gone is refused too (not a fresh output beside it)
  fs::remove(a.output);
  a.resume = true;
  EXPECT_THROW(ml::run_lm_train(a), UsageError);
  EXPECT_FALSE(fs::exists(a.output));
  // output and checkpoint naming one file: refused before any work
  ml::LmConfig same = tiny_run();
  same.output = path("same.h5");
  same.checkpoint = path("same.h5");
  EXPECT_THROW(ml::run_lm_train(same), UsageError);
  EXPECT_FALSE(fs::exists(same.output));
}

TEST_F(LmTrain, UnfinishedOutputWithoutACheckpointIsTakenOverOnlyWithTheSameSettings) {
  ml::LmConfig c = tiny_run();
  c.output = path("run.h5");
  c.checkpoint = "";  // no checkpoint: the stopped run leaves only its unfinished output
  ASSERT_TRUE(interrupted_run(c).interrupted);
  const auto id = read_run_identity(H5File::open_read(c.output));
  ASSERT_TRUE(id.has_value());
  c.checkpoint = path("run.ckpt");
  c.resume = true;
  ml::LmConfig other = c;
  other.lr = 1e-2;
  const std::string before = file_bytes(c.output);
  try {
    ml::run_lm_train(other);
    ADD_FAILURE() << "took over an output of other settings";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("other settings"), std::string::npos) << e.what();
  }
  EXPECT_EQ(file_bytes(c.output), before);
  EXPECT_FALSE(fs::exists(c.checkpoint));
  const ml::LmResult r = ml::run_lm_train(c);
  EXPECT_EQ(r.first_step, 0);
  EXPECT_FALSE(r.interrupted);
  H5File f = H5File::open_read(c.output);
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/", "complete")), 1);
  EXPECT_EQ(read_run_identity(f)->run_id, id->run_id);  // the same run, continued
  EXPECT_EQ(f.read_doubles("/train/loss").size(), 6u);
}

TEST_F(LmTrain, AFinishedRunIsLeftUntouchedAndACompleteOutputIsNotTakenOver) {
  ml::LmConfig c = tiny_run();
  c.output = path("run.h5");
  c.checkpoint = path("run.ckpt");
  const ml::LmResult first = ml::run_lm_train(c);
  const std::string out = file_bytes(c.output), ckpt = file_bytes(c.checkpoint);
  c.resume = true;
  const ml::LmResult again = ml::run_lm_train(c);
  EXPECT_EQ(again.first_step, 6);
  EXPECT_EQ(again.eval.loss, first.eval.loss);
  EXPECT_EQ(file_bytes(c.output), out);
  EXPECT_EQ(file_bytes(c.checkpoint), ckpt);
  // without its checkpoint, a complete output is never restarted
  fs::remove(c.checkpoint);
  EXPECT_THROW(ml::run_lm_train(c), UsageError);
  EXPECT_EQ(file_bytes(c.output), out);
  EXPECT_FALSE(fs::exists(c.checkpoint));
}

TEST_F(LmTrain, SamplingWithAndWithoutTheCacheGivesTheSameText) {
  ml::LmConfig c = tiny_run();
  c.output = path("run.h5");
  ml::run_lm_train(c);
  const ml::Transformer m = ml::load_model(c.output);
  for (double temp : {0.0, 0.8, 1.5}) {
    const std::string cached = ml::generate(m, "abc", 12, temp, 9, true);
    const std::string full = ml::generate(m, "abc", 12, temp, 9, false);
    EXPECT_EQ(cached, full) << "temperature " << temp;
    EXPECT_EQ(cached.size(), 12u);
  }
  EXPECT_NE(ml::generate(m, "abc", 12, 1.5, 9, true), ml::generate(m, "abc", 12, 1.5, 10, true));
  try {
    ml::generate(m, "abc", 14, 1.0, 9, true);
    ADD_FAILURE() << "no context error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--tokens 14 after a prompt of 3 bytes needs 17"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(LmTrain, MissingOrEmptyCorpusNamesTheFetchScript) {
  for (const std::string& dir : {path("absent"), dir_.string()}) {
    try {
      ml::load_corpus(dir);
      ADD_FAILURE() << "no error for " << dir;
    } catch (const UsageError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("scripts/fetch_corpus.sh"), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
  EXPECT_THROW(ml::load_corpus("synthetic:x1"), UsageError);
}

TEST(LmCorpus, SyntheticSourceIsDeterministicWithItsStatedEntropyRate) {
  const std::vector<uint8_t> a = ml::markov_text(5, 200000), b = ml::markov_text(5, 1000);
  EXPECT_TRUE(std::equal(b.begin(), b.end(), a.begin()));
  // empirical conditional entropy of the order-2 chain vs the stated rate
  std::vector<double> count(8 * 8 * 8, 0.0);
  for (size_t i = 2; i < a.size(); ++i) count[((a[i - 2] - 'a') * 8 + (a[i - 1] - 'a')) * 8 + (a[i] - 'a')] += 1;
  double h = 0, total = double(a.size() - 2);
  for (int ctx = 0; ctx < 64; ++ctx) {
    double n = 0;
    for (int c = 0; c < 8; ++c) n += count[ctx * 8 + c];
    for (int c = 0; c < 8; ++c)
      if (count[ctx * 8 + c] > 0) h -= count[ctx * 8 + c] / total * std::log2(count[ctx * 8 + c] / n);
  }
  const double rate = ml::markov_entropy_rate_bits(5);
  EXPECT_GT(rate, 0.5);
  EXPECT_LT(rate, 2.5);  // well below log2(8) = 3: there is something to learn
  EXPECT_NEAR(h, rate, 0.02);  // plug-in estimate over 2e5 bytes: bias ~ 64*7/(2 n ln 2) ~ 2e-3
  // the best order-1 model is more than a bit worse (the statistical test's margin relies on it)
  std::vector<double> c1(64, 0.0);
  for (size_t i = 1; i < a.size(); ++i) c1[(a[i - 1] - 'a') * 8 + (a[i] - 'a')] += 1;
  double h1 = 0;
  for (int p = 0; p < 8; ++p) {
    double n = 0;
    for (int c = 0; c < 8; ++c) n += c1[p * 8 + c];
    for (int c = 0; c < 8; ++c)
      if (c1[p * 8 + c] > 0) h1 -= c1[p * 8 + c] / double(a.size() - 1) * std::log2(c1[p * 8 + c] / n);
  }
  EXPECT_GT(h1, rate + 1.0);
  EXPECT_NEAR(ml::markov_entropy_rate_bits(1), 1.2110, 5e-4);  // quoted in test_lm_learns.cpp
}

}  // namespace
}  // namespace naqs::testing
