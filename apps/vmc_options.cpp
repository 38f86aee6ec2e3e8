#include "apps/vmc_options.hpp"

#include <sstream>

#include "host/cli/number.hpp"
#include "host/core/error.hpp"

namespace naqs::cli {
namespace {

// Seeds are stored as int64 in checkpoints and HDF5 attributes.
constexpr uint64_t kMaxSeed = (uint64_t{1} << 63) - 1;

std::string join_ints(const std::vector<int>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';  // (not `"," + to_string`: GCC 12's -Wrestrict false positive)
    s += std::to_string(v[i]);
  }
  return s;
}

// "1,2,4": positive integers, comma-separated (UsageError naming the option otherwise).
std::vector<int> parse_int_list(const std::string& s, const char* what) {
  std::vector<int> v;
  std::size_t pos = 0;
  while (true) {
    const std::size_t comma = s.find(',', pos);
    const std::string item = s.substr(pos, comma == std::string::npos ? comma : comma - pos);
    NAQS_REQUIRE(!item.empty(), "--", what, ": '", s,
                 "' is not a comma-separated list of positive integers");
    v.push_back(parse_checked<int>(item, what, Range<int>{1, 1 << 20}));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return v;
}

template <class T>
T get(const po::variables_map& vm, const char* name) {
  return vm[name].as<T>();
}

}  // namespace

void add_system_options(po::options_description& desc, const vmc::VmcConfig& d, OptionUse use) {
  po::options_description g("system (Pauli units)");
  if (use == OptionUse::vmc)
    g.add_options()
        ("hamiltonian", po::value<std::string>()->default_value(d.hamiltonian),
         "tfim | heisenberg (H = -J sum ZZ - h sum X - hz sum Z, or H = J sum (XX + YY + "
         "delta ZZ))")
        ("h", number<double>(kCouplingRange)->default_value(d.h), "transverse field h (tfim)");
  g.add_options()
      ("lattice", po::value<std::string>()->default_value(d.lattice), "chain | square")
      ("L", number<int>(Range<int>{1, 4096})->default_value(d.length_x),
       "sites of the chain / Lx of the square")
      ("Ly", number<int>(Range<int>{1, 4096})->default_value(d.length_y),
       "Ly of the square (1 for a chain)")
      ("boundary", po::value<std::string>()->default_value(d.periodic ? "pbc" : "obc"),
       "pbc | obc")
      ("J", number<double>(kCouplingRange)->default_value(d.J), "coupling J")
      ("hz", number<double>(kCouplingRange)->default_value(d.hz), "longitudinal field hz (tfim)");
  if (use == OptionUse::vmc)
    g.add_options()
        ("delta", number<double>(kCouplingRange)->default_value(d.delta),
         "anisotropy delta (heisenberg)")
        ("marshall", po::bool_switch(), "Marshall sign rule (heisenberg, bipartite lattices)");
  g.add_options()("sz-zero", po::bool_switch(),
                  "constrain the wavefunction to total Sz = 0 (every VMC method)");
  desc.add(g);
}

