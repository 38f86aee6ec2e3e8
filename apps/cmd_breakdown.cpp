// naqs breakdown: the ferromagnetic breakdown of local-update Metropolis vs exact autoregressive
// sampling on the periodic TFIM chain across h (validation/breakdown/breakdown.hpp,
// validation/breakdown/README.md). scripts/breakdown.sh runs it and draws the plot.
#include <cstdio>

#include "host/cli/command.hpp"
#include "host/cli/number.hpp"
#include "host/cli/values.hpp"
#include "host/core/error.hpp"
#include "validation/breakdown/breakdown.hpp"

namespace {

using naqs::breakdown::BreakdownConfig;

void breakdown_options(naqs::po::options_description& desc) {
  namespace po = naqs::po;
  namespace cli = naqs::cli;
  const BreakdownConfig d;
  desc.add_options()
      ("L", cli::number<int>(cli::Range<int>{1, 4096})->default_value(d.n_sites),
       "sites of the periodic chain (ED <= 24)")
      ("J", cli::number<double>(cli::kCouplingRange)->default_value(d.J),
       "coupling J (Pauli units)")
      ("h", po::value<std::string>()->default_value("0.3,0.6,0.9,1.2,1.5"),
       "fields: a list 0.3,0.6 or a range 0.3:1.5:0.3")
      ("naqs-width", cli::number<int>(cli::Range<int>{1, 4096})
          ->default_value(d.naqs_width),
       "NAQS channels")
      ("naqs-depth", cli::number<int>(cli::Range<int>{0, 1024})
          ->default_value(d.naqs_depth),
       "NAQS residual blocks")
      ("naqs-steps", cli::number<int64_t>(cli::Range<int64_t>{0, int64_t{1} << 40})
          ->default_value(d.naqs_steps),
       "NAQS SR steps")
      ("naqs-batch", cli::number<int64_t>(cli::Range<int64_t>{1, int64_t{1} << 40})
          ->default_value(d.naqs_batch),
       "NAQS samples per step")
      ("rbm-alpha", cli::number<double>(cli::Range<double>{0, 1024, true})
          ->default_value(d.rbm_alpha),
       "RBM hidden units per site")
      ("rbm-steps", cli::number<int64_t>(cli::Range<int64_t>{0, int64_t{1} << 40})
          ->default_value(d.rbm_steps),
       "RBM SR steps")
      ("rbm-batch", cli::number<int64_t>(cli::Range<int64_t>{1, int64_t{1} << 40})
          ->default_value(d.rbm_batch),
       "RBM Metropolis samples per step (a multiple of --chains)")
      ("samples", cli::number<int64_t>(cli::Range<int64_t>{1, int64_t{1} << 40})
          ->default_value(d.n_samples),
       "samples per measurement (a multiple of --chains)")
      ("chains", cli::number<int64_t>(cli::Range<int64_t>{1, int64_t{1} << 24})
          ->default_value(d.n_chains),
       "Metropolis chains")
      ("burn-in", cli::number<int64_t>(cli::Range<int64_t>{0, int64_t{1} << 32})
          ->default_value(d.burn_in),
       "Metropolis sweeps discarded before measuring")
      ("global-flip", cli::number<double>(cli::Range<double>{0, 1})->default_value(d.p_global),
       "global-flip probability of the naqs_metropolis_gf variant")
      ("seed", cli::number<uint64_t>(cli::Range<uint64_t>{0, (uint64_t{1} << 63) - 1})
          ->default_value(d.seed),
       "seed of every run and sampler")
      ("out,o", po::value<std::string>()->default_value(d.out_dir),
       "directory for breakdown.h5 and the per-run HDF5 files (breakdown.h5 is never "
       "overwritten)")
      ("quiet", po::bool_switch(), "no table");
}

int breakdown_run(const naqs::CommandContext& ctx) {
  const auto& vm = *ctx.vm;
  BreakdownConfig c;
  c.n_sites = vm["L"].as<int>();
  c.J = vm["J"].as<double>();
  c.fields = naqs::parse_value_list(vm["h"].as<std::string>(), "--h");
  c.naqs_width = vm["naqs-width"].as<int>();
  c.naqs_depth = vm["naqs-depth"].as<int>();
  c.naqs_steps = vm["naqs-steps"].as<int64_t>();
  c.naqs_batch = vm["naqs-batch"].as<int64_t>();
  c.rbm_alpha = vm["rbm-alpha"].as<double>();
  c.rbm_steps = vm["rbm-steps"].as<int64_t>();
  c.rbm_batch = vm["rbm-batch"].as<int64_t>();
  c.n_samples = vm["samples"].as<int64_t>();
  c.n_chains = vm["chains"].as<int64_t>();
  c.burn_in = vm["burn-in"].as<int64_t>();
  c.p_global = vm["global-flip"].as<double>();
  c.seed = vm["seed"].as<uint64_t>();
  c.out_dir = vm["out"].as<std::string>();
  c.command_line = ctx.command_line;
  c.config_text = ctx.config_text;
  naqs::breakdown::run_breakdown(c, naqs::Console::standard(vm["quiet"].as<bool>()));
  return 0;
}

}  // namespace

NAQS_COMMAND("breakdown",
             "local Metropolis vs exact autoregressive sampling on the TFIM chain across h "
             "(trained NAQS and RBM vs ED; tau, R-hat, ESS/s); HDF5 in the --out directory",
             breakdown_options, breakdown_run);
