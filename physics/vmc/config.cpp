#include "physics/vmc/config.hpp"

#include <cstdio>
#include <sstream>

#include "host/core/device.hpp"
#include "host/io/checkpoint.hpp"
#include "physics/models/naqs_conv2d.hpp"
#include "physics/models/rbm.hpp"
#include "physics/models/transformer_wavefunction.hpp"

namespace naqs::vmc {
namespace {

using cli::kFingerprint;
using cli::kNoFingerprint;
using cli::Range;
using Row = cli::OptionRow<VmcConfig>;

constexpr const char* kSystem = "system (Pauli units)";
constexpr const char* kModel = "wavefunction";
constexpr const char* kSampler = "sampler";
constexpr const char* kTraining = "training";
constexpr const char* kRun = "checkpoints, observables, exact reference";
constexpr const char* kOutput = "output";

bool is_naqs(const VmcConfig& c) { return c.model == Ansatz::naqs; }
bool is_rbm(const VmcConfig& c) { return c.model == Ansatz::rbm; }
bool is_transformer(const VmcConfig& c) {
  return is_naqs(c) && c.network == Network::transformer;
}
bool is_conv(const VmcConfig& c) { return is_naqs(c) && !is_transformer(c); }
bool is_metropolis(const VmcConfig& c) { return resolved_sampler(c) == SamplerKind::metropolis; }

cli::OptionTable<VmcConfig> make_table() {
  using cli::row;
  using C = VmcConfig;
  const Range<int> lengths{1, 4096};
  const Range<int64_t> big{2, int64_t{1} << 40};
  cli::OptionTable<C> t = {
      // ---- system ----
      row("hamiltonian", "hamiltonian", &C::hamiltonian, kSystem,
          "H = -J sum ZZ - h sum X - hz sum Z (tfim), or H = J sum (XX + YY + delta ZZ) "
          "(heisenberg)", kFingerprint).only(kVmcScope),
      row("h", "h", &C::h, cli::kCouplingRange, kSystem, "transverse field h (tfim)",
          kFingerprint).only(kVmcScope),
      row("lattice", "lattice", &C::lattice, kSystem, "the lattice", kFingerprint),
      row("L", "length_x", &C::length_x, lengths, kSystem, "sites of the chain / Lx of the square",
          kFingerprint),
      row("Ly", "length_y", &C::length_y, lengths, kSystem, "Ly of the square (1 for a chain)",
          kFingerprint),
      row("boundary", "boundary", &C::boundary, kSystem, "boundary conditions", kFingerprint),
      row("J", "J", &C::J, cli::kCouplingRange, kSystem, "coupling J", kFingerprint),
      row("hz", "hz", &C::hz, cli::kCouplingRange, kSystem, "longitudinal field hz (tfim)",
          kFingerprint),
      row("delta", "delta", &C::delta, cli::kCouplingRange, kSystem,
          "anisotropy delta (heisenberg)", kFingerprint).only(kVmcScope),
      row("marshall", "marshall", &C::marshall, kSystem,
          "Marshall sign rule (heisenberg, bipartite lattices)", kFingerprint).only(kVmcScope),
      row("magnetisation", "magnetisation", &C::magnetisation,
          Range<int64_t>{-(int64_t{1} << 20), int64_t{1} << 20}, kSystem,
          "total magnetisation sum_i sigma_i = 2 Sz of every configuration (0: the Sz = 0 "
          "sector), for every VMC method; the exact reference stays H's ground state",
          kFingerprint),
      // ---- wavefunction ----
      row("model", "model", &C::model, kModel,
          "naqs (autoregressive, exact sampling) or rbm (restricted Boltzmann machine)",
          kFingerprint).only(kVmcScope),
      row("alpha", "alpha", &C::alpha, Range<double>{0, 1024, true}, kModel,
          "rbm: hidden units per site", kFingerprint).when(is_rbm),
      row("network", "network", &C::network, kModel,
          "naqs: masked conv over the site order (conv1d, any lattice), two-stream masked conv "
          "(conv2d, square lattices) or a transformer over the site order (transformer)",
          kFingerprint).when(is_naqs),
      row("preset", "preset", &C::preset, kModel,
          "naqs: conv2d preset tfim12 | heis10 (the paper's 12x12 / 10x10 models) | small4 | "
          "tiny3: sets network, width, depth, kernel; needs the preset's square lattice",
          kFingerprint).when(is_naqs),
      row("width", "width", &C::width, Range<int>{1, 4096}, kModel,
          "naqs: channels of every hidden layer (transformer: d_model)", kFingerprint)
          .when(is_naqs),
      row("depth", "depth", &C::depth, Range<int>{0, 1024}, kModel,
          "naqs: residual blocks (transformer: layers, >= 1)", kFingerprint).when(is_naqs),
      row("heads", "heads", &C::heads, Range<int>{1, 1024}, kModel,
          "transformer: query heads (head dim = width / heads, even)", kFingerprint)
          .when(is_transformer),
      row("kv-heads", "kv_heads", &C::kv_heads, Range<int>{1, 1024}, kModel,
          "transformer: key/value heads (= heads: MHA, 1: MQA, between: GQA)", kFingerprint)
          .when(is_transformer),
      row("kv-share", "kv_share", &C::kv_share, Range<int>{1, 1024}, kModel,
          "transformer: consecutive layers sharing one KV cache (CLA; 1: none)", kFingerprint)
          .when(is_transformer),
      row("kernel", "kernel", &C::kernel, Range<int>{1, 1024}, kModel,
          "naqs: taps of every masked convolution", kFingerprint).when(is_conv),
      row("dilations", "dilations", &C::dilations, kModel,
          "naqs conv1d: dilation per block, cycled (comma-separated)", kFingerprint)
          .when(is_conv),
      row("activation", "activation", &C::activation, kModel, "naqs: the activation",
          kFingerprint).when(is_conv),
      row("phase", "phase", &C::phase, kModel,
          "real (positive, stoquastic problems) or complex (rbm: complex parameters)",
          kFingerprint),
      row("dtype", "dtype", &C::dtype, kModel, "precision of the network", kFingerprint),
      row("init-scale", "init_scale", &C::init_scale, cli::non_negative<double>(), kModel,
          "naqs: scale of the output layer at initialisation (small: near-uniform start); rbm: "
          "standard deviation of the initial parameters", kFingerprint)
          .when([](const VmcConfig& c) { return !is_transformer(c); }),
      // ---- sampler ----
      row("sampler", "sampler", &C::sampler, &SamplerSettings::kind, {}, kSampler,
          "auto = exact for naqs, metropolis for rbm; exact needs an autoregressive model",
          kFingerprint).only(kVmcScope),
      row("mc-chains", "mc_chains", &C::sampler, &SamplerSettings::n_chains,
          Range<int64_t>{1, int64_t{1} << 24}, kSampler,
          "metropolis: parallel chains (batch sizes and --obs-samples must be multiples)",
          kFingerprint).when(is_metropolis),
      row("mc-burn-in", "mc_burn_in", &C::sampler, &SamplerSettings::burn_in,
          Range<int64_t>{0, int64_t{1} << 32}, kSampler,
          "metropolis: sweeps discarded at the start of every draw (chains persist across steps)",
          kFingerprint).when(is_metropolis),
      row("mc-sweeps", "mc_sweeps_between", &C::sampler, &SamplerSettings::sweeps_between,
          Range<int64_t>{1, int64_t{1} << 32}, kSampler,
          "metropolis: sweeps (N proposals per chain) between samples", kFingerprint)
          .when(is_metropolis),
      row("mc-global-flip", "mc_p_global", &C::sampler, &SamplerSettings::p_global,
          Range<double>{0, 1}, kSampler, "metropolis: probability of proposing a global spin flip",
          kFingerprint).when(is_metropolis),
      // ---- training ----
      row("steps", "steps", &C::steps, Range<int64_t>{0, int64_t{1} << 40}, kTraining,
          "training steps", kFingerprint),
      row("batch", "batch_schedule", &C::batch_schedule, kTraining,
          "batch schedule B1:S1,B2:S2,...,Bk (e.g. 128:200,1024:300,8192)", kFingerprint),
      row("minibatch", "minibatch", &C::minibatch, Range<int64_t>{1, int64_t{1} << 32}, kTraining,
          "samples evaluated at once (gradient accumulation; bounds memory)", kFingerprint),
      row("optimizer", "optimizer", &C::optimizer, kTraining,
          "first-order (adam, adamw, sgd) or stochastic reconfiguration (sr, minsr)",
          kFingerprint),
      row("lr", "lr", &C::lr, cli::non_negative<double>(), kTraining, "learning rate",
          kFingerprint),
      row("lr-schedule", "lr_schedule", &C::lr_schedule, kTraining,
          "constant | cosine[:final_fraction] | step:K:gamma | exp:gamma", kFingerprint),
      row("beta1", "beta1", &C::adam, &nn::AdamOptions::beta1, Range<double>{0, 1}, kTraining,
          "Adam beta1", kFingerprint),
      row("beta2", "beta2", &C::adam, &nn::AdamOptions::beta2, Range<double>{0, 1}, kTraining,
          "Adam beta2 (paper: 0.9)", kFingerprint),
      row("adam-eps", "adam_eps", &C::adam, &nn::AdamOptions::eps, cli::positive<double>(),
          kTraining, "Adam epsilon", kFingerprint),
      row("momentum", "momentum", &C::momentum, Range<double>{0, 1}, kTraining, "SGD momentum",
          kFingerprint),
      row("weight-decay", "weight_decay", &C::weight_decay, cli::non_negative<double>(),
          kTraining, "adamw: decoupled weight decay", kFingerprint)
          .when([](const C& c) { return c.optimizer == OptimizerKind::adamw; }),
      row("grad-clip", "grad_clip", &C::grad_clip, cli::non_negative<double>(), kTraining,
          "clip the global norm of every update direction to this (0: no clipping)",
          kFingerprint),
      row("diag-shift", "diag_shift", &C::sr, &optim::SrOptions::diag_shift,
          cli::positive<double>(), kTraining, "SR / minSR diagonal shift lambda", kFingerprint),
      row("cg-iters", "cg_max_iters", &C::sr, &optim::SrOptions::cg_max_iters,
          Range<int>{1, 1000000}, kTraining, "SR: max CG iterations", kFingerprint),
      row("cg-rtol", "cg_rtol", &C::sr, &optim::SrOptions::cg_rtol, cli::positive<double>(),
          kTraining, "SR: CG relative residual", kFingerprint),
      row("seed", "seed", &C::seed, cli::kSeedRange, kTraining,
          "seed of the model initialisation and of every sample (Philox key)", kFingerprint),
      // The fingerprint holds the device type (fingerprint_text resolves it): a run continues
      // on another GPU of the same kind.
      row("device", "device", &C::device, kTraining, "cpu | cuda | cuda:N | auto", kFingerprint),
      cli::row_with<int64_t, C>(
          "memory-cap-mb", "memory_cap_mb",
          [](const C& c) { return static_cast<int64_t>(c.memory_cap_bytes >> 20); },
          [](C& c, int64_t mb) { c.memory_cap_bytes = static_cast<std::size_t>(mb) << 20; },
          Range<int64_t>{1, int64_t{1} << 30}, kTraining,
          "memory per local-energy forward group (MiB)", kNoFingerprint),
      // ---- checkpoints, observables, exact reference ----
      row("checkpoint-every", "checkpoint_every", &C::checkpoint_every,
          cli::non_negative<int64_t>(), kRun,
          "steps between checkpoints (0: only at the end and on signals)", kNoFingerprint),
      row("obs-samples", "obs_samples", &C::obs_samples, big, kRun,
          "samples for the final observables", kNoFingerprint),
      row("observe-every", "observe_every", &C::observe_every, cli::non_negative<int64_t>(), kRun,
          "also measure observables every k steps (0: only at the end)", kNoFingerprint),
      row("observe-samples", "observe_samples", &C::observe_samples, big, kRun,
          "samples for the periodic observables", kNoFingerprint),
      row("ed-max-sites", "ed_max_sites", &C::max_ed_sites, Range<int>{0, 64}, kRun,
          "compute the exact ground state by ED up to this many sites (0: never)",
          kNoFingerprint),
      row("quiet", "quiet", &C::quiet, kRun, "no progress output", kNoFingerprint),
      // ---- output (naqs vmc; a sweep names its task files itself) ----
      row("out", "output", &C::output, kOutput,
          "HDF5 output file (default: vmc-<UTC time>.h5; never overwritten)", kNoFingerprint)
          .alias('o').unrecorded().only(kVmcScope),
      row("checkpoint", "checkpoint", &C::checkpoint, kOutput,
          "checkpoint file (default: <output>.ckpt)", kNoFingerprint)
          .unrecorded().only(kVmcScope),
      row("resume", "resume", &C::resume, kOutput,
          "continue from the checkpoint (needs the same settings)", kNoFingerprint)
          .unrecorded().only(kVmcScope),
  };
  return t;
}

}  // namespace

// ---- the table ---------------------------------------------------------------------------------

const cli::OptionTable<VmcConfig>& vmc_option_table() {
  static const cli::OptionTable<VmcConfig> t = make_table();
  return t;
}

void declare_vmc_options(cli::po::options_description& desc, const VmcConfig& d, unsigned scope) {
  cli::declare_options(desc, vmc_option_table(), d, scope);
}

void read_vmc_options(const cli::po::variables_map& vm, unsigned scope, VmcConfig& c) {
  cli::read_options(vm, vmc_option_table(), c, scope);
  // The default field belongs to the TFIM; the Heisenberg model takes none (an explicit --h is
  // refused by the Hamiltonian with a message).
  if ((scope & kVmcScope) && c.hamiltonian == Model::heisenberg && vm.count("h") &&
      vm["h"].defaulted())
    c.h = 0;
}

SamplerKind resolved_sampler(const VmcConfig& c) {
  return resolve_sampler_kind(c.sampler.kind, c.model == Ansatz::naqs);
}

int64_t n_sites(const VmcConfig& c) { return static_cast<int64_t>(c.length_x) * c.length_y; }

std::string fingerprint_text(const VmcConfig& config) {
  VmcConfig c = config;
  c.sampler.kind = resolved_sampler(c);
  c.device = resolve_device(c.device).is_cuda() ? "cuda" : "cpu";
  std::string text = cli::fingerprint_lines(vmc_option_table(), c);
  if (!c.init_parameters.empty()) {
    std::string bytes(reinterpret_cast<const char*>(c.init_parameters.data()),
                      c.init_parameters.size() * sizeof(double));
    text += "init_parameters = " + fingerprint_hash(bytes) + "\n";
  }
  return text;
}

std::string settings_text(const VmcConfig& c) {
  return cli::settings_lines(vmc_option_table(), c);
}

VmcConfig config_from_fingerprint(const std::string& text, const std::string& what) {
  VmcConfig c;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find(" = ");
    NAQS_REQUIRE(eq != std::string::npos, "--", what, ": fingerprint line '", line,
                 "' is not 'key = value'");
    const std::string key = line.substr(0, eq), value = line.substr(eq + 3);
    if (key == "init_parameters") continue;  // a hash: the parameters come with the checkpoint
    const cli::OptionRow<VmcConfig>* r = cli::find_key(vmc_option_table(), key);
    NAQS_REQUIRE(r != nullptr, "--", what, ": fingerprint line '", key,
                 "' is not a setting of this naqs version");
    r->parse(c, value, cat(what, ": fingerprint line '", key, "'"));
  }
  return c;
}