void add_model_options(po::options_description& desc, const vmc::VmcConfig& d, OptionUse use) {
  po::options_description g(use == OptionUse::vmc
                                ? "wavefunction"
                                : "wavefunctions (naqs: the NAQS options; mcmc: the RBM's --alpha)");
  if (use == OptionUse::vmc)
    g.add_options()("model", po::value<std::string>()->default_value(d.model),
                    "naqs (autoregressive, exact sampling) | rbm (restricted Boltzmann machine)");
  g.add_options()
      ("alpha", number<double>(Range<double>{0, 1024, true})->default_value(d.alpha),
       "rbm: hidden units per site")
      ("network", po::value<std::string>()->default_value(d.network),
       "naqs: conv1d (masked conv over the site order, any lattice) | conv2d (two-stream masked "
       "conv, square lattices)")
      ("preset", po::value<std::string>()->default_value(d.preset),
       "naqs: conv2d preset tfim12 | heis10 (the paper's 12x12 / 10x10 models) | small4 | tiny3: "
       "sets network, width, depth, kernel; needs the preset's square lattice")
      ("width", number<int>(Range<int>{1, 4096})->default_value(d.width),
       "naqs: channels of every hidden layer")
      ("depth", number<int>(Range<int>{0, 1024})->default_value(d.depth), "naqs: residual blocks")
      ("kernel", number<int>(Range<int>{1, 1024})->default_value(d.kernel),
       "naqs: taps of every masked convolution")
      ("dilations", po::value<std::string>()->default_value(join_ints(d.dilations)),
       "naqs conv1d: dilation per block, cycled (comma-separated)")
      ("activation", po::value<std::string>()->default_value(d.activation), "naqs: relu | selu")
      ("phase", po::value<std::string>()->default_value(d.phase),
       "real (positive, stoquastic problems) | complex (rbm: complex parameters)")
      ("dtype", po::value<std::string>()->default_value(d.dtype), "f64 | f32")
      ("init-scale", number<double>(non_negative<double>())->default_value(d.init_scale),
       "naqs: scale of the output layer at initialisation (small: near-uniform start); rbm: "
       "standard deviation of the initial parameters");
  desc.add(g);
}

void add_sampler_options(po::options_description& desc, const vmc::VmcConfig& d, OptionUse use) {
  po::options_description g(use == OptionUse::vmc ? "sampler" : "Metropolis sampler (mcmc)");
  if (use == OptionUse::vmc)
    g.add_options()("sampler", po::value<std::string>()->default_value(d.sampler.kind),
                    "auto (exact for naqs, metropolis for rbm) | exact (autoregressive models "
                    "only) | metropolis");
  g.add_options()
      ("mc-chains", number<int64_t>(Range<int64_t>{1, int64_t{1} << 24})
          ->default_value(d.sampler.n_chains),
       "metropolis: parallel chains (batch sizes and --obs-samples must be multiples)")
      ("mc-burn-in", number<int64_t>(Range<int64_t>{0, int64_t{1} << 32})
          ->default_value(d.sampler.burn_in),
       "metropolis: sweeps discarded at the start of every draw (chains persist across steps)")
      ("mc-sweeps", number<int64_t>(Range<int64_t>{1, int64_t{1} << 32})
          ->default_value(d.sampler.sweeps_between),
       "metropolis: sweeps (N proposals per chain) between samples")
      ("mc-global-flip", number<double>(Range<double>{0, 1})->default_value(d.sampler.p_global),
       "metropolis: probability of proposing a global spin flip");
  desc.add(g);
}

void add_training_options(po::options_description& desc, const vmc::VmcConfig& d) {
  po::options_description g("training");
  g.add_options()
      ("steps", number<int64_t>(Range<int64_t>{0, int64_t{1} << 40})->default_value(d.steps),
       "training steps")
      ("batch", po::value<std::string>()->default_value(d.batch_schedule),
       "batch schedule B1:S1,B2:S2,...,Bk (e.g. 128:200,1024:300,8192)")
      ("minibatch", number<int64_t>(Range<int64_t>{1, int64_t{1} << 32})
          ->default_value(d.minibatch),
       "samples evaluated at once (gradient accumulation; bounds memory)")
      ("optimizer", po::value<std::string>()->default_value(d.optimizer), "adam | sgd | sr | minsr")
      ("lr", number<double>(non_negative<double>())->default_value(d.lr), "learning rate")
      ("lr-schedule", po::value<std::string>()->default_value(d.lr_schedule),
       "constant | cosine[:final_fraction] | step:K:gamma | exp:gamma")
      ("beta1", number<double>(Range<double>{0, 1})->default_value(d.adam.beta1), "Adam beta1")
      ("beta2", number<double>(Range<double>{0, 1})->default_value(d.adam.beta2),
       "Adam beta2 (paper: 0.9)")
      ("adam-eps", number<double>(positive<double>())->default_value(d.adam.eps), "Adam epsilon")
      ("momentum", number<double>(Range<double>{0, 1})->default_value(d.momentum), "SGD momentum")
      ("diag-shift", number<double>(positive<double>())->default_value(d.sr.diag_shift),
       "SR / minSR diagonal shift lambda")
      ("cg-iters", number<int>(Range<int>{1, 1000000})->default_value(d.sr.cg_max_iters),
       "SR: max CG iterations")
      ("cg-rtol", number<double>(positive<double>())->default_value(d.sr.cg_rtol),
       "SR: CG relative residual")
      ("seed", number<uint64_t>(Range<uint64_t>{0, kMaxSeed})->default_value(d.seed),
       "seed of the model initialisation and of every sample (Philox key)")
      ("device", po::value<std::string>()->default_value(d.device), "cpu | cuda | cuda:N | auto")
      ("memory-cap-mb", number<int64_t>(Range<int64_t>{1, int64_t{1} << 30})->default_value(
                            static_cast<int64_t>(d.memory_cap_bytes >> 20)),
       "memory per local-energy forward group (MiB)");
  desc.add(g);
}

