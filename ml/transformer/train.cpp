// Training, evaluation and sampling of the byte-level transformer; see train.hpp.
#include "ml/transformer/train.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "host/core/progress.hpp"
#include "host/core/stop_signal.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/io/checkpoint.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"
#include "host/ops/token_sample.hpp"
#include "nn/lr_schedule.hpp"
#include "nn/optimizer.hpp"

namespace naqs::ml {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

DType parse_dtype(const std::string& s) {
  if (s == "f32") return DType::f32;
  if (s == "f64") return DType::f64;
  throw UsageError(cat("--dtype '", s, "' (choices: f32, f64)"));
}

const std::vector<std::string> kTrainColumns = {"step", "loss", "lr", "grad_norm",
                                                "tokens_per_s"};
constexpr uint64_t kDataStream = 2;

// windows (B, T + 1) of text at the given offsets -> inputs (B, T) and targets (B*T).
void make_batch(const std::vector<uint8_t>& text, const std::vector<int64_t>& offsets, int64_t t,
                Device device, Tensor& inputs, Tensor& targets) {
  const int64_t b = static_cast<int64_t>(offsets.size());
  std::vector<int32_t> in(static_cast<size_t>(b * t)), tg(static_cast<size_t>(b * t));
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < t; ++j) {
      in[i * t + j] = text[static_cast<size_t>(offsets[i] + j)];
      tg[i * t + j] = text[static_cast<size_t>(offsets[i] + j + 1)];
    }
  inputs = Tensor::from_vector(in, {b, t}).to(device);
  targets = Tensor::from_vector(tg, {b * t});
}

nn::LrSchedule schedule_of(const LmConfig& c) {
  nn::LrSchedule s;
  s.kind = nn::LrSchedule::Kind::warmup_cosine;
  s.lr0 = c.lr;
  s.total_steps = c.steps;
  s.final_fraction = c.final_lr_fraction;
  s.warmup = c.warmup;
  return s;
}

void write_model_group(H5File& f, const Transformer& m, const std::string& dtype) {
  const TransformerConfig& c = m.config();
  const int64_t bytes = dtype == "f64" ? 8 : 4;
  f.create_group("/model");
  f.set_attr("/model", "heads", c.heads);
  f.set_attr("/model", "kv_heads", c.kv_heads);
  f.set_attr("/model", "kv_share", c.kv_share);
  f.set_attr("/model", "d_head", c.head_dim);
  f.set_attr("/model", "d_model", c.d_model);
  f.set_attr("/model", "layers", c.layers);
  f.set_attr("/model", "context", c.context);
  f.set_attr("/model", "ffn_hidden", c.hidden());
  f.set_attr("/model", "rope_base", c.rope_base);
  f.set_attr("/model", "norm_eps", c.norm_eps);
  f.set_attr("/model", "vocab", kByteVocab);
  f.set_attr("/model", "n_params", c.n_params());
  f.set_attr("/model", "kv_bytes_per_token", c.kv_bytes_per_token(bytes));
  f.set_attr("/model", "dtype", dtype);
  f.set_attr("/model", "definition", std::string("ml/transformer/model.hpp"));
}

void write_params(H5File& f, const Transformer& m) {
  f.write_dataset("/model/params", to_host_f64(m.params().flat()), {m.params().size()});
  f.write_string("/model/layout", m.params().layout_text());
}

}  // namespace

void write_eval_results(H5File& f, const EvalResult& e) {
  f.create_group("/results");
  auto one = [&](const char* name, double v) {
    f.write_dataset(cat("/results/", name), std::vector<double>{v}, {});
  };
  one("val_loss", e.loss);
  one("val_loss_err", e.loss_err);
  one("val_bpc", e.bpc);
  one("val_bpc_err", e.bpc_err);
  one("val_ppl", e.ppl);
  one("val_ppl_err", e.ppl_err);
  f.write_dataset("/results/window_loss", e.window_loss, {e.windows});
  f.set_attr("/results", "eval_windows", e.windows);
  f.set_attr("/results", "units", std::string("loss: nats per byte; bpc: bits per byte"));
}

