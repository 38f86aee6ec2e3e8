// The language-model study's smallest variant end to end (ctest -L slow; a few minutes on 2
// cores): `mqa-dh8` (MQA, head dim 8: the fewest KV-cache bytes of the sweep) trained with the
// default settings of `naqs lm train` on the Shakespeare corpus as a sweep task, then the report
// (table + Pareto plot), a reload for evaluation and sampling with and without the cache.
// Needs the corpus (scripts/fetch_corpus.sh -> data/corpus/shakespeare, or $NAQS_CORPUS);
// skipped without it.
// Threshold: validation < 3.0 bits per byte. Why: the best order-1 (bigram) model of the
// validation works themselves (plug-in, in-sample) has 3.57 bits and the order-0 one 4.79, so
// 3.0 requires context beyond the previous byte; the default MHA model reaches ~2.5 in 600 steps.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "ml/transformer/sweep.hpp"

namespace naqs::testing {
namespace {

namespace fs = std::filesystem;

TEST(LmSlow, SmallestStudyVariantEndToEnd) {
  const char* env = std::getenv("NAQS_CORPUS");
  const std::string corpus =
      env ? env : (fs::path(NAQS_SOURCE_DIR) / "data" / "corpus" / "shakespeare").string();
  if (!fs::is_directory(corpus))
    GTEST_SKIP() << "no corpus at '" << corpus << "' (run scripts/fetch_corpus.sh)";
  const fs::path dir = fs::temp_directory_path() / ("naqs_lm_slow_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ml::LmConfig base;
  base.corpus = corpus;
  base.quiet = true;
  const std::vector<ml::LmSweepTask> tasks = ml::lm_sweep_tasks(dir.string(), {"mqa-dh8"}, {1});
  EXPECT_EQ(ml::run_lm_sweep_task(base, tasks[0]), "ran");
  EXPECT_EQ(ml::run_lm_sweep_task(base, tasks[0]), "done");
  const std::vector<ml::LmReportRow> rows = ml::lm_report_rows(dir.string());
  ASSERT_EQ(rows.size(), 1u);
  std::printf("mqa-dh8: %lld parameters, %lld KV bytes/token, validation %.4f bits/byte, %.0f s\n",
              static_cast<long long>(rows[0].n_params),
              static_cast<long long>(rows[0].kv_bytes_per_token), rows[0].bpc_mean,
              rows[0].train_seconds);
  EXPECT_EQ(rows[0].kv_bytes_per_token, 2 * 1 * 8 * 4 * 4);
  EXPECT_LT(rows[0].bpc_mean, 3.0);
  const std::vector<std::string> files = ml::make_lm_report(dir.string(), "");
  for (const std::string& f : files) EXPECT_TRUE(fs::exists(f)) << f;
  const ml::Transformer m = ml::load_model(tasks[0].output);
  EXPECT_EQ(ml::generate(m, "ROMEO:", 60, 0.8, 4, true), ml::generate(m, "ROMEO:", 60, 0.8, 4, false));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace naqs::testing
