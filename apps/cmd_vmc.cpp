// naqs vmc: variational Monte Carlo with a NAQS wavefunction (exact samples) or an RBM
// (Metropolis samples) (physics/vmc/driver.hpp). With no options it runs the embedded default:
// the periodic TFIM chain N = 16 at h = J = 1 with a small 1D NAQS on --device auto (the GPU
// when there is one; about a minute on 2 CPU cores).
//
// Exit status: 0 finished; 1 failure (including non-finite energies or gradients; the last good
// checkpoint is kept); 2 bad input (including a refused checkpoint); 3 stopped by SIGTERM, SIGUSR1
// or SIGINT after the current step, with a checkpoint written: rerun with --resume.
#include <cstdio>
#include <ctime>

#include "host/cli/command.hpp"
#include "host/core/error.hpp"
#include "host/dist/comm.hpp"
#include "physics/vmc/driver.hpp"
#include "physics/vmc/output.hpp"

namespace {

using naqs::vmc::VmcConfig;

constexpr int kExitInterrupted = 3;

void vmc_options(naqs::po::options_description& desc) {
  VmcConfig d;
  d.device = "auto";  // the command's default (docs/CONVENTIONS.md); library runs default to cpu
  naqs::vmc::declare_vmc_options(desc, d, naqs::vmc::kVmcScope);
}

std::string default_output_name() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "vmc-%Y%m%d-%H%M%S.h5", std::gmtime(&t));
  return buf;
}

int vmc_run(const naqs::CommandContext& ctx) {
  const auto& vm = *ctx.vm;
  VmcConfig c;
  naqs::vmc::read_vmc_options(vm, naqs::vmc::kVmcScope, c);  // --out, --checkpoint, --resume too
  if (c.output.empty()) {
    NAQS_REQUIRE(!c.resume, "--resume needs the --out of the run to continue");
    c.output = default_output_name();
  }
  if (c.checkpoint.empty()) c.checkpoint = c.output + ".ckpt";
  c.command_line = ctx.command_line;
  c.config_text = ctx.config_text;

  const naqs::vmc::VmcResult r = naqs::vmc::run_vmc(c, naqs::Console::standard(c.quiet));
  // Under MPI every rank returns the same result; only rank 0 prints it (as the driver does).
  if (!naqs::dist::world().is_root()) return r.interrupted ? kExitInterrupted : 0;
  if (r.have_observables) {
    const int n_sites = static_cast<int>(naqs::vmc::n_sites(c));
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
             "(default: NAQS, TFIM chain N=16, h=1, --device auto, ~1 min on a CPU); exit 3 = "
             "stopped by a signal, resume with --resume",
             vmc_options, vmc_run, /*positional=*/nullptr, /*stop_signals=*/true);
