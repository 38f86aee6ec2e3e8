// naqs features: the hidden-layer representations of a trained (or freshly initialised) model on
// a set of inputs, for `naqs align` (ml/align/align.hpp).
//
//   naqs features --checkpoint ck.h5 --inputs cfg.h5 --out f.h5 [--batch 256] [--device cpu]
//   naqs features --model lm.h5 [--windows 1024] [--context T] [--seed 1] [--corpus DIR]
//                 --out f.h5                     (language model: windows drawn here)
//   naqs features --model lm.h5 --inputs f_first.h5 --out f.h5   (the windows of f_first.h5)
//
// --checkpoint: a `naqs vmc` checkpoint (physics/vmc/checkpoint.hpp). The model is rebuilt from
//   its /fingerprint_text (system and model lines), its /layout must equal the rebuilt model's,
//   and /params are loaded. Models: NAQS conv1d (layers h0, block1..block<depth>, each (W) after
//   the mean over the N sites), NAQS conv2d (the horizontal stream H0..H<depth>, mean over the
//   Ly x Lx sites), RBM (theta = W sigma + b and tanh(theta) = <h | sigma>, M units each, [re, im]
//   concatenated for complex parameters; nothing to pool).
// --model: the output file of `naqs lm train` (its /model attributes and /model/params, the
//   final parameters; ml::load_model). Layers (ml/transformer/features.hpp): 0 = embedding (the
//   stream entering block 1), i = block<i> (the residual stream after block i), each (C) after the
//   mean over the T positions of a window. Windows: N = --windows disjoint T-byte slots of the
//   held-out works of --corpus (default: the model's own corpus_spec), T = --context (default:
//   the model's context), drawn by --seed; or, with --inputs, the /windows of an earlier
//   features file of a language model, so every model of a study sees the same bytes.
// --random-init: the same model with its initial parameters (the untrained baseline; seed: the
//   checkpoint's fingerprint, or the lm output's root attribute "seed").
// --inputs: (--checkpoint) an HDF5 file with /samples/sigma (S, N) +-1 and /samples/ids (S)
//   int64, as `naqs ed --sample` writes it; (--model) a features file with /windows.
// Output layout (h5py: f["features/layer_0"][:]):
//   /features/layer_<i>  (S, D_i) f32, attribute name
//   /ids                 (S) int64, copied from the inputs (naqs align refuses files whose ids
//                        differ); language model: the window's byte offset in the held-out text
//   /windows/bytes (S, T) int64 byte values, /windows/offsets (S) int64 (language model only;
//                        attributes context, seed, corpus, corpus_spec, validation_files, n_slots,
//                        selection, drawn_by)
//   attributes on "/": model (the rebuilt model's lines), checkpoint, checkpoint_step, inputs,
//   pooling ("mean over sites" | "none" | "mean over positions"), layer_names (comma-separated),
//   n_layers, provenance.
// Bad input (missing files or datasets, a checkpoint of another kind, sites that do not match,
// a file that is not a naqs lm train output, a missing corpus, --context beyond the model's,
// more windows than the held-out text holds, an existing --out): one UsageError line, exit 2,
// nothing written; the file is written through a temp file and a rename.
#include <cmath>
#include <complex>
#include <filesystem>
#include <map>
#include <sstream>

#include "host/cli/command.hpp"
#include "host/cli/number.hpp"
#include "host/core/device.hpp"
#include "host/core/error.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"
#include "ml/transformer/features.hpp"
#include "ml/transformer/train.hpp"
#include "physics/models/naqs_conv1d.hpp"
#include "physics/models/naqs_conv2d.hpp"
#include "physics/models/rbm.hpp"
#include "physics/models/transformer_wavefunction.hpp"
#include "physics/vmc/driver.hpp"

