// naqs lm train | eval | sample: the byte-level transformer language model (ml/transformer/).
//   naqs lm train     train (default: the Shakespeare corpus of scripts/fetch_corpus.sh, a small
//                     MHA model, a few minutes on 2 CPU cores); prints validation bits per byte
//   naqs lm eval      --model OUT.h5: validation loss / bpc / perplexity of a trained model
//   naqs lm sample    --model OUT.h5 --prompt "..." --tokens N --temperature T [--no-cache]
//   naqs lm sweep     --dir DIR --variants mha,mqa,mqa-cla2 --seeds 1,2,3 [--task K | --list]:
//                     one training per (variant, seed), idempotent, Slurm-array ready
//   naqs lm report DIR   table + bytes-vs-bpc Pareto plot of a sweep directory
// Every option can come from an INI file (--config). Outputs are HDF5 (ml/transformer/train.hpp
// documents the layout) and are never overwritten.
//
// Exit status: 0 done; 1 failure; 2 bad input (nothing written); 3 stopped by SIGTERM, SIGUSR1
// or SIGINT after the current step with a checkpoint written: rerun with --resume.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <variant>

#include "host/cli/command.hpp"
#include "host/cli/number.hpp"
#include "host/core/device.hpp"
#include "host/core/error.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"
#include "ml/transformer/sweep.hpp"
#include "ml/transformer/train.hpp"

namespace {

using namespace naqs;
using ml::LmConfig;

constexpr int kExitInterrupted = 3;

using cli::non_negative;
using cli::number;
using cli::positive;
using I = cli::Range<int64_t>;
using D = cli::Range<double>;

void lm_options(po::options_description& desc) {
  const LmConfig d;
  desc.add_options()("action", po::value<std::vector<std::string>>(),
                     "train | eval | sample | sweep | report [DIR] (the bare arguments)");
  po::options_description model("model (ml/transformer/model.hpp)");
  model.add_options()
      ("d-model", number<int64_t>(I{1, 1 << 16})->default_value(d.model.d_model),
       "C = heads x head-dim")
      ("layers", number<int64_t>(I{1, 1024})->default_value(d.model.layers), "L")
      ("heads", number<int64_t>(I{1, 1 << 12})->default_value(d.model.heads), "query heads Hq")
      ("kv-heads", number<int64_t>(I{1, 1 << 12})->default_value(d.model.kv_heads),
       "key/value heads Hkv (Hq % Hkv == 0; 1 = MQA)")
      ("head-dim", number<int64_t>(I{2, 1 << 12})->default_value(d.model.head_dim), "Dh (even)")
      ("kv-share", number<int64_t>(I{1, 1024})->default_value(d.model.kv_share),
       "CLA sharing factor s in [1, L] (2 = CLA2)")
      ("context", number<int64_t>(I{1, 1 << 20})->default_value(d.model.context), "positions T")
      ("ffn-hidden", number<int64_t>(I{0, 1 << 20})->default_value(d.model.ffn_hidden),
       "SwiGLU hidden size (0: 8 C / 3 rounded up to 16)");
  po::options_description train("training");
  train.add_options()
      ("corpus", po::value<std::string>()->default_value(d.corpus),
       "directory of *_gut.txt files (scripts/fetch_corpus.sh), or synthetic:SEED (eval: "
       "default the model's own)")
      ("dtype", po::value<std::string>()->default_value(d.dtype), "f32 | f64")
      ("device", po::value<std::string>()->default_value("auto"), "cpu | cuda[:N] | auto")
      ("batch", number<int64_t>(I{1, 1 << 20})->default_value(d.batch), "sequences per step")
      ("steps", number<int64_t>(I{0, int64_t{1} << 40})->default_value(d.steps), "optimiser steps")
      ("lr", number<double>(positive<double>())->default_value(d.lr), "peak learning rate (AdamW)")
      ("warmup", number<int64_t>(I{0, int64_t{1} << 40})->default_value(d.warmup),
       "linear warmup steps")
      ("final-lr-fraction", number<double>(D{0.0, 1.0})->default_value(d.final_lr_fraction),
       "cosine floor as a fraction of --lr")
      ("weight-decay", number<double>(non_negative<double>())->default_value(d.weight_decay),
       "AdamW decay")
      ("clip", number<double>(positive<double>())->default_value(d.clip),
       "global gradient-norm clip")
      ("seed", number<uint64_t>(cli::kSeedRange)->default_value(d.seed),
       "init, data and sampling seed")
      ("eval-windows", number<int64_t>(I{2, 1 << 24})->default_value(d.eval_windows),
       "validation windows (error bars over them)")
      ("checkpoint-every", number<int64_t>(I{0, int64_t{1} << 40})
          ->default_value(d.checkpoint_every),
       
       "steps between checkpoints (0: only at the end and on a signal)")
      ("sample-tokens", number<int64_t>(I{0, 1 << 20})->default_value(d.sample_tokens),
       "train: bytes sampled into /sample/text after training (0: none)");
  po::options_description use("eval / sample");
  use.add_options()
      ("model", po::value<std::string>()->default_value(""),
       "eval, sample: the output file of a finished naqs lm train")
      ("prompt", po::value<std::string>()->default_value(d.sample_prompt), "sample: prompt text")
      ("tokens", number<int64_t>(I{0, 1 << 20})->default_value(200), "sample: bytes to generate")
      ("temperature", number<double>(non_negative<double>())->default_value(d.temperature),
       "sampling temperature (0 = greedy)")
      ("no-cache", po::bool_switch(), "sample: recompute the whole text per token (no KV cache)");
  po::options_description sweep("sweep / report (ml/transformer/sweep.hpp)");
  sweep.add_options()
      ("variants", po::value<std::string>()->default_value("mha,gqa2,mqa,mqa-cla2"),
       "sweep: comma-separated <mha|gqaG|mqa>[-claS][-dhD]")
      ("seeds", cli::number_list<uint64_t>(cli::kSeedRange)->default_value("1,2,3"),
       "sweep: comma-separated seeds")
      ("dir", po::value<std::string>()->default_value(""),
       "sweep, report: the task directory (report: also the bare argument)")
      ("task", number<int64_t>(I{-1, 1 << 30})->default_value(-1),
       "sweep: run only task K (default: $SLURM_ARRAY_TASK_ID when set, else every task)")
      ("list", po::bool_switch(), "sweep: print the number of tasks and exit")
      ("python", po::value<std::string>()->default_value(""),
       "report: Python 3 with numpy and matplotlib (default /usr/bin/python3)");
  po::options_description out("output");
  out.add_options()
      ("out,o", po::value<std::string>()->default_value(""),
       "HDF5 output (train default: lm-<UTC time>.h5; eval / sample: none unless given; never "
       "overwritten)")
      ("checkpoint", po::value<std::string>()->default_value(""),
       "train: checkpoint file (default: <output>.ckpt)")
      ("resume", po::bool_switch(), "train: continue from the checkpoint (same settings)")
      ("quiet,q", po::bool_switch(), "no progress line");
  desc.add(model).add(train).add(use).add(sweep).add(out);
}

std::string default_output_name() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "lm-%Y%m%d-%H%M%S.h5", std::gmtime(&t));
  return buf;
}