namespace {

std::string device_label(Device d) { return device_name(d); }

std::string fmt(double v, int prec) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", prec, v);
  return buf;
}

}  // namespace

void LmConfig::validate() const {
  model.validate();
  auto need = [](bool ok, auto&&... parts) {
    if (!ok) throw UsageError(cat(parts...));
  };
  parse_dtype(dtype);
  need(batch >= 1, "--batch ", batch, " must be >= 1");
  need(steps >= 0, "--steps ", steps, " must be >= 0");
  need(lr > 0 && std::isfinite(lr), "--lr ", lr, " must be > 0");
  need(warmup >= 0, "--warmup ", warmup, " must be >= 0");
  need(final_lr_fraction >= 0 && final_lr_fraction <= 1, "--final-lr-fraction ",
       final_lr_fraction, " must be in [0, 1]");
  need(weight_decay >= 0, "--weight-decay ", weight_decay, " must be >= 0");
  need(clip > 0, "--clip ", clip, " must be > 0");
  need(eval_windows >= 2, "--eval-windows ", eval_windows, " must be >= 2 (error bars)");
  need(checkpoint_every >= 0, "--checkpoint-every ", checkpoint_every, " must be >= 0");
  need(sample_tokens >= 0, "--sample-tokens ", sample_tokens, " must be >= 0");
  need(temperature >= 0 && std::isfinite(temperature), "--temperature ", temperature,
       " must be >= 0");
  // The sample after training needs a prompt of 1 .. context-1 bytes: checked here, before the
  // training, not after it.
  const auto prompt = static_cast<int64_t>(sample_prompt.size());
  need(sample_tokens == 0 || (prompt >= 1 && prompt < model.context), "--prompt of ", prompt,
       " bytes: the sample after training needs 1 to ", model.context - 1,
       " bytes (the context is ", model.context, "), or --sample-tokens 0");
}

std::string lm_fingerprint_text(const LmConfig& c) {
  std::ostringstream s;
  s << "model = " << c.model.str() << "\n"
    << "corpus = " << c.corpus << "\n"
    << "dtype = " << c.dtype << "\n"
    << "batch = " << c.batch << "\n"
    << "steps = " << c.steps << "\n"
    << "lr = " << c.lr << "\n"
    << "warmup = " << c.warmup << "\n"
    << "final_lr_fraction = " << c.final_lr_fraction << "\n"
    << "weight_decay = " << c.weight_decay << "\n"
    << "clip = " << c.clip << "\n"
    << "seed = " << c.seed << "\n";
  return s.str();
}

void write_sample(H5File& f, const std::string& bytes) {
  std::vector<int64_t> values;
  for (char ch : bytes) values.push_back(static_cast<uint8_t>(ch));
  f.write_dataset("/sample/bytes", values, {static_cast<int64_t>(values.size())});
  f.write_string("/sample/text", bytes);
}

void print_bytes(const std::string& bytes) {
  std::fwrite(bytes.data(), 1, bytes.size(), stdout);
}