namespace {

using namespace naqs;
namespace fs = std::filesystem;

void features_options(po::options_description& d) {
  d.add_options()
      ("checkpoint", po::value<std::string>(), "a naqs vmc checkpoint (.h5)")
      ("model", po::value<std::string>(), "a naqs lm train output (.h5): the language model's "
                                          "residual stream")
      ("inputs", po::value<std::string>(), "inputs: /samples/sigma and /samples/ids "
                                           "(naqs ed --sample); with --model: an earlier "
                                           "features file's /windows")
      ("out,o", po::value<std::string>(), "HDF5 output file (never overwritten)")
      ("batch", cli::number<int64_t>(cli::Range<int64_t>{1, 1 << 24})->default_value(256),
       "inputs per forward pass (--model: default 32 windows)")
      ("windows", cli::number<int64_t>(cli::Range<int64_t>{1, 1 << 24})->default_value(1024),
       "--model: held-out windows N")
      ("context", cli::number<int64_t>(cli::Range<int64_t>{1, 1 << 20}),
       "--model: window length T in bytes (default: the model's context)")
      ("seed", cli::number<uint64_t>(cli::kSeedRange)->default_value(1),
       "--model: seed of the window draw")
      ("corpus", po::value<std::string>(), "--model: corpus directory or synthetic:SEED "
                                           "(default: the model's own)")
      ("random-init", po::bool_switch(), "leave /params out: the model as initialised from the "
                                          "checkpoint's seed (the untrained baseline)")
      ("device", po::value<std::string>()->default_value("auto"), "auto | cpu | cuda | cuda:N");
}

std::map<std::string, std::string> parse_lines(const std::string& text) {
  std::map<std::string, std::string> m;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find(" = ");
    if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 3);
  }
  return m;
}

// The system and model lines of a VMC fingerprint; the model as its architecture name
// (naqs_conv1d, naqs_conv2d, rbm), as /model/architecture of the run's output.
std::string model_lines(const std::string& text) {
  std::string out;
  const char* keys[] = {"hamiltonian", "lattice", "length_x", "length_y", "boundary",
                        "J",           "h",       "hz",       "model",    "alpha",
                        "width",       "depth",   "kernel",   "dilations", "activation",
                        "phase",       "dtype",   "seed"};
  const auto m = parse_lines(text);
  for (const char* k : keys) {
    if (!m.count(k)) continue;
    const bool naqs = std::string(k) == "model" && m.at(k) == "naqs" && m.count("network");
    out += cat(k, " = ", naqs ? "naqs_" + m.at("network") : m.at(k), "\n");
  }
  return out;
}

struct FeatureLayers {
  std::vector<std::string> names;
  std::vector<std::vector<float>> rows;  // per layer, (S, D) row-major
  std::vector<int64_t> dims;
};

// Mean over every axis after the channel axis of h (B, C, ...) -> appended (B, C) rows.
void append_mean(const Tensor& h, std::vector<float>& out) {
  const std::vector<double> v = to_host_f64(h);
  const int64_t b = h.size(0), c = h.size(1), sites = h.numel() / std::max<int64_t>(b * c, 1);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < c; ++j) {
      double s = 0;
      for (int64_t t = 0; t < sites; ++t) s += v[(i * c + j) * sites + t];
      out.push_back(static_cast<float>(s / double(sites)));
    }
}

bool given(const po::variables_map& vm, const char* option) {
  return vm.count(option) && !vm[option].defaulted();
}

// ---- the language model (--model) ------------------------------------------------------------

std::string lm_model_lines(const ml::Transformer& m, H5File& f) {
  std::string out = cat("model = transformer_lm\nconfig = ", m.config().str(), "\ndtype = ",
                        dtype_name(m.dtype()), "\n");
  if (f.has_attr("/", "variant"))
    out += cat("variant = ", std::get<std::string>(f.get_attr("/", "variant")), "\n");
  if (f.has_attr("/", "seed")) out += cat("seed = ", std::get<int64_t>(f.get_attr("/", "seed")), "\n");
  if (f.has_attr("/", "corpus"))
    out += cat("corpus = ", std::get<std::string>(f.get_attr("/", "corpus")), "\n");
  return out;
}

// The attributes of /windows, copied from an --inputs file when it has them.
const char* const kWindowAttrs[] = {"context", "seed",    "corpus",    "corpus_spec",
                                    "validation_files", "n_slots", "selection", "drawn_by"};

struct WindowSet {
  ml::LmWindows windows;
  std::map<std::string, AttrValue> attrs;  // of /windows
  std::string inputs;                      // the root attribute "inputs"
};

