// naqs features: the hidden-layer representations of a trained (or freshly initialised) model on
// a set of inputs, for `naqs align` (ml/align/align.hpp).
//
//   naqs features --checkpoint ck.h5 --inputs cfg.h5 --out f.h5 [--batch 256] [--device cpu]
//
// --checkpoint: a `naqs vmc` checkpoint (physics/vmc/checkpoint.hpp). The model is rebuilt from
//   its /fingerprint_text (system and model lines), its /layout must equal the rebuilt model's,
//   and /params are loaded. Models: NAQS conv1d (layers h0, block1..block<depth>, each (W) after
//   the mean over the N sites), NAQS conv2d (the horizontal stream H0..H<depth>, mean over the
//   Ly x Lx sites), RBM (theta = W sigma + b and tanh(theta) = <h | sigma>, M units each, [re, im]
//   concatenated for complex parameters; nothing to pool).
// --random-init: the same model with its initial parameters (the untrained baseline).
// --inputs: an HDF5 file with /samples/sigma (S, N) +-1 and /samples/ids (S) int64, as
//   `naqs ed --sample` writes it.
// Output layout (h5py: f["features/layer_0"][:]):
//   /features/layer_<i>  (S, D_i) f32, attribute name
//   /ids                 (S) int64, copied from the inputs (naqs align refuses files whose ids
//                        differ)
//   attributes on "/": model (the rebuilt model's lines), checkpoint, checkpoint_step, inputs,
//   pooling ("mean over sites" | "none"), layer_names (comma-separated), n_layers, provenance.
// Bad input (missing files or datasets, a checkpoint of another kind, sites that do not match,
// an existing --out): one UsageError line, exit 2, nothing written; the file is written through a
// temp file and a rename.
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
#include "physics/naqs_conv1d.hpp"
#include "physics/naqs_conv2d.hpp"
#include "physics/rbm.hpp"
#include "physics/vmc/driver.hpp"

namespace {

using namespace naqs;
namespace fs = std::filesystem;

void features_options(po::options_description& d) {
  d.add_options()
      ("checkpoint", po::value<std::string>(), "a naqs vmc checkpoint (.h5)")
      ("inputs", po::value<std::string>(), "inputs: /samples/sigma and /samples/ids "
                                           "(naqs ed --sample)")
      ("out", po::value<std::string>(), "HDF5 output file (never overwritten)")
      ("batch", cli::number<int64_t>(cli::Range<int64_t>{1, 1 << 24})->default_value(256),
       "inputs per forward pass")
      ("random-init", po::bool_switch(), "leave /params out: the model as initialised from the "
                                          "checkpoint's seed (the untrained baseline)")
      ("device", po::value<std::string>()->default_value("cpu"), "auto | cpu | cuda | cuda:N");
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

// The system and model part of a VMC config from the checkpoint's fingerprint lines.
vmc::VmcConfig config_from_fingerprint(const std::string& text, const std::string& path) {
  const auto m = parse_lines(text);
  auto get = [&](const char* key) {
    const auto it = m.find(key);
    NAQS_REQUIRE(it != m.end(), "--checkpoint '", path, "': its fingerprint has no '", key,
                 "' line (not a naqs vmc checkpoint of this version)");
    return it->second;
  };
  vmc::VmcConfig c;
  c.hamiltonian = get("hamiltonian");
  c.lattice = get("lattice");
  c.length_x = std::stoi(get("length_x"));
  c.length_y = std::stoi(get("length_y"));
  c.periodic = get("periodic") == "1";
  c.J = std::stod(get("J"));
  c.h = std::stod(get("h"));
  c.hz = std::stod(get("hz"));
  c.delta = std::stod(get("delta"));
  c.marshall = get("marshall") == "1";
  c.sz_zero = get("sz_zero") == "1";
  const std::string model = get("model");
  if (model == "rbm") {
    c.model = "rbm";
    c.alpha = std::stod(get("alpha"));
  } else {
    NAQS_REQUIRE(model == "naqs_conv1d" || model == "naqs_conv2d", "--checkpoint '", path,
                 "': model '", model, "' is not one naqs features knows (naqs_conv1d, "
                 "naqs_conv2d, rbm)");
    c.model = "naqs";
    c.network = model.substr(5);
    c.preset = m.count("preset") ? m.at("preset") : "";
    c.width = std::stoi(get("width"));
    c.depth = std::stoi(get("depth"));
    c.kernel = std::stoi(get("kernel"));
    c.dilations.clear();
    std::istringstream d(get("dilations"));
    std::string part;
    while (std::getline(d, part, ','))
      if (!part.empty()) c.dilations.push_back(std::stoi(part));
    c.activation = get("activation");
  }
  c.phase = get("phase");
  c.dtype = get("dtype");
  c.init_scale = std::stod(get("init_scale"));
  c.seed = std::stoull(get("seed"));
  return c;
}

std::string model_lines(const std::string& text) {
  std::string out;
  const char* keys[] = {"hamiltonian", "lattice",  "length_x", "length_y", "periodic",
                        "J",           "h",        "hz",       "model",    "alpha",
                        "width",       "depth",    "kernel",   "dilations", "activation",
                        "phase",       "dtype",    "seed"};
  const auto m = parse_lines(text);
  for (const char* k : keys)
    if (m.count(k)) out += cat(k, " = ", m.at(k), "\n");
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

int features_run(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  // ---- validate ----
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
  vmc::VmcConfig c = config_from_fingerprint(fingerprint, ck);
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

NAQS_COMMAND("features", "hidden-layer features of a NAQS/RBM checkpoint on a set of inputs",
             features_options, features_run);
