// The LM sweep and report (ml/transformer/sweep.hpp): variant names, task enumeration,
// idempotent tasks (a finished task is skipped, an interrupted one resumes), the report table.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "host/core/error.hpp"
#include "host/core/stop_signal.hpp"
#include "ml/transformer/sweep.hpp"
#include "tests/support/lm_fixtures.hpp"

namespace naqs::testing {
namespace {

namespace fs = std::filesystem;

TEST(LmSweep, VariantNamesSetHeadsKvHeadsShareAndHeadDim) {
  ml::TransformerConfig base;  // d_model 128, layers 4, head_dim 32
  const ml::TransformerConfig mha = ml::variant_config("mha", base);
  EXPECT_EQ(mha.heads, 4);
  EXPECT_EQ(mha.kv_heads, 4);
  EXPECT_EQ(mha.kv_share, 1);
  const ml::TransformerConfig g = ml::variant_config("gqa2", base);
  EXPECT_EQ(g.kv_heads, 2);
  const ml::TransformerConfig m = ml::variant_config("mqa-cla2-dh16", base);
  EXPECT_EQ(m.heads, 8);
  EXPECT_EQ(m.kv_heads, 1);
  EXPECT_EQ(m.head_dim, 16);
  EXPECT_EQ(m.kv_share, 2);
  EXPECT_EQ(m.kv_bytes_per_token(4), 2 * 1 * 16 * 2 * 4);
  for (const char* bad : {"foo", "mqa-cla", "mqa-dh0", "gqa3", "mqa-cla5", "mqa-dh7", "mha-x2"})
    EXPECT_THROW(ml::variant_config(bad, base), UsageError) << bad;
  try {
    ml::variant_config("gqa3", base);
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("variant 'gqa3'"), std::string::npos) << e.what();
  }
}

TEST(LmSweep, TasksAreIdempotentAndTheReportAggregatesSeeds) {
  const fs::path dir = fs::temp_directory_path() / ("naqs_test_lm_sweep_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ml::LmConfig base = tiny_lm_config();  // the variants set the heads from head_dim 8
  base.model.head_dim = 8;
  base.corpus = "synthetic:2";
  base.steps = 4;
  base.warmup = 1;
  base.eval_windows = 4;
  base.sample_tokens = 0;
  const std::vector<ml::LmSweepTask> tasks =
      ml::lm_sweep_tasks(dir.string(), {"mha", "mqa-cla2"}, {1, 2});
  ASSERT_EQ(tasks.size(), 4u);
  EXPECT_EQ(tasks[1].variant, "mha");
  EXPECT_EQ(tasks[1].seed, 2u);
  EXPECT_EQ(fs::path(tasks[2].output).filename(), "mqa-cla2_seed1.h5");
  // task 3 interrupted by a signal after one step, then resumed
  {
    StopSignalGuard outer;
    std::raise(SIGTERM);
    EXPECT_EQ(ml::run_lm_sweep_task(base, tasks[3]), "interrupted");
    clear_stop_request();
  }
  for (const auto& t : tasks) ml::run_lm_sweep_task(base, t);
  for (const auto& t : tasks) EXPECT_EQ(ml::run_lm_sweep_task(base, t), "done") << t.output;
  const std::vector<ml::LmReportRow> rows = ml::lm_report_rows(dir.string());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].variant, "mha");  // more KV bytes first
  EXPECT_EQ(rows[0].seeds, 2);
  EXPECT_EQ(rows[0].kv_bytes_per_token, 2 * 2 * 8 * 2 * 4);
  EXPECT_EQ(rows[1].kv_bytes_per_token, 2 * 1 * 8 * 1 * 4);
  EXPECT_GT(rows[0].bpc_std, 0.0);  // two seeds differ
  // The report never overwrites an earlier one: refused before anything is written.
  const fs::path md = dir / "lm_report.md", csv = dir / "lm_report.csv";
  const fs::path png = dir / "lm_pareto.png";
  std::ofstream(md) << "earlier report\n";
  EXPECT_THROW(ml::make_lm_report(dir.string(), "/bin/false"), UsageError);
  EXPECT_FALSE(fs::exists(csv));
  std::ifstream in(md);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "earlier report");
  fs::remove(md);
  // A failing plot script: the tables are published, no plot and no temp file is left behind.
  EXPECT_THROW(ml::make_lm_report(dir.string(), "/bin/false"), Error);
  EXPECT_TRUE(fs::exists(md));
  EXPECT_TRUE(fs::exists(csv));
  EXPECT_FALSE(fs::exists(png));
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  fs::remove_all(dir);
  EXPECT_THROW(ml::lm_report_rows(dir.string()), UsageError);
}

}  // namespace
}  // namespace naqs::testing