WindowSet windows_from_file(const std::string& path, const ml::Transformer& m) {
  NAQS_REQUIRE(fs::exists(path), "--inputs '", path, "' does not exist");
  WindowSet w;
  std::vector<int64_t> dims, bytes, ids;
  try {
    H5File f = H5File::open_read(path);
    NAQS_REQUIRE(f.exists("/windows/bytes") && f.exists("/ids"), "--inputs '", path,
                 "' has no /windows/bytes and /ids (with --model, --inputs is the output of an "
                 "earlier naqs features --model)");
    dims = f.dims("/windows/bytes");
    bytes = f.read_int64s("/windows/bytes");
    ids = f.read_int64s("/ids");
    for (const char* a : kWindowAttrs)
      if (f.has_attr("/windows", a)) w.attrs[a] = f.get_attr("/windows", a);
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(cat("--inputs '", path, "' cannot be read: ", e.what()));
  }
  NAQS_REQUIRE(dims.size() == 2 && dims[0] >= 1 && dims[1] >= 1 &&
                   static_cast<int64_t>(ids.size()) == dims[0],
               "--inputs '", path, "': /windows/bytes is not (N, T) with one /ids entry per row");
  NAQS_REQUIRE(dims[1] <= m.config().context, "--inputs '", path, "': windows of ", dims[1],
               " bytes exceed the model's context ", m.config().context);
  for (std::size_t i = 0; i < bytes.size(); ++i)
    NAQS_REQUIRE(bytes[i] >= 0 && bytes[i] <= 255, "--inputs '", path, "': /windows/bytes row ",
                 int64_t(i) / dims[1], " has ", bytes[i], " (allowed: byte values 0 to 255)");
  w.windows.context = dims[1];
  w.windows.offsets = ids;
  w.windows.bytes.assign(bytes.begin(), bytes.end());
  w.inputs = path;
  if (!w.attrs.count("drawn_by")) w.attrs["drawn_by"] = path;
  return w;
}

