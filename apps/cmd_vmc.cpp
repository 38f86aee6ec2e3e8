// naqs vmc: variational Monte Carlo with a NAQS wavefunction (exact samples) or an RBM
// (Metropolis samples) (physics/vmc/driver.hpp). With no options it runs the embedded default: the periodic TFIM
// chain N = 16 at h = J = 1 with a small 1D NAQS on the CPU (about a minute on 2 cores).
//
// Exit status: 0 finished; 1 failure (including non-finite energies or gradients; the last good
// checkpoint is kept); 2 bad input (including a refused checkpoint); 3 stopped by SIGTERM, SIGUSR1
// or SIGINT after the current step, with a checkpoint written: rerun with --resume.
#include <cstdio>
#include <ctime>
#include <sstream>

#include "host/cli/command.hpp"
#include "host/core/error.hpp"
#include "physics/vmc/driver.hpp"

namespace {

using naqs::vmc::VmcConfig;

constexpr int kExitInterrupted = 3;

void vmc_options(naqs::po::options_description& desc) {
  namespace po = naqs::po;
  const VmcConfig d;
  desc.add_options()
      // system
      ("hamiltonian", po::value<std::string>()->default_value(d.hamiltonian),
       "tfim | heisenberg (Pauli units: H = -J sum ZZ - h sum X - hz sum Z, or "
       "H = J sum (XX + YY + delta ZZ))")
      ("lattice", po::value<std::string>()->default_value(d.lattice), "chain | square")
      ("L", po::value<int>()->default_value(d.length_x), "sites of the chain / Lx of the square")
      ("Ly", po::value<int>()->default_value(d.length_y), "Ly of the square (1 for a chain)")
      ("boundary", po::value<std::string>()->default_value("pbc"), "pbc | obc")
      ("J", po::value<double>()->default_value(d.J), "coupling J")
      ("h", po::value<double>()->default_value(d.h), "transverse field h (tfim)")
      ("hz", po::value<double>()->default_value(d.hz), "longitudinal field hz (tfim)")
      ("delta", po::value<double>()->default_value(d.delta), "anisotropy delta (heisenberg)")
      ("marshall", po::bool_switch(), "Marshall sign rule (heisenberg, bipartite lattices)")
      ("sz-zero", po::bool_switch(), "constrain the wavefunction to total Sz = 0")
      // wavefunction
      ("model", po::value<std::string>()->default_value(d.model),
       "naqs (autoregressive, exact sampling) | rbm (restricted Boltzmann machine)")
      ("alpha", po::value<double>()->default_value(d.alpha), "rbm: hidden units per site")
      ("network", po::value<std::string>()->default_value(d.network),
       "conv1d (masked conv over the site order, any lattice) | conv2d (two-stream masked conv, "
       "square lattices)")
      ("preset", po::value<std::string>()->default_value(""),
       "conv2d preset tfim12 | heis10 (the paper's 12x12 / 10x10 models) | small4 | tiny3: sets "
       "network, width, depth, kernel; needs the preset's square lattice")
      ("width", po::value<int>()->default_value(d.width), "channels of every hidden layer")
      ("depth", po::value<int>()->default_value(d.depth), "residual blocks")
      ("kernel", po::value<int>()->default_value(d.kernel), "taps of every masked convolution")
      ("dilations", po::value<std::string>()->default_value("1,2,4"),
       "dilation per block, cycled (comma-separated)")
      ("activation", po::value<std::string>()->default_value(d.activation), "relu | selu")
      ("phase", po::value<std::string>()->default_value(d.phase),
       "real (positive, stoquastic problems) | complex (rbm: complex parameters)")
      ("dtype", po::value<std::string>()->default_value(d.dtype), "f64 | f32")
      ("init-scale", po::value<double>()->default_value(d.init_scale),
       "naqs: scale of the output layer at initialisation (small: near-uniform start); rbm: "
       "standard deviation of the initial parameters")
      // sampler
      ("sampler", po::value<std::string>()->default_value(d.sampler.kind),
       "auto (exact for naqs, metropolis for rbm) | exact (autoregressive models only) | "
       "metropolis")
      ("mc-chains", po::value<int64_t>()->default_value(d.sampler.n_chains),
       "metropolis: parallel chains (batch sizes must be multiples)")
      ("mc-burn-in", po::value<int64_t>()->default_value(d.sampler.burn_in),
       "metropolis: sweeps discarded at the start of every draw (chains persist across steps)")
      ("mc-sweeps", po::value<int64_t>()->default_value(d.sampler.sweeps_between),
       "metropolis: sweeps (N proposals per chain) between samples")
      ("mc-global-flip", po::value<double>()->default_value(d.sampler.p_global),
       "metropolis: probability of proposing a global spin flip")
      // training
      ("steps", po::value<int64_t>()->default_value(d.steps), "training steps")
      ("batch", po::value<std::string>()->default_value(d.batch_schedule),
       "batch schedule B1:S1,B2:S2,...,Bk (e.g. 128:200,1024:300,8192)")
      ("minibatch", po::value<int64_t>()->default_value(d.minibatch),
       "samples evaluated at once (gradient accumulation; bounds memory)")
      ("optimizer", po::value<std::string>()->default_value(d.optimizer),
       "adam | sgd | sr | minsr")
      ("lr", po::value<double>()->default_value(d.lr), "learning rate")
      ("lr-schedule", po::value<std::string>()->default_value(d.lr_schedule),
       "constant | cosine[:final_fraction] | step:K:gamma | exp:gamma")
      ("beta1", po::value<double>()->default_value(d.adam.beta1), "Adam beta1")
      ("beta2", po::value<double>()->default_value(d.adam.beta2), "Adam beta2 (paper: 0.9)")
      ("adam-eps", po::value<double>()->default_value(d.adam.eps), "Adam epsilon")
      ("momentum", po::value<double>()->default_value(d.momentum), "SGD momentum")
      ("diag-shift", po::value<double>()->default_value(d.sr.diag_shift),
       "SR / minSR diagonal shift lambda")
      ("cg-iters", po::value<int>()->default_value(d.sr.cg_max_iters), "SR: max CG iterations")
      ("cg-rtol", po::value<double>()->default_value(d.sr.cg_rtol), "SR: CG relative residual")
      ("seed", po::value<uint64_t>()->default_value(d.seed),
       "seed of the model initialisation and of every sample (Philox key)")
      ("device", po::value<std::string>()->default_value(d.device), "cpu | cuda | cuda:N | auto")
      ("memory-cap-mb", po::value<int64_t>()->default_value(512),
       "memory per local-energy forward group (MiB)")
      // outputs
      ("output,o", po::value<std::string>()->default_value(""),
       "HDF5 output file (default: vmc-<UTC time>.h5; never overwritten)")
      ("checkpoint", po::value<std::string>()->default_value(""),
       "checkpoint file (default: <output>.ckpt)")
      ("checkpoint-every", po::value<int64_t>()->default_value(d.checkpoint_every),
       "steps between checkpoints (0: only at the end and on signals)")
      ("resume", po::bool_switch(), "continue from the checkpoint (needs the same settings)")
      ("obs-samples", po::value<int64_t>()->default_value(d.obs_samples),
       "samples for the final observables")
      ("observe-every", po::value<int64_t>()->default_value(d.observe_every),
       "also measure observables every k steps (0: only at the end)")
      ("observe-samples", po::value<int64_t>()->default_value(d.observe_samples),
       "samples for the periodic observables")
      ("ed-max-sites", po::value<int>()->default_value(d.max_ed_sites),
       "compute the exact ground state by ED up to this many sites (0: never)")
      ("quiet", po::bool_switch(), "no progress output");
}

std::vector<int> parse_int_list(const std::string& s, const char* what) {
  std::vector<int> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    std::size_t used = 0;
    int x = 0;
    try {
      x = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    NAQS_REQUIRE(used == item.size() && !item.empty() && x >= 1, "--", what, ": '", s,
                 "' is not a comma-separated list of positive integers");
    v.push_back(x);
  }
  NAQS_REQUIRE(!v.empty(), "--", what, " is empty");
  return v;
}

std::string default_output_name() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "vmc-%Y%m%d-%H%M%S.h5", std::gmtime(&t));
  return buf;
}

