// Tiny language-model settings shared by the tests of ml/transformer and `naqs lm`: a model of a
// few thousand parameters on the synthetic corpus, trained in well under a second.
#pragma once
#include <string>

#include "ml/transformer/train.hpp"

namespace naqs::testing {

// The same kind of model as a library config: synthetic:3 (4096 training, 1024 validation bytes),
// d_model 16, 2 layers, 4 query heads of 4, MQA with CLA2, context 16, 6 steps of 4 windows,
// 8 evaluation windows, an 8-byte sample after "ab", no periodic checkpoint, quiet. Tests set
// what they need on top (output, checkpoint, other heads, steps).
inline ml::LmConfig tiny_lm_config() {
  ml::LmConfig c;
  c.model.d_model = 16;
  c.model.layers = 2;
  c.model.heads = 4;
  c.model.kv_heads = 1;
  c.model.head_dim = 4;
  c.model.kv_share = 2;
  c.model.context = 16;
  c.corpus = "synthetic:3";
  c.synthetic_train_bytes = 4096;
  c.synthetic_val_bytes = 1024;
  c.batch = 4;
  c.steps = 6;
  c.warmup = 2;
  c.eval_windows = 8;
  c.checkpoint_every = 0;
  c.sample_tokens = 8;
  c.sample_prompt = "ab";
  c.quiet = true;
  return c;
}

// An INI file's text for `naqs lm train --config FILE`: synthetic:4, d_model 16, 2 layers, 2
// query heads of 8, MQA with CLA2, context 16, 5 steps of 4 windows.
inline std::string tiny_lm_ini() {
  return "corpus = synthetic:4\nd-model = 16\nlayers = 2\nheads = 2\nkv-heads = 1\n"
         "head-dim = 8\nkv-share = 2\ncontext = 16\nbatch = 4\nsteps = 5\nwarmup = 1\n"
         "eval-windows = 4\nsample-tokens = 6\nprompt = ab\nquiet = true\n";
}

}  // namespace naqs::testing