void add_run_options(po::options_description& desc, const vmc::VmcConfig& d) {
  po::options_description g("checkpoints, observables, exact reference");
  g.add_options()
      ("checkpoint-every", number<int64_t>(non_negative<int64_t>())
          ->default_value(d.checkpoint_every),
       "steps between checkpoints (0: only at the end and on signals)")
      ("obs-samples", number<int64_t>(Range<int64_t>{2, int64_t{1} << 40})
          ->default_value(d.obs_samples),
       "samples for the final observables")
      ("observe-every", number<int64_t>(non_negative<int64_t>())->default_value(d.observe_every),
       "also measure observables every k steps (0: only at the end)")
      ("observe-samples", number<int64_t>(Range<int64_t>{2, int64_t{1} << 40})
          ->default_value(d.observe_samples),
       "samples for the periodic observables")
      ("ed-max-sites", number<int>(Range<int>{0, 64})->default_value(d.max_ed_sites),
       "compute the exact ground state by ED up to this many sites (0: never)")
      ("quiet", po::bool_switch(), "no progress output");
  desc.add(g);
}

void add_vmc_options(po::options_description& desc, const vmc::VmcConfig& d, OptionUse use) {
  add_system_options(desc, d, use);
  add_model_options(desc, d, use);
  add_sampler_options(desc, d, use);
  add_training_options(desc, d);
  add_run_options(desc, d);
}