EvalResult evaluate(const Transformer& model, const std::vector<uint8_t>& text, int64_t windows,
                    int64_t batch) {
  const int64_t t = model.config().context;
  const int64_t n = static_cast<int64_t>(text.size());
  if (n < t + 1)
    throw UsageError(cat("the validation text has ", n, " bytes, fewer than the context + 1 = ",
                         t + 1, " one window needs"));
  EvalResult r;
  r.windows = windows;
  std::vector<int64_t> starts;
  for (int64_t w = 0; w < windows; ++w) starts.push_back(w * (n - t - 1) / (windows - 1));
  TrainState st;
  for (int64_t w0 = 0; w0 < windows; w0 += batch) {
    const int64_t nb = std::min(batch, windows - w0);
    std::vector<int64_t> off(starts.begin() + w0, starts.begin() + w0 + nb);
    Tensor inputs, targets;
    make_batch(text, off, t, model.device(), inputs, targets);
    model.forward_train(inputs, st);
    for (int64_t i = 0; i < nb; ++i) {
      const Tensor rows = st.logits.select(i);  // (T, V)
      r.window_loss.push_back(
          cross_entropy(rows, targets.narrow(0, i * t, t).contiguous(), Tensor()));
    }
  }
  double mean = 0;
  for (double x : r.window_loss) mean += x;
  mean /= double(windows);
  double var = 0;
  for (double x : r.window_loss) var += (x - mean) * (x - mean);
  var /= double(windows - 1);
  r.loss = mean;
  r.loss_err = std::sqrt(var / double(windows));
  r.bpc = mean / std::log(2.0);
  r.bpc_err = r.loss_err / std::log(2.0);
  r.ppl = std::exp(mean);
  r.ppl_err = r.ppl * r.loss_err;
  return r;
}

std::string generate(const Transformer& model, const std::string& prompt, int64_t n,
                     double temperature, uint64_t seed, bool use_cache) {
  const TransformerConfig& c = model.config();
  const int64_t p = static_cast<int64_t>(prompt.size());
  if (p < 1) throw UsageError("--prompt is empty (give at least one byte)");
  if (n < 0) throw UsageError(cat("--tokens ", n, " must be >= 0"));
  if (p + n > c.context)
    throw UsageError(cat("--tokens ", n, " after a prompt of ", p, " bytes needs ", p + n,
                         " positions, beyond the model's context ", c.context));
  std::vector<int32_t> seq;
  for (char ch : prompt) seq.push_back(static_cast<uint8_t>(ch));
  const DType dt = model.dtype();
  const Device dev = model.device();
  ops::TokenSampleSpec spec;
  spec.seed = seed;
  spec.temperature = temperature;
  Tensor token = Tensor::zeros({1}, DType::i32, dev);
  KvCache cache;
  if (use_cache) cache = KvCache(c, 1, p + n, dt, dev);
  std::string out;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = static_cast<int64_t>(seq.size());
    Tensor logits;
    if (use_cache) {
      const int64_t pos0 = i == 0 ? 0 : len - 1;  // prefill the prompt, then one token
      const int64_t tn = len - pos0;
      const Tensor in = Tensor::from_vector(
          std::vector<int32_t>(seq.begin() + pos0, seq.end()), {1, tn}).to(dev);
      logits = Tensor::empty({1, tn, kByteVocab}, dt, dev);
      model.infer(in, pos0, cache, logits);
      logits = logits.select(0).narrow(0, tn - 1, 1).contiguous();
    } else {
      KvCache fresh(c, 1, len, dt, dev);
      const Tensor in = Tensor::from_vector(seq, {1, len}).to(dev);
      logits = Tensor::empty({1, len, kByteVocab}, dt, dev);
      model.infer(in, 0, fresh, logits);
      logits = logits.select(0).narrow(0, len - 1, 1).contiguous();
    }
    spec.position = len;
    ops::sample_tokens(logits, spec, token);
    const int32_t next = token.to_vector<int32_t>()[0];
    seq.push_back(next);
    out.push_back(static_cast<char>(static_cast<uint8_t>(next)));
  }
  return out;
}

namespace {
Transformer load_model_file(const std::string& path);
}  // namespace

// A file that is no readable naqs lm train output (truncated, foreign, reshaped) is one
// UsageError line naming it, never an HDF5 error with a source location.
Transformer load_model(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw UsageError(cat("--model '", path, "' does not exist (an output file of naqs lm train)"));
  try {
    return load_model_file(path);
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception&) {
    throw UsageError(cat("--model '", path, "' is not a readable naqs lm train output (damaged "
                         "or another kind of file)"));
  }
}