int features_lm_run(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  // ---- validate ----
  NAQS_REQUIRE(vm.count("out"), "naqs features needs --out");
  const std::string model_path = vm["model"].as<std::string>();
  const std::string out = vm["out"].as<std::string>();
  NAQS_REQUIRE(!out.empty(), "--out is empty");
  const bool from_file = vm.count("inputs");
  if (from_file)
    for (const char* o : {"windows", "context", "seed", "corpus"})
      NAQS_REQUIRE(!given(vm, o), "--", o, " and --inputs: the windows come from --inputs '",
                   vm["inputs"].as<std::string>(), "' (give one or the other)");
  const int64_t batch = given(vm, "batch") ? vm["batch"].as<int64_t>() : 32;
  check_output_path("--out", out, /*must_not_exist=*/true);  // host/io/ownership.hpp
  const Device device = resolve_device(vm["device"].as<std::string>());
  const ml::Transformer loaded = ml::load_model(model_path);  // UsageError for any other file
  std::string model_lines, corpus_spec;
  int64_t seed = -1, steps = 0;
  try {  // the run's root attributes (load_model read /model)
    H5File f = H5File::open_read(model_path);
    model_lines = lm_model_lines(loaded, f);
    if (f.has_attr("/", "seed")) seed = std::get<int64_t>(f.get_attr("/", "seed"));
    if (f.has_attr("/", "corpus_spec"))
      corpus_spec = std::get<std::string>(f.get_attr("/", "corpus_spec"));
    if (f.exists("/train/step")) steps = f.dims("/train/step").at(0);
  } catch (const std::exception& e) {
    throw UsageError(cat("--model '", model_path, "': its root attributes (seed, corpus_spec, "
                         "variant) or /train/step cannot be read: ", e.what()));
  }
  const bool random_init = vm["random-init"].as<bool>();
  NAQS_REQUIRE(!random_init || seed >= 0, "--random-init: --model '", model_path,
               "' has no root attribute 'seed' (its initialisation seed)");
  const int64_t model_context = loaded.config().context;

  WindowSet ws;
  if (from_file) {
    ws = windows_from_file(vm["inputs"].as<std::string>(), loaded);
  } else {
    const int64_t t = value_or<int64_t>(vm, "context", model_context);
    NAQS_REQUIRE(t <= model_context, "--context ", t, " exceeds the context of --model '",
                 model_path, "' (", model_context, " bytes)");
    const std::string spec = value_or<std::string>(vm, "corpus", corpus_spec);
    NAQS_REQUIRE(!spec.empty(), "--model '", model_path, "' names no corpus (root attribute "
                 "corpus_spec): give --corpus DIR or synthetic:SEED");
    const ml::Corpus corpus = ml::load_corpus(spec);  // UsageError: missing or empty directory
    const uint64_t wseed = vm["seed"].as<uint64_t>();
    ws.windows = ml::choose_windows(corpus, vm["windows"].as<int64_t>(), t, wseed);
    std::string files;
    for (const std::string& n : corpus.val_files) files += (files.empty() ? "" : ",") + n;
    ws.attrs = {{"context", t},
                {"seed", static_cast<int64_t>(wseed)},
                {"corpus", corpus.name},
                {"corpus_spec", spec},
                {"validation_files", files},
                {"n_slots", static_cast<int64_t>(ml::window_slots(corpus, t).size())},
                {"selection", std::string("disjoint T-byte slots inside each held-out work, N "
                                          "drawn by a Philox partial Fisher-Yates shuffle, sorted "
                                          "by offset (ml/transformer/features.hpp)")},
                {"drawn_by", out}};  // the file whose /windows the others copy
    ws.inputs = cat("corpus ", spec, ": ", ws.windows.n(), " held-out windows of ", t,
                    " bytes, seed ", wseed);
  }

  // ---- forward passes ----
  ml::Transformer m(loaded.config(), loaded.dtype(), device);
  if (random_init)
    m.init(static_cast<uint64_t>(seed));
  else
    m.params().flat().copy_from(loaded.params().flat());
  const std::vector<std::vector<float>> rows = ml::mean_pooled_features(m, ws.windows, batch);
  const std::vector<std::string> names = ml::residual_layer_names(m);

  // ---- write ----
  const int64_t n = ws.windows.n(), t = ws.windows.context, c = m.config().d_model;
  std::string joined;
  for (const std::string& nm : names) joined += (joined.empty() ? "" : ",") + nm;
  write_new_atomically(out, [&](H5File& f) {
    write_provenance(f, ctx.command_line, ctx.config_text, device.str(), {});
    for (std::size_t l = 0; l < names.size(); ++l) {
      const std::string ds = cat("/features/layer_", l);
      f.write_dataset(ds, rows[l], {n, c});
      f.set_attr(ds, "name", names[l]);
    }
    f.write_dataset("/ids", ws.windows.offsets, {n});
    f.write_dataset("/windows/bytes",
                    std::vector<int64_t>(ws.windows.bytes.begin(), ws.windows.bytes.end()),
                    {n, t});
    f.write_dataset("/windows/offsets", ws.windows.offsets, {n});
    for (const auto& [key, value] : ws.attrs) f.set_attr("/windows", key, value);
    f.set_attr("/", "model", model_lines);
    f.set_attr("/", "checkpoint", model_path);
    f.set_attr("/", "checkpoint_step", random_init ? int64_t{0} : steps);
    f.set_attr("/", "parameters", std::string(random_init ? "random initialisation (the seed "
                                                            "of the lm output)"
                                                          : "the lm output's /model/params"));
    f.set_attr("/", "inputs", ws.inputs);
    f.set_attr("/", "pooling", std::string("mean over positions"));
    f.set_attr("/", "layer_names", joined);
    f.set_attr("/", "n_layers", static_cast<int64_t>(names.size()));
    finish_provenance(f);
  });
  std::printf("# naqs features: %lld windows of %lld bytes, %zu layers (%s), pooling mean over "
              "positions -> %s\n",
              static_cast<long long>(n), static_cast<long long>(t), names.size(), joined.c_str(),
              out.c_str());
  return 0;
}

// ---- the physics models (--checkpoint) --------------------------------------------------------