void read_vmc_options(const po::variables_map& vm, OptionUse use, vmc::VmcConfig& c) {
  using std::string;
  const bool is_vmc = use == OptionUse::vmc;
  // system
  if (is_vmc) {
    c.hamiltonian = get<string>(vm, "hamiltonian");
    c.h = get<double>(vm, "h");
    // The default field belongs to the TFIM; the Heisenberg model takes none (an explicit --h is
    // refused by the Hamiltonian with a message).
    if (c.hamiltonian == "heisenberg" && vm["h"].defaulted()) c.h = 0;
    c.delta = get<double>(vm, "delta");
    c.marshall = get<bool>(vm, "marshall");
  }
  c.lattice = get<string>(vm, "lattice");
  c.length_x = get<int>(vm, "L");
  c.length_y = get<int>(vm, "Ly");
  const string boundary = get<string>(vm, "boundary");
  NAQS_REQUIRE(boundary == "pbc" || boundary == "obc", "--boundary must be pbc or obc, got '",
               boundary, "'");
  c.periodic = boundary == "pbc";
  c.J = get<double>(vm, "J");
  c.hz = get<double>(vm, "hz");
  c.sz_zero = get<bool>(vm, "sz-zero");
  // wavefunction
  if (is_vmc) c.model = get<string>(vm, "model");
  c.alpha = get<double>(vm, "alpha");
  c.network = get<string>(vm, "network");
  c.preset = get<string>(vm, "preset");
  c.width = get<int>(vm, "width");
  c.depth = get<int>(vm, "depth");
  c.kernel = get<int>(vm, "kernel");
  c.dilations = parse_int_list(get<string>(vm, "dilations"), "dilations");
  c.activation = get<string>(vm, "activation");
  c.phase = get<string>(vm, "phase");
  c.dtype = get<string>(vm, "dtype");
  c.init_scale = get<double>(vm, "init-scale");
  // sampler
  if (is_vmc) c.sampler.kind = get<string>(vm, "sampler");
  c.sampler.n_chains = get<int64_t>(vm, "mc-chains");
  c.sampler.burn_in = get<int64_t>(vm, "mc-burn-in");
  c.sampler.sweeps_between = get<int64_t>(vm, "mc-sweeps");
  c.sampler.p_global = get<double>(vm, "mc-global-flip");
  // training
  c.steps = get<int64_t>(vm, "steps");
  NAQS_REQUIRE(c.steps >= 0, "--steps must be >= 0, got ", c.steps);
  c.batch_schedule = get<string>(vm, "batch");
  c.minibatch = get<int64_t>(vm, "minibatch");
  NAQS_REQUIRE(c.minibatch >= 1, "--minibatch must be >= 1, got ", c.minibatch);
  c.optimizer = get<string>(vm, "optimizer");
  NAQS_REQUIRE(c.optimizer == "adam" || c.optimizer == "sgd" || c.optimizer == "sr" ||
                   c.optimizer == "minsr",
               "--optimizer must be adam, sgd, sr or minsr, got '", c.optimizer, "'");
  c.lr = get<double>(vm, "lr");
  c.lr_schedule = get<string>(vm, "lr-schedule");
  c.adam.beta1 = get<double>(vm, "beta1");
  c.adam.beta2 = get<double>(vm, "beta2");
  c.adam.eps = get<double>(vm, "adam-eps");
  c.momentum = get<double>(vm, "momentum");
  c.sr.diag_shift = get<double>(vm, "diag-shift");
  NAQS_REQUIRE(c.sr.diag_shift > 0, "--diag-shift must be > 0, got ", c.sr.diag_shift);
  c.sr.cg_max_iters = get<int>(vm, "cg-iters");
  NAQS_REQUIRE(c.sr.cg_max_iters >= 1, "--cg-iters must be >= 1, got ", c.sr.cg_max_iters);
  c.sr.cg_rtol = get<double>(vm, "cg-rtol");
  NAQS_REQUIRE(c.sr.cg_rtol > 0, "--cg-rtol must be > 0, got ", c.sr.cg_rtol);
  c.seed = get<uint64_t>(vm, "seed");
  c.device = get<string>(vm, "device");
  const int64_t cap_mb = get<int64_t>(vm, "memory-cap-mb");
  NAQS_REQUIRE(cap_mb >= 1, "--memory-cap-mb must be >= 1, got ", cap_mb);
  c.memory_cap_bytes = static_cast<std::size_t>(cap_mb) << 20;
  // checkpoints, observables, exact reference
  c.checkpoint_every = get<int64_t>(vm, "checkpoint-every");
  NAQS_REQUIRE(c.checkpoint_every >= 0, "--checkpoint-every must be >= 0, got ",
               c.checkpoint_every);
  c.obs_samples = get<int64_t>(vm, "obs-samples");
  c.observe_every = get<int64_t>(vm, "observe-every");
  NAQS_REQUIRE(c.observe_every >= 0, "--observe-every must be >= 0, got ", c.observe_every);
  c.observe_samples = get<int64_t>(vm, "observe-samples");
  NAQS_REQUIRE(c.observe_samples >= 1, "--observe-samples must be >= 1, got ",
               c.observe_samples);
  c.max_ed_sites = get<int>(vm, "ed-max-sites");
  NAQS_REQUIRE(c.max_ed_sites >= 0, "--ed-max-sites must be >= 0, got ", c.max_ed_sites);
  c.quiet = get<bool>(vm, "quiet");
}

}  // namespace naqs::cli