namespace {
Transformer load_model_file(const std::string& path) {
  H5File f = H5File::open_read(path);
  if (!f.exists("/model/params"))
    throw UsageError(cat("--model '", path,
                         "' has no /model/params (not a finished naqs lm train output)"));
  auto geti = [&](const char* name) { return std::get<int64_t>(f.get_attr("/model", name)); };
  TransformerConfig c;
  c.heads = geti("heads");
  c.kv_heads = geti("kv_heads");
  c.kv_share = geti("kv_share");
  c.head_dim = geti("d_head");
  c.d_model = geti("d_model");
  c.layers = geti("layers");
  c.context = geti("context");
  c.ffn_hidden = geti("ffn_hidden");
  c.rope_base = std::get<double>(f.get_attr("/model", "rope_base"));
  c.norm_eps = std::get<double>(f.get_attr("/model", "norm_eps"));
  const DType dt = parse_dtype(std::get<std::string>(f.get_attr("/model", "dtype")));
  Transformer m(c, dt, Device::cpu());
  const std::vector<double> p = f.read_doubles("/model/params");
  if (static_cast<int64_t>(p.size()) != m.params().size() ||
      f.read_string("/model/layout") != m.params().layout_text())
    throw UsageError(cat("--model '", path, "': /model/params does not match its /model "
                                            "attributes (", p.size(), " values, ",
                         m.params().size(), " expected)"));
  Tensor flat = m.params().flat();
  flat.copy_from(from_host_f64(p, {m.params().size()}, dt, Device::cpu()));
  return m;
}
}  // namespace