// ---- batch schedule ----------------------------------------------------------------------------

int64_t BatchSchedule::stage_at(int64_t step) const {
  int64_t start = 0;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    if (stages[i].steps < 0 || step < start + stages[i].steps) return static_cast<int64_t>(i);
    start += stages[i].steps;
  }
  return static_cast<int64_t>(stages.size()) - 1;  // the last stage continues
}

std::string BatchSchedule::str() const {
  std::ostringstream o;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    o << (i ? "," : "") << stages[i].batch_size;
    if (stages[i].steps >= 0) o << ":" << stages[i].steps;
  }
  return o.str();
}

BatchSchedule BatchSchedule::parse(const std::string& spec) {
  const std::string bad = cat("bad batch schedule '", spec,
                              "' (expected B1:S1,B2:S2,...,Bk, e.g. 128:200,1024:300,8192)");
  auto integer = [&](const std::string& t, const char* what) {
    NAQS_REQUIRE(!t.empty(), bad, ": empty ", what);
    return cli::parse_checked<int64_t>(t, "batch", cli::Range<int64_t>{1, int64_t{1} << 40});
  };
  BatchSchedule s;
  std::size_t pos = 0;
  while (true) {  // every item, the empty ones too ("16:10," is refused)
    const std::size_t comma = spec.find(',', pos);
    const std::string item = spec.substr(pos, comma == std::string::npos ? comma : comma - pos);
    NAQS_REQUIRE(!item.empty(), bad, ": empty stage");
    const auto colon = item.find(':');
    BatchStage st;
    st.batch_size = integer(item.substr(0, colon), "size");
    if (colon != std::string::npos) st.steps = integer(item.substr(colon + 1), "stage length");
    s.stages.push_back(st);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  for (std::size_t i = 0; i + 1 < s.stages.size(); ++i)
    NAQS_REQUIRE(s.stages[i].steps > 0, bad, ": only the last stage may omit its length");
  return s;
}

// ---- factories ------------------------------------------------------------------------------

Hamiltonian make_hamiltonian(const VmcConfig& c) {
  const bool px = c.boundary.x == Boundary::pbc, py = c.boundary.y == Boundary::pbc;
  Lattice lat = [&] {
    if (c.lattice == LatticeKind::chain) {
      NAQS_REQUIRE(c.length_y == 1, "a chain has length_y = 1, got ", c.length_y);
      NAQS_REQUIRE(px == py, "--boundary: a chain has one direction, got '",
                   cli::Codec<Boundaries>::text(c.boundary), "'");
      return Lattice::chain(c.length_x, px);
    }
    return Lattice::square(c.length_x, c.length_y, px, py);
  }();
  ModelParams p;
  p.model = c.hamiltonian;
  p.J = c.J;
  p.h = c.h;
  p.hz = c.hz;
  p.Delta = c.delta;
  p.marshall = c.marshall;
  return Hamiltonian(lat, p);
}

SpinHilbert make_hilbert(const VmcConfig& c) {
  return c.magnetisation ? SpinHilbert::with_magnetisation(n_sites(c), *c.magnetisation)
                        : SpinHilbert::full(n_sites(c));
}

std::unique_ptr<Wavefunction> make_wavefunction(const VmcConfig& c) {
  return c.model == Ansatz::rbm ? make_rbm(c) : make_naqs(c);
}

std::unique_ptr<Wavefunction> make_rbm(const VmcConfig& c) {
  NAQS_REQUIRE(c.init_scale > 0, "rbm: --init-scale (parameter stddev) must be > 0");
  RbmConfig r;
  r.n_sites = n_sites(c);
  r.alpha = c.alpha;
  r.complex = c.phase == PhaseMode::complex;
  auto psi = std::make_unique<Rbm>(r, c.dtype, resolve_device(c.device));
  psi->init_random(c.seed, c.init_scale);
  return psi;
}

VmcConfig apply_preset(VmcConfig c) {
  if (c.preset.empty()) return c;
  const NaqsConv2dConfig p = naqs_conv2d_preset(c.preset);
  NAQS_REQUIRE(c.lattice == LatticeKind::square && c.length_x == p.lx && c.length_y == p.ly,
               "preset '", c.preset, "' is a naqs_conv2d model for the ", p.lx, "x", p.ly,
               " square (--lattice square --L ", p.lx, " --Ly ", p.ly, "), not for ",
               cli::name_of(c.lattice), " ", c.length_x, "x", c.length_y);
  c.network = Network::conv2d;
  c.width = p.width;
  c.depth = p.depth;
  c.kernel = p.kernel;
  return c;
}

std::unique_ptr<AutoregressiveWavefunction> make_naqs(const VmcConfig& config) {
  const VmcConfig c = apply_preset(config);
  const DType dtype = c.dtype;
  if (c.network == Network::conv2d) {
    NAQS_REQUIRE(c.lattice == LatticeKind::square, "network conv2d needs --lattice square, got '",
                 cli::name_of(c.lattice), "' (use conv1d for chains)");
    NaqsConv2dConfig m;
    m.lx = c.length_x;
    m.ly = c.length_y;
    m.width = c.width;
    m.depth = c.depth;
    m.kernel = c.kernel;
    m.phase_mode = c.phase;
    auto psi = std::make_unique<NaqsConv2d>(m, dtype, resolve_device(c.device), c.seed);
    psi->initialise(c.seed, c.init_scale);
    psi->set_hilbert(make_hilbert(c));
    return psi;
  }
  if (c.network == Network::transformer) {
    TransformerWavefunctionConfig m;
    m.n_sites = n_sites(c);
    m.width = c.width;
    m.depth = c.depth;
    m.heads = c.heads;
    m.kv_heads = c.kv_heads;
    m.kv_share = c.kv_share;
    m.phase_mode = c.phase;
    auto psi = std::make_unique<TransformerWavefunction>(m, dtype, resolve_device(c.device),
                                                         c.seed);
    psi->set_hilbert(make_hilbert(c));
    return psi;
  }
  NaqsConv1dConfig m;
  m.n_sites = n_sites(c);
  m.width = c.width;
  m.depth = c.depth;
  m.kernel = c.kernel;
  m.dilations = c.dilations;
  m.activation = c.activation;
  m.phase_mode = c.phase;
  NAQS_REQUIRE(c.width >= 1 && c.depth >= 0 && c.kernel >= 1 && !c.dilations.empty(),
               "bad model size: width ", c.width, ", depth ", c.depth, ", kernel ", c.kernel);
  auto psi = std::make_unique<NaqsConv1d>(m, dtype, resolve_device(c.device), c.seed);
  psi->initialise(c.seed, c.init_scale);
  psi->set_hilbert(make_hilbert(c));
  return psi;
}

}  // namespace naqs::vmc

namespace naqs::cli {

std::string Codec<vmc::Boundaries>::text(const vmc::Boundaries& b) {
  return b.x == b.y ? name_of(b.x) : cat(name_of(b.x), ",", name_of(b.y));
}

vmc::Boundaries Codec<vmc::Boundaries>::parse(const std::string& t, const std::string& what,
                                              const Spec&) {
  const auto comma = t.find(',');
  vmc::Boundaries b;
  b.x = parse_choice<vmc::Boundary>(t.substr(0, comma), what);
  b.y = comma == std::string::npos ? b.x : parse_choice<vmc::Boundary>(t.substr(comma + 1), what);
  return b;
}

}  // namespace naqs::cli
