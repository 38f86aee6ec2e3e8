// Training, evaluation and sampling of the byte-level transformer (the engine behind
// `naqs lm train | eval | sample`; options: apps/cmd_lm.cpp; layout: docs/HDF5_LAYOUT.md).
//
// Training: AdamW (beta1 0.9, beta2 0.95, eps 1e-8, decoupled weight decay on every parameter),
// warmup_cosine learning rate (linear warmup, cosine to final_lr_fraction * lr), global-norm
// clipping, mean cross entropy over the bytes of each window. Step s reads `batch` windows of
// context + 1 bytes at offsets floor(u * (n - context - 1)), u = philox_uniform_f64(seed, 2,
// s * batch + b): the data of a step depends only on (seed, step), so --resume (parameters, Adam
// moments and step from the checkpoint) continues bit for bit.
// Evaluation: `eval_windows` windows of context + 1 bytes, evenly spaced over the validation
// text; val_loss = mean of the windows' mean losses (nats/byte), its error the standard error
// over windows; bpc = loss / ln 2, ppl = exp(loss) (errors by the delta method).
// Output (HDF5, never overwritten): provenance, /model (attributes heads, kv_heads, kv_share,
// d_head, d_model, layers, context, ffn_hidden, n_params, kv_bytes_per_token, dtype; datasets
// params (the final parameters, float64) and layout), /train trace (step, loss, lr, grad_norm,
// tokens_per_s), /results (val_loss, val_bpc, val_ppl and *_err, window_loss), /sample/text.
// Ownership: output and checkpoint carry the run identity (host/io/ownership.hpp) and --resume
// follows the naqs vmc rules through the shared plan_resume (another run's output refused naming
// both files; an unfinished output of the same settings without a checkpoint taken over from
// step 0; a finished run left untouched, its final evaluation returned, nothing written).
// Checkpoints: host/io/checkpoint.hpp, kind naqs-lm-checkpoint (version 2: with run_id); a
// SIGTERM/SIGUSR1/SIGINT stops after the current step with a checkpoint (exit 3 in the command).
// Tests: tests/unit/test_lm_train.cpp (resume bitwise, the resume refusals, output layout,
// errors, sampling with and without the cache); tests/statistical/test_lm_learns.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "host/io/hdf5.hpp"
#include "ml/transformer/corpus.hpp"
#include "ml/transformer/model.hpp"

namespace naqs::ml {

struct LmConfig {
  TransformerConfig model;
  std::string corpus = "data/corpus/shakespeare";
  std::string dtype = "f32";
  std::string device = "cpu";
  int64_t batch = 16;
  int64_t steps = 600;
  double lr = 3e-3;
  int64_t warmup = 30;
  double final_lr_fraction = 0.1;
  double weight_decay = 0.1;
  double clip = 1.0;
  uint64_t seed = 1;
  int64_t eval_windows = 64;
  int64_t checkpoint_every = 100;
  int64_t sample_tokens = 200;  // sample written to /sample/text after training (0: none)
  std::string sample_prompt = "\n";
  double temperature = 0.8;
  std::string output;      // HDF5 ("" = none)
  std::string checkpoint;  // "" = none
  bool resume = false;
  bool quiet = false;
  std::string command_line, config_text;
  std::string variant;  // sweep variant name, written as the root attribute "variant" if set
  // synthetic corpus sizes
  int64_t synthetic_train_bytes = 1 << 20, synthetic_val_bytes = 1 << 16;

  void validate() const;  // UsageError naming the bad value
};

struct EvalResult {
  int64_t windows = 0;
  double loss = 0, loss_err = 0, bpc = 0, bpc_err = 0, ppl = 0, ppl_err = 0;
  std::vector<double> window_loss;
};

struct LmResult {
  int64_t n_params = 0, kv_bytes_per_token = 0, first_step = 0, steps_done = 0;
  bool interrupted = false;
  int stop_signal = 0;
  double seconds = 0, tokens_per_s = 0, final_train_loss = 0;
  EvalResult eval;
  std::string sample;
  double entropy_rate_bits = -1;
};

LmResult run_lm_train(const LmConfig& config);

// Mean loss over evenly spaced windows of `text` (see above); forward batches of `batch`.
EvalResult evaluate(const Transformer& model, const std::vector<uint8_t>& text, int64_t windows,
                    int64_t batch);

// Generates `n` bytes after `prompt` (one sequence): with the KV cache (prefill, then one token
// per step) or without (the full forward of the whole text so far per token). Token i is drawn
// by ops::sample_tokens with (seed, sequence 0, its position): both ways give the same bytes.
std::string generate(const Transformer& model, const std::string& prompt, int64_t n,
                     double temperature, uint64_t seed, bool use_cache);

// A trained model from an output file's /model group (UsageError if absent or malformed).
Transformer load_model(const std::string& path);

// /results of an evaluation: val_loss, val_bpc, val_ppl and their *_err, window_loss.
void write_eval_results(H5File& f, const EvalResult& e);

// The fingerprint text of a run (what must match to resume).
std::string lm_fingerprint_text(const LmConfig& c);

}  // namespace naqs::ml