int vmc_run(const naqs::CommandContext& ctx) {
  const auto& vm = *ctx.vm;
  auto str = [&](const char* k) { return vm[k].as<std::string>(); };
  VmcConfig c;
  c.hamiltonian = str("hamiltonian");
  c.lattice = str("lattice");
  c.length_x = vm["L"].as<int>();
  c.length_y = vm["Ly"].as<int>();
  const std::string boundary = str("boundary");
  NAQS_REQUIRE(boundary == "pbc" || boundary == "obc", "--boundary must be pbc or obc, got '",
               boundary, "'");
  c.periodic = boundary == "pbc";
  c.J = vm["J"].as<double>();
  c.h = vm["h"].as<double>();
  // The default field belongs to the TFIM; the Heisenberg model takes none (an explicit --h is
  // refused by the Hamiltonian with a message).
  if (c.hamiltonian == "heisenberg" && vm["h"].defaulted()) c.h = 0;
  c.hz = vm["hz"].as<double>();
  c.delta = vm["delta"].as<double>();
  c.marshall = vm["marshall"].as<bool>();
  c.sz_zero = vm["sz-zero"].as<bool>();
  c.network = str("network");
  c.preset = str("preset");
  c.width = vm["width"].as<int>();
  c.depth = vm["depth"].as<int>();
  c.kernel = vm["kernel"].as<int>();
  c.dilations = parse_int_list(str("dilations"), "dilations");
  c.model = str("model");
  c.alpha = vm["alpha"].as<double>();
  c.activation = str("activation");
  c.phase = str("phase");
  c.dtype = str("dtype");
  c.init_scale = vm["init-scale"].as<double>();
  c.sampler.kind = str("sampler");
  c.sampler.n_chains = vm["mc-chains"].as<int64_t>();
  c.sampler.burn_in = vm["mc-burn-in"].as<int64_t>();
  c.sampler.sweeps_between = vm["mc-sweeps"].as<int64_t>();
  c.sampler.p_global = vm["mc-global-flip"].as<double>();
  c.steps = vm["steps"].as<int64_t>();
  c.batch_schedule = str("batch");
  c.minibatch = vm["minibatch"].as<int64_t>();
  c.optimizer = str("optimizer");
  NAQS_REQUIRE(c.optimizer == "adam" || c.optimizer == "sgd" || c.optimizer == "sr" ||
                   c.optimizer == "minsr",
               "--optimizer must be adam, sgd, sr or minsr, got '", c.optimizer, "'");
  c.lr = vm["lr"].as<double>();
  c.lr_schedule = str("lr-schedule");
  c.adam.beta1 = vm["beta1"].as<double>();
  c.adam.beta2 = vm["beta2"].as<double>();
  c.adam.eps = vm["adam-eps"].as<double>();
  c.momentum = vm["momentum"].as<double>();
  c.sr.diag_shift = vm["diag-shift"].as<double>();
  c.sr.cg_max_iters = vm["cg-iters"].as<int>();
  c.sr.cg_rtol = vm["cg-rtol"].as<double>();
  c.seed = vm["seed"].as<uint64_t>();
  c.device = str("device");
  const int64_t cap_mb = vm["memory-cap-mb"].as<int64_t>();
  NAQS_REQUIRE(cap_mb >= 1, "--memory-cap-mb must be >= 1");
  c.memory_cap_bytes = static_cast<std::size_t>(cap_mb) << 20;
  c.output = str("output");
  c.resume = vm["resume"].as<bool>();
  if (c.output.empty()) {
    NAQS_REQUIRE(!c.resume, "--resume needs the --output of the run to continue");
    c.output = default_output_name();
  }
  c.checkpoint = str("checkpoint");
  if (c.checkpoint.empty()) c.checkpoint = c.output + ".ckpt";
  c.checkpoint_every = vm["checkpoint-every"].as<int64_t>();
  c.obs_samples = vm["obs-samples"].as<int64_t>();
  c.observe_every = vm["observe-every"].as<int64_t>();
  c.observe_samples = vm["observe-samples"].as<int64_t>();
  c.max_ed_sites = vm["ed-max-sites"].as<int>();
  c.quiet = vm["quiet"].as<bool>();
  c.command_line = ctx.command_line;
  c.config_text = ctx.config_text;

  const naqs::vmc::VmcResult r = naqs::vmc::run_vmc(c);
  if (r.have_observables) {
    const int n_sites = c.length_x * c.length_y;
    std::printf("%s", naqs::vmc::observables_table(r.observables, r.exact, n_sites).c_str());
  }
  std::printf("vmc: %s '%s', checkpoint '%s' (%.1f s)\n",
              r.interrupted ? "interrupted; partial output" : "output", c.output.c_str(),
              c.checkpoint.c_str(), r.seconds);
  return r.interrupted ? kExitInterrupted : 0;
}

}  // namespace

NAQS_COMMAND("vmc",
             "train a NAQS (exact sampling) or an RBM (Metropolis) by variational Monte Carlo "
             "(default: NAQS, TFIM chain N=16, h=1, CPU, ~1 min); exit 3 = stopped by a signal, "
             "resume with --resume",
             vmc_options, vmc_run);