int features_run(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  NAQS_REQUIRE(vm.count("checkpoint") + vm.count("model") == 1, "naqs features needs one of "
               "--checkpoint (a naqs vmc checkpoint) and --model (a naqs lm train output)");
  if (vm.count("model")) return features_lm_run(ctx);
  // ---- validate ----
  for (const char* o : {"windows", "context", "seed", "corpus"})
    NAQS_REQUIRE(!given(vm, o), "--", o, " is an option of --model (a language model); with "
                 "--checkpoint the inputs are --inputs");
  for (const char* o : {"checkpoint", "inputs", "out"})
    NAQS_REQUIRE(vm.count(o), "naqs features needs --", o);
  const std::string ck = vm["checkpoint"].as<std::string>();
  const std::string inputs = vm["inputs"].as<std::string>();
  const std::string out = vm["out"].as<std::string>();
  const int64_t batch = vm["batch"].as<int64_t>();
  NAQS_REQUIRE(fs::exists(ck), "--checkpoint '", ck, "' does not exist");
  NAQS_REQUIRE(fs::exists(inputs), "--inputs '", inputs, "' does not exist");
  NAQS_REQUIRE(!out.empty(), "--out is empty");
  check_output_path("--out", out, /*must_not_exist=*/true);  // host/io/ownership.hpp
  const Device device = resolve_device(vm["device"].as<std::string>());

  std::string fingerprint, layout, kind;
  std::vector<double> params;
  int64_t step = 0;
  try {
    H5File f = H5File::open_read(ck);
    kind = f.has_attr("/", "kind") ? std::get<std::string>(f.get_attr("/", "kind")) : "";
    NAQS_REQUIRE(kind == "naqs-vmc-checkpoint", "--checkpoint '", ck, "' is not a naqs vmc "
                 "checkpoint (its kind attribute is '", kind, "')");
    fingerprint = f.read_string("/fingerprint_text");
    layout = f.read_string("/layout");
    params = f.read_doubles("/params");
    if (f.has_attr("/", "step")) step = std::get<int64_t>(f.get_attr("/", "step"));
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(cat("--checkpoint '", ck, "' cannot be read as a naqs vmc checkpoint: ",
                         e.what()));
  }
  vmc::VmcConfig c = vmc::config_from_fingerprint(fingerprint, cat("checkpoint '", ck, "'"));
  c.device = device.str();
  std::unique_ptr<Wavefunction> psi = vmc::make_wavefunction(c);
  NAQS_REQUIRE(psi->params().layout_text() == layout, "--checkpoint '", ck, "': its parameter "
               "layout differs from the model its fingerprint describes");
  NAQS_REQUIRE(static_cast<int64_t>(params.size()) == psi->params().size(), "--checkpoint '", ck,
               "': ", params.size(), " parameters, the model has ", psi->params().size());
  const bool random_init = vm["random-init"].as<bool>();
  if (!random_init)
    psi->params().flat().copy_from(
        from_host_f64(params, {psi->params().size()}, psi->dtype(), psi->device()));

  std::vector<float> sigma;
  std::vector<int64_t> ids, dims;
  try {
    H5File f = H5File::open_read(inputs);
    NAQS_REQUIRE(f.exists("/samples/sigma") && f.exists("/samples/ids"), "--inputs '", inputs,
                 "' has no /samples/sigma and /samples/ids (write it with naqs ed --sample)");
    dims = f.dims("/samples/sigma");
    sigma = f.read_floats("/samples/sigma");
    ids = f.read_int64s("/samples/ids");
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(cat("--inputs '", inputs, "' cannot be read: ", e.what()));
  }
  const int64_t n = psi->n_sites();
  NAQS_REQUIRE(dims.size() == 2 && dims[1] == n, "--inputs '", inputs,
               "': /samples/sigma has ", dims.size() == 2 ? dims[1] : -1, " sites per row, the "
               "model ", n);
  const int64_t s_count = dims[0];
  NAQS_REQUIRE(static_cast<int64_t>(ids.size()) == s_count, "--inputs '", inputs, "': ",
               ids.size(), " ids for ", s_count, " configurations");
  for (std::size_t i = 0; i < sigma.size(); ++i)
    NAQS_REQUIRE(sigma[i] == 1.0f || sigma[i] == -1.0f, "--inputs '", inputs,
                 "': /samples/sigma row ", int64_t(i) / n, " has ", sigma[i],
                 " (allowed: +1, -1)");

  // ---- forward passes ----
  FeatureLayers fl;
  std::string pooling = "mean over sites";
  std::vector<double> sig64(sigma.begin(), sigma.end());
  for (int64_t b0 = 0; b0 < s_count; b0 += batch) {
    const int64_t b = std::min(batch, s_count - b0);
    const std::vector<double> part(sig64.begin() + b0 * n, sig64.begin() + (b0 + b) * n);
    const Tensor x = from_host_f64(part, {b, n}, psi->dtype(), psi->device());
    std::vector<std::pair<std::string, Tensor>> layers;
    if (auto* ar = dynamic_cast<AutoregressiveWavefunction*>(psi.get())) {
      Tensor re = Tensor::empty({b, 2, n}, psi->dtype(), psi->device());
      Tensor im = Tensor::empty({b, 2, n}, psi->dtype(), psi->device());
      ar->logits(x, re, im);
      if (auto* m1 = dynamic_cast<NaqsConv1d*>(ar)) layers = m1->hidden_layers();
      else if (auto* m2 = dynamic_cast<NaqsConv2d*>(ar)) layers = m2->hidden_layers();
      else if (auto* tw = dynamic_cast<TransformerWavefunction*>(ar)) layers = tw->hidden_layers();
      else throw Error("naqs features: an autoregressive model without hidden layers");
      if (fl.names.empty()) {
        for (const auto& [name, t] : layers) {
          fl.names.push_back(name);
          fl.dims.push_back(t.size(1));
        }
        fl.rows.resize(layers.size());
      }
      for (std::size_t l = 0; l < layers.size(); ++l) append_mean(layers[l].second, fl.rows[l]);
    } else if (auto* rbm = dynamic_cast<Rbm*>(psi.get())) {
      pooling = "none";
      std::vector<double> th_re, th_im;
      rbm->hidden_theta(x, th_re, th_im);
      const int64_t m = rbm->n_hidden();
      const bool cplx = rbm->has_phase();
      if (fl.names.empty()) {
        fl.names = {"theta", "tanh_theta"};
        fl.dims = {cplx ? 2 * m : m, cplx ? 2 * m : m};
        fl.rows.resize(2);
      }
      for (int64_t i = 0; i < b; ++i) {
        for (int64_t j = 0; j < m; ++j) fl.rows[0].push_back(float(th_re[i * m + j]));
        if (cplx)
          for (int64_t j = 0; j < m; ++j) fl.rows[0].push_back(float(th_im[i * m + j]));
        std::vector<std::complex<double>> t(static_cast<std::size_t>(m));
        for (int64_t j = 0; j < m; ++j) t[j] = std::tanh(std::complex<double>(th_re[i * m + j],
                                                                              th_im[i * m + j]));
        for (int64_t j = 0; j < m; ++j) fl.rows[1].push_back(float(t[j].real()));
        if (cplx)
          for (int64_t j = 0; j < m; ++j) fl.rows[1].push_back(float(t[j].imag()));
      }
    } else {
      throw Error("naqs features: unsupported model");
    }
  }

  // ---- write ----
  std::string names;
  for (const std::string& nm : fl.names) names += (names.empty() ? "" : ",") + nm;
  // Published whole and never over an existing file (of two runs racing, one gets "already
  // exists").
  write_new_atomically(out, [&](H5File& f) {
    write_provenance(f, ctx.command_line, ctx.config_text, device.str(), {});
    for (std::size_t l = 0; l < fl.names.size(); ++l) {
      const std::string ds = cat("/features/layer_", l);
      f.write_dataset(ds, fl.rows[l], {s_count, fl.dims[l]});
      f.set_attr(ds, "name", fl.names[l]);
    }
    f.write_dataset("/ids", ids, {s_count});
    f.set_attr("/", "model", model_lines(fingerprint));
    f.set_attr("/", "checkpoint", ck);
    f.set_attr("/", "checkpoint_step", random_init ? int64_t{0} : step);
    f.set_attr("/", "parameters", std::string(random_init ? "random initialisation (seed of the "
                                                            "checkpoint's fingerprint)"
                                                          : "the checkpoint's /params"));
    f.set_attr("/", "inputs", inputs);
    f.set_attr("/", "pooling", pooling);
    f.set_attr("/", "layer_names", names);
    f.set_attr("/", "n_layers", static_cast<int64_t>(fl.names.size()));
    finish_provenance(f);
  });
  std::printf("# naqs features: %lld inputs, %zu layers (%s), pooling %s -> %s\n",
              static_cast<long long>(s_count), fl.names.size(), names.c_str(), pooling.c_str(),
              out.c_str());
  return 0;
}

}  // namespace

NAQS_COMMAND("features", "hidden-layer features of a NAQS/RBM checkpoint or a language model "
             "(naqs lm train output) on a set of inputs",
             features_options, features_run);