LmConfig read_config(const po::variables_map& vm) {
  LmConfig c;
  auto i = [&](const char* k) { return vm[k].as<int64_t>(); };
  auto f = [&](const char* k) { return vm[k].as<double>(); };
  auto s = [&](const char* k) { return vm[k].as<std::string>(); };
  c.model.d_model = i("d-model");
  c.model.layers = i("layers");
  c.model.heads = i("heads");
  c.model.kv_heads = i("kv-heads");
  c.model.head_dim = i("head-dim");
  c.model.kv_share = i("kv-share");
  c.model.context = i("context");
  c.model.ffn_hidden = i("ffn-hidden");
  c.corpus = s("corpus");
  c.dtype = s("dtype");
  c.device = s("device");
  c.batch = i("batch");
  c.steps = i("steps");
  c.lr = f("lr");
  c.warmup = i("warmup");
  c.final_lr_fraction = f("final-lr-fraction");
  c.weight_decay = f("weight-decay");
  c.clip = f("clip");
  c.seed = vm["seed"].as<uint64_t>();
  c.eval_windows = i("eval-windows");
  c.checkpoint_every = i("checkpoint-every");
  c.sample_tokens = i("sample-tokens");
  c.sample_prompt = s("prompt");
  c.temperature = f("temperature");
  c.output = s("out");
  c.checkpoint = s("checkpoint");
  c.resume = vm["resume"].as<bool>();
  c.quiet = vm["quiet"].as<bool>();
  return c;
}

void print_eval(const char* what, const ml::EvalResult& e) {
  std::printf("%s: validation %.4f ± %.4f nats/byte = %.4f ± %.4f bits per character, "
              "perplexity %.3f ± %.3f (%lld windows)\n",
              what, e.loss, e.loss_err, e.bpc, e.bpc_err, e.ppl, e.ppl_err,
              static_cast<long long>(e.windows));
}

