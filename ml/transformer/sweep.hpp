// `naqs lm sweep` and `naqs lm report`: the KV-bytes vs perplexity study of cross-layer attention
// (docs/ML.md) as independent tasks, one per (variant, seed), Slurm-array ready like
// `naqs sweep` (slurm/lm_sweep_array.sbatch).
//
// Variants (at the base model's d_model, layers, context): "<attention>[-cla<s>][-dh<D>]",
//   attention: mha (Hkv = Hq), gqa<g> (Hkv = g), mqa (Hkv = 1); cla<s>: kv_share s (default 1);
//   dh<D>: head dim D (default the base's), Hq = d_model / D. E.g. mha, gqa2, mqa, mqa-dh16,
//   mqa-dh8, mqa-cla2, mqa-cla2-dh16, mqa-cla3.
// Task k of V variants x S seeds (variant-major): variant k / S, seed k % S; its files are
// DIR/<variant>_seed<seed>.h5 and .h5.ckpt. A task whose output is complete is skipped; one with
// a checkpoint resumes from it; an unfinished output without one (killed before its first
// checkpoint) restarts from step 0 when its settings are the task's (the --resume rules of naqs
// lm train: plan_resume, host/io/ownership.hpp); so resubmitting a sweep finishes exactly what is
// missing, and a file of another run in a task's place is refused, left untouched.
// Report: every complete task file of DIR grouped by variant: parameters, KV bytes per token,
// validation bpc mean ± sample std over seeds (and the mean of the per-run standard errors),
// train seconds; written as DIR/lm_report.md and DIR/lm_report.csv, and the bytes-vs-bpc Pareto
// plot DIR/lm_pareto.png by the embedded Python script (ml/transformer/lm_report.py).
// Errors: UsageError for a malformed variant (naming it and the grammar), an empty list, an
// empty or missing directory; a missing Python / matplotlib is an Error naming the packages.
// Tests: tests/unit/test_lm_sweep.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ml/transformer/train.hpp"

namespace naqs::ml {

TransformerConfig variant_config(const std::string& variant, const TransformerConfig& base);

struct LmSweepTask {
  std::string variant;
  uint64_t seed = 0;
  std::string output, checkpoint;
};
std::vector<LmSweepTask> lm_sweep_tasks(const std::string& dir,
                                        const std::vector<std::string>& variants,
                                        const std::vector<uint64_t>& seeds);

// Runs one task with the base settings (model size, corpus, steps, ...): "done" (skipped),
// "resumed", "ran", or "interrupted" (signal: checkpoint written).
std::string run_lm_sweep_task(const LmConfig& base, const LmSweepTask& task);

struct LmReportRow {
  std::string variant;
  int64_t n_params = 0, kv_bytes_per_token = 0, seeds = 0;
  double bpc_mean = 0, bpc_std = 0, bpc_err_mean = 0, train_seconds = 0;
};
std::vector<LmReportRow> lm_report_rows(const std::string& dir);
// Writes the table files and the plot; returns the paths written. Never over an earlier
// report: any of the three present is refused (UsageError) before anything is written; each is
// published whole (write_text_atomically; the plot drawn into a temp file, then publish_new).
std::vector<std::string> make_lm_report(const std::string& dir, const std::string& python);
const char* lm_report_script_text();

}  // namespace naqs::ml