LmResult run_lm_train(const LmConfig& config) {
  const double t_start = now_s();
  LmConfig c = config;
  c.validate();
  const DType dt = parse_dtype(c.dtype);
  const Device dev = resolve_device(c.device);
  const TransformerConfig& mc = c.model;
  auto say = [&](const std::string& text) {
    if (!c.quiet) std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  };
  const Corpus corpus = load_corpus(c.corpus, c.synthetic_train_bytes, c.synthetic_val_bytes);
  NAQS_REQUIRE(static_cast<int64_t>(corpus.train.size()) > mc.context + 1, "the training text (",
               corpus.train.size(), " bytes) is shorter than the context + 1 = ", mc.context + 1);
  NAQS_REQUIRE(static_cast<int64_t>(corpus.val.size()) > mc.context, "the validation text (",
               corpus.val.size(), " bytes) is shorter than the context + 1 = ", mc.context + 1,
               " one evaluation window needs");
  Transformer model(mc, dt, dev);
  model.init(c.seed);
  ParameterSet grads = model.params().like(dt, dev);
  nn::AdamOptions ao;
  ao.beta1 = 0.9;
  ao.beta2 = 0.95;
  ao.eps = 1e-8;
  nn::AdamW opt(ao, c.weight_decay);
  Tensor flat = model.params().flat();
  opt.init(flat);
  const nn::LrSchedule sched = schedule_of(c);

  LmResult result;
  result.n_params = model.params().size();
  result.kv_bytes_per_token = mc.kv_bytes_per_token(dt == DType::f64 ? 8 : 4);
  result.entropy_rate_bits = corpus.entropy_rate_bits;

  std::string run_id;  // the run identity's random part (host/io/ownership.hpp)
  auto make_checkpoint = [&](int64_t step) {
    Checkpoint ck;
    ck.kind = "naqs-lm-checkpoint";
    ck.version = 2;  // 2: carries the run id
    ck.fingerprint_text = lm_fingerprint_text(c);
    ck.texts.push_back({"/layout", model.params().layout_text(), "parameter layout"});
    ck.attributes.push_back({"step", step});
    ck.attributes.push_back({"run_id", run_id});
    ck.tensors.push_back({"/params", flat});
    for (auto& [name, t] : opt.state()) ck.tensors.push_back({cat("/", name), t});
    return ck;
  };

  // Ownership and --resume: the rules shared with naqs vmc (host/io/ownership.hpp plan_resume).
  ResumeRequest req;
  req.command = "lm";
  req.output = c.output;
  req.checkpoint = c.checkpoint;
  req.resume = c.resume;
  req.fingerprint = fingerprint_hash(lm_fingerprint_text(c));
  req.steps = c.steps;
  req.restore = [&](std::string* id) {
    Checkpoint ck = make_checkpoint(0);
    load_checkpoint(c.checkpoint, ck);
    opt.set_steps_taken(ck.attr_int("step"));
    *id = ck.attr_string("run_id");
    return ck.attr_int("step");
  };
  req.say = say;
  const ResumePlan plan = plan_resume(req);
  const int64_t first_step = plan.first_step;
  run_id = plan.identity.run_id;
  result.first_step = first_step;

  std::unique_ptr<H5File> file;
  std::unique_ptr<H5Trace> trace;
  if (!c.output.empty() && !plan.already_complete) {
    if (!plan.reopen) {
      // Created whole or not at all, carrying the run identity (a run killed at any instant
      // leaves no output or one that --resume recognises).
      write_new_atomically(c.output, [&](H5File& f) {
        write_provenance(f, c.command_line, c.config_text, device_label(dev),
                         {{"seed", static_cast<int64_t>(c.seed)}});
        write_run_identity(f, plan.identity);
        write_model_group(f, model, c.dtype);
        f.set_attr("/", "corpus", corpus.name);
        f.set_attr("/", "corpus_spec", c.corpus);  // what --corpus said (eval's default)
        if (!c.variant.empty()) f.set_attr("/", "variant", c.variant);
        f.set_attr("/", "corpus_train_bytes", static_cast<int64_t>(corpus.train.size()));
        f.set_attr("/", "corpus_val_bytes", static_cast<int64_t>(corpus.val.size()));
        if (!corpus.val_files.empty()) {
          std::string v;
          for (const auto& n : corpus.val_files) v += (v.empty() ? "" : ",") + n;
          f.set_attr("/", "corpus_validation_files", v);
        }
        if (corpus.entropy_rate_bits >= 0)
          f.set_attr("/", "corpus_entropy_rate_bits", corpus.entropy_rate_bits);
      });
    }
    file = std::make_unique<H5File>(H5File::open_rw(c.output));
    trace = std::make_unique<H5Trace>(*file, "/train", kTrainColumns);
    // Rows are appended before the checkpoint of their step is written, so an output of this
    // run holds at least first_step rows; fewer means it lost some: not continued with a gap.
    NAQS_REQUIRE(trace->rows() >= first_step, "--out '", c.output, "' holds ", trace->rows(),
                 " training steps but checkpoint '", c.checkpoint, "' is at step ", first_step,
                 "; it cannot be continued without a gap (left as it is)");
    if (plan.reopen) {
      file->set_attr("/", "resumed_at_step", first_step);
      file->set_attr("/", "resume_command_line", c.command_line);
    }
    trace->truncate_to(first_step);
    file->flush();
  }

  say(cat("lm: ", corpus.name, " (", corpus.train.size(), " training bytes, ", corpus.val.size(),
          " validation); model ", mc.str(), ", ", result.n_params, " parameters, ",
          result.kv_bytes_per_token, " KV bytes/token (", c.dtype, ", ", device_label(dev),
          "); adamw lr ", c.lr, " warmup ", c.warmup, ", batch ", c.batch, " x ", mc.context,
          ", ", c.steps, " steps"));

  StopSignalGuard signals;
  ProgressOptions po;
  po.label = "lm";
  po.total = c.steps;
  po.first_step = first_step;
  po.quiet = c.quiet;
  po.unit = "tokens";
  po.items_per_step = double(c.batch * mc.context);
  Progress progress(po);
  const int64_t t = mc.context, n = static_cast<int64_t>(corpus.train.size());
  TrainState st;
  Tensor dlogits = Tensor::empty({c.batch * t, kByteVocab}, dt, dev);
  int64_t s = first_step;
  double train_seconds = 0;
  for (; s < c.steps; ++s) {
    const double t0 = now_s();
    std::vector<int64_t> off(static_cast<size_t>(c.batch));
    for (int64_t b = 0; b < c.batch; ++b)
      off[b] = static_cast<int64_t>(
          philox_uniform_f64(c.seed, kDataStream, static_cast<uint64_t>(s * c.batch + b)) *
          double(n - t - 1));
    Tensor inputs, targets;
    make_batch(corpus.train, off, t, dev, inputs, targets);
    model.forward_train(inputs, st);
    const double loss = cross_entropy(st.logits.reshape({c.batch * t, kByteVocab}), targets,
                                      dlogits);
    model.backward(st, dlogits.reshape({c.batch, t, kByteVocab}), grads);
    Tensor g = grads.flat();
    const double gnorm = nn::clip_grad_norm(g, c.clip);
    if (!std::isfinite(loss))
      throw Error(cat("non-finite training loss at step ", s, "; the run stops here"));
    const double lr = sched.at(s);
    opt.step(flat, g, lr);
    const double dt_s = now_s() - t0;
    train_seconds += dt_s;
    const double tps = double(c.batch * t) / dt_s;
    result.final_train_loss = loss;
    if (trace) trace->append({double(s), loss, lr, gnorm, tps});
    progress.update(s + 1, cat("loss ", fmt(loss, 4), " (", fmt(loss / std::log(2.0), 3),
                               " bpc)  lr ", fmt(lr, 3)));
    const bool stop = stop_requested();
    if (!c.checkpoint.empty() &&
        (stop || (c.checkpoint_every > 0 && (s + 1) % c.checkpoint_every == 0)))
      save_checkpoint(c.checkpoint, make_checkpoint(s + 1));
    if (stop) {
      ++s;
      result.interrupted = true;
      result.stop_signal = stop_signal();
      break;
    }
  }
  result.steps_done = s;
  result.tokens_per_s =
      train_seconds > 0 ? double((s - first_step) * c.batch * t) / train_seconds : 0;
  if (result.interrupted) {
    if (file) file->flush();
    progress.finish();
    say(cat("lm: stopped by signal ", result.stop_signal, " after step ", s,
            c.checkpoint.empty() ? std::string("; no checkpoint file was configured")
                                 : cat("; checkpoint written to '", c.checkpoint,
                                       "' (continue with --resume)")));
    result.seconds = now_s() - t_start;
    return result;
  }
  if (!c.checkpoint.empty() && !plan.already_complete)
    save_checkpoint(c.checkpoint, make_checkpoint(s));
  progress.finish();
  result.eval = evaluate(model, corpus.val, c.eval_windows, c.batch);
  if (c.sample_tokens > 0) {
    const int64_t room = mc.context - static_cast<int64_t>(c.sample_prompt.size());
    result.sample = generate(model, c.sample_prompt, std::min(c.sample_tokens, room),
                             c.temperature, c.seed, true);
  }
  if (file) {
    write_params(*file, model);
    write_eval_results(*file, result.eval);
    file->set_attr("/results", "tokens_per_s", result.tokens_per_s);
    file->set_attr("/results", "train_seconds", train_seconds);
    if (c.sample_tokens > 0) {
      write_sample(*file, result.sample);
      file->set_attr("/sample", "prompt", c.sample_prompt);
      file->set_attr("/sample", "temperature", c.temperature);
      file->set_attr("/sample", "seed", static_cast<int64_t>(c.seed));
    }
    finish_provenance(*file);
    file->close();
  }
  result.seconds = now_s() - t_start;
  return result;
}

}  // namespace naqs::ml