int lm_train(const CommandContext& ctx, LmConfig c) {
  if (c.output.empty()) {
    NAQS_REQUIRE(!c.resume, "--resume needs the --out of the run to continue");
    c.output = default_output_name();
  }
  if (c.checkpoint.empty()) c.checkpoint = c.output + ".ckpt";
  // Paths first (before the corpus is read); --resume is decided in run_lm_train before any
  // training (plan_resume: the rules of naqs vmc, host/io/ownership.hpp).
  check_distinct_paths({{"--out", c.output}, {"--checkpoint", c.checkpoint}});
  check_output_path("--out", c.output, /*must_not_exist=*/false);
  check_output_path("--checkpoint", c.checkpoint, /*must_not_exist=*/false);
  c.command_line = ctx.command_line;
  c.config_text = ctx.config_text;
  const ml::LmResult r = ml::run_lm_train(c);
  if (r.interrupted) {
    std::printf("lm: interrupted; partial output '%s', checkpoint '%s' (%.1f s)\n",
                c.output.c_str(), c.checkpoint.c_str(), r.seconds);
    return kExitInterrupted;
  }
  print_eval("lm", r.eval);
  if (r.entropy_rate_bits >= 0)
    std::printf("lm: the synthetic source's entropy rate is %.4f bits per character\n",
                r.entropy_rate_bits);
  if (!r.sample.empty()) ml::print_bytes("lm: sample: " + r.sample + "\n");
  std::printf("lm: %lld parameters, %lld KV bytes/token, %.0f tokens/s; output '%s' (%.1f s)\n",
              static_cast<long long>(r.n_params), static_cast<long long>(r.kv_bytes_per_token),
              r.tokens_per_s, c.output.c_str(), r.seconds);
  return 0;
}

// eval and sample write an output only when --out is given: a new file, published whole
// (write_new_atomically), never over an existing one.
void check_optional_output(const std::string& path) {
  if (!path.empty()) check_output_path("--out", path, /*must_not_exist=*/true);
}

void write_optional_output(const CommandContext& ctx, const std::string& path,
                           const ml::Transformer& m, uint64_t seed,
                           const std::function<void(H5File&)>& fill) {
  if (path.empty()) return;
  write_new_atomically(path, [&](H5File& f) {
    write_provenance(f, ctx.command_line, ctx.config_text, device_name(m.device()),
                     {{"seed", static_cast<int64_t>(seed)}});
    fill(f);
    finish_provenance(f);
  });
}

int lm_eval(const CommandContext& ctx, const LmConfig& c, const std::string& model_path,
            bool corpus_defaulted) {
  NAQS_REQUIRE(!model_path.empty(), "naqs lm eval needs --model OUT.h5 (a naqs lm train output)");
  check_optional_output(c.output);
  const ml::Transformer m = ml::load_model(model_path);
  std::string spec = c.corpus;
  if (corpus_defaulted) {  // the corpus the model was trained on
    H5File f = H5File::open_read(model_path);
    if (f.has_attr("/", "corpus_spec"))
      spec = std::get<std::string>(f.get_attr("/", "corpus_spec"));
  }
  const ml::Corpus corpus = ml::load_corpus(spec, c.synthetic_train_bytes, c.synthetic_val_bytes);
  const ml::EvalResult e = ml::evaluate(m, corpus.val, c.eval_windows, c.batch);
  write_optional_output(ctx, c.output, m, c.seed, [&](H5File& f) {
    ml::write_eval_results(f, e);
    f.set_attr("/", "model_file", model_path);
    f.set_attr("/", "corpus", corpus.name);
  });
  print_eval("lm eval", e);
  return 0;
}

int lm_sample(const CommandContext& ctx, const LmConfig& c, const std::string& model_path,
              int64_t tokens, bool no_cache) {
  NAQS_REQUIRE(!model_path.empty(),
               "naqs lm sample needs --model OUT.h5 (a naqs lm train output)");
  check_optional_output(c.output);
  const ml::Transformer m = ml::load_model(model_path);
  const std::string text =
      ml::generate(m, c.sample_prompt, tokens, c.temperature, c.seed, !no_cache);
  write_optional_output(ctx, c.output, m, c.seed, [&](H5File& f) {
    ml::write_sample(f, text);
    f.set_attr("/sample", "prompt", c.sample_prompt);
    f.set_attr("/sample", "temperature", c.temperature);
    f.set_attr("/sample", "cache", static_cast<int64_t>(no_cache ? 0 : 1));
    f.set_attr("/", "model_file", model_path);
  });
  ml::print_bytes(c.sample_prompt + text + "\n");
  return 0;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos
                                                                         : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

int lm_sweep(const CommandContext& ctx, LmConfig c, const po::variables_map& vm) {
  const std::vector<std::string> variants = split_commas(vm["variants"].as<std::string>());
  std::vector<uint64_t> seeds;
  seeds = cli::parse_list<uint64_t>(vm["seeds"].as<std::string>(), "seeds", cli::kSeedRange);
  const std::vector<ml::LmSweepTask> tasks =
      ml::lm_sweep_tasks(vm["dir"].as<std::string>(), variants, seeds);
  for (const ml::LmSweepTask& t : tasks) ml::variant_config(t.variant, c.model);  // all valid
  if (vm["list"].as<bool>()) {
    std::printf("%zu\n", tasks.size());
    return 0;
  }
  {
    LmConfig check = c;  // the training options (the model comes from each variant)
    check.model = ml::variant_config(tasks[0].variant, c.model);
    check.validate();
  }
  c.command_line = ctx.command_line;
  c.config_text = ctx.config_text;
  int64_t task = vm["task"].as<int64_t>();
  if (task < 0 && std::getenv("SLURM_ARRAY_TASK_ID")) {
    const std::string id = std::getenv("SLURM_ARRAY_TASK_ID");
    task = cli::parse_checked<int64_t>(id, "task (from SLURM_ARRAY_TASK_ID)", I{0, 1 << 30});
  }
  NAQS_REQUIRE(task < static_cast<int64_t>(tasks.size()), "--task ", task, " is outside [0, ",
               tasks.size(), ") (", variants.size(), " variants x ", seeds.size(), " seeds)");
  for (size_t k = 0; k < tasks.size(); ++k) {
    if (task >= 0 && static_cast<int64_t>(k) != task) continue;
    const std::string what = ml::run_lm_sweep_task(c, tasks[k]);
    std::printf("lm sweep: task %zu (%s, seed %llu): %s -> %s\n", k, tasks[k].variant.c_str(),
                static_cast<unsigned long long>(tasks[k].seed), what.c_str(),
                tasks[k].output.c_str());
    if (what == "interrupted") return kExitInterrupted;
  }
  return 0;
}

int lm_report(const po::variables_map& vm, const std::vector<std::string>& args) {
  std::string dir = vm["dir"].as<std::string>();
  if (args.size() == 2) dir = args[1];
  NAQS_REQUIRE(!dir.empty(), "naqs lm report needs the sweep directory: naqs lm report DIR");
  const std::vector<ml::LmReportRow> rows = ml::lm_report_rows(dir);
  const std::vector<std::string> files = ml::make_lm_report(dir, vm["python"].as<std::string>());
  std::printf("%-16s %10s %14s %6s  %s\n", "variant", "params", "KV bytes/tok", "seeds",
              "val bpc (mean ± std)");
  for (const ml::LmReportRow& r : rows)
    std::printf("%-16s %10lld %14lld %6lld  %.4f ± %.4f\n", r.variant.c_str(),
                static_cast<long long>(r.n_params), static_cast<long long>(r.kv_bytes_per_token),
                static_cast<long long>(r.seeds), r.bpc_mean, r.bpc_std);
  std::printf("lm report: %s, %s, %s\n", files[0].c_str(), files[1].c_str(), files[2].c_str());
  return 0;
}

// A bare argument as it may be quoted in the one error line: control bytes as \xNN.
std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char ch : text) {
    if (ch >= 0x20 && ch < 0x7f) {
      out += static_cast<char>(ch);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    }
  }
  return out;
}

int lm_run(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  std::vector<std::string> args;
  if (vm.count("action")) args = vm["action"].as<std::vector<std::string>>();
  NAQS_REQUIRE(!args.empty(), "naqs lm needs an action: train, eval, sample, sweep or report");
  NAQS_REQUIRE(args.size() == 1 || (args.size() == 2 && args[0] == "report"),
               "naqs lm ", printable(args[0]), ": unexpected bare argument '",
               printable(args.back()), "'");
  const LmConfig c = read_config(vm);
  const std::string& action = args[0];
  const std::string model_path = vm["model"].as<std::string>();
  if (action == "train") return lm_train(ctx, c);
  if (action == "eval") return lm_eval(ctx, c, model_path, vm["corpus"].defaulted());
  if (action == "sample")
    return lm_sample(ctx, c, model_path, vm["tokens"].as<int64_t>(), vm["no-cache"].as<bool>());
  if (action == "sweep") return lm_sweep(ctx, c, vm);
  if (action == "report") return lm_report(vm, args);
  throw UsageError(cat("naqs lm: unknown action '", printable(action),
                       "' (allowed: train, eval, sample, sweep, report)"));
}

}  // namespace

NAQS_COMMAND("lm",
             "byte-level transformer LM with KV cache, MQA/GQA and cross-layer attention: "
             "naqs lm train | eval | sample | sweep | report DIR (default: train a small model on "
             "the Shakespeare corpus, a few minutes on 2 cores); exit 3 = stopped by a signal",
             lm_options, lm_run, /*positional=*/"action", /*stop_signals=*/true,
             /*positional_count=*/-1);
