// naqs sweep: a transverse-field sweep of the TFIM, one task per h (workflow/sweep.hpp,
// docs/SWEEP.md). Three modes:
//   naqs sweep [options]                 all tasks in order, warm-starting each VMC method from
//                                        the previous h; then collect + report into the directory
//   naqs sweep [options] --task N        one task (a Slurm array element; without --task the
//                                        index comes from SLURM_ARRAY_TASK_ID when it is set)
//   naqs sweep [options] --list          the tasks (index, h, file, state); writes nothing
// With no options: the embedded default (periodic TFIM chain N = 16, h = 0.5 ... 1.5, NAQS vs
// MCMC vs ED, --device auto) into sweep-<UTC time>/.
//
// Exit status: 0 done (tasks already complete are skipped); 1 failure; 2 bad input (nothing
// written); 3 stopped by SIGTERM/SIGUSR1/SIGINT with a checkpoint: run the same command again
// (or let Slurm requeue the task) to resume.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <optional>

#include "host/cli/command.hpp"
#include "host/cli/number.hpp"
#include "host/cli/values.hpp"
#include "host/core/error.hpp"
#include "workflow/collect.hpp"
#include "workflow/report.hpp"
#include "workflow/sweep.hpp"

namespace {

using namespace naqs;
using workflow::SweepSpec;

constexpr int kExitInterrupted = 3;
// The embedded default runs from the disordered side down: the near-uniform initial NAQS is
// close to the h = 1.5 ground state (a cheap cold start), and each warm start moves a quarter
// field step towards the ordered phase (docs/SWEEP.md, "The embedded default").
constexpr const char* kDefaultH = "1.5,1.25,1,0.75,0.5";
constexpr const char* kDefaultMethods = "naqs,mcmc,ed";
constexpr int64_t kDefaultWarmSteps = 50;
constexpr const char* kDefaultWarmBatch = "256:20,512";

// The embedded default's VMC settings where they differ from `naqs vmc`'s (docs/SWEEP.md).
vmc::VmcConfig sweep_defaults() {
  vmc::VmcConfig d;
  d.steps = 80;
  d.batch_schedule = "256:40,512";
  d.obs_samples = 4096;
  d.device = "auto";
  return d;
}

void sweep_options(po::options_description& desc) {
  po::options_description what("sweep");
  what.add_options()
      ("h", po::value<std::string>()->default_value(kDefaultH),
       "transverse fields: a value, a list 0.5,1,2 or a range start:stop:step (one task each)")
      ("methods", po::value<std::string>()->default_value(kDefaultMethods),
       "comma-separated: naqs (NAQS, exact samples), mcmc (Metropolis + RBM), ed (exact)")
      ("out,o", po::value<std::string>()->default_value(""),
       "sweep directory (default: sweep-<UTC time>; required with --task and --list)")
      ("task", po::value<std::string>(),
       "run only task N (0-based; default: $SLURM_ARRAY_TASK_ID when set, else all tasks)")
      ("list", po::bool_switch(), "print the tasks (index, h, file, state) and exit")
      ("warm-steps", cli::number<int64_t>(cli::Range<int64_t>{0, int64_t{1} << 40})
          ->default_value(kDefaultWarmSteps),
       "training steps of a warm start (local sweeps: from the previous h's parameters); "
       "--steps is a cold start's")
      ("warm-batch", po::value<std::string>()->default_value(kDefaultWarmBatch),
       "batch schedule of a warm start (when --batch is given and --warm-batch is not, or "
       "\"\": the --batch schedule)")
      ("no-warm-start", po::bool_switch(), "start every h from a fresh initialisation")
      ("no-report", po::bool_switch(), "local sweep: do not collect and report at the end")
      ("python", po::value<std::string>()->default_value(""),
       "Python for the report (default /usr/bin/python3)");
  desc.add(what);
  // The options of `naqs vmc` that apply per field, with the same names and meanings; both VMC
  // methods (naqs: NAQS + exact samples; mcmc: RBM + Metropolis) use them. Task k uses seed + k.
  vmc::declare_vmc_options(desc, sweep_defaults(), vmc::kSweepScope);
}

// A task index from --task or $SLURM_ARRAY_TASK_ID: a non-negative integer.
int64_t parse_task(const std::string& text, const std::string& where) {
  NAQS_REQUIRE(!text.empty() && text.size() <= 12 &&
                   text.find_first_not_of("0123456789") == std::string::npos,
               where, ": '", text, "' is not a task index (a non-negative integer)");
  return std::stoll(text);
}

std::string default_dir_name() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "sweep-%Y%m%d-%H%M%S", std::gmtime(&t));
  return buf;
}

SweepSpec spec_from(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  auto str = [&](const char* k) { return vm[k].as<std::string>(); };
  SweepSpec s;
  vmc::VmcConfig& c = s.base;
  c.hamiltonian = Model::tfim;
  vmc::read_vmc_options(vm, vmc::kSweepScope, c);
  s.h_values = parse_value_list(str("h"), "h");
  s.methods = workflow::parse_methods(str("methods"));
  s.warm_steps = vm["warm-steps"].as<int64_t>();
  NAQS_REQUIRE(s.warm_steps >= 0, "--warm-steps must be >= 0, got ", s.warm_steps);
  // The default warm schedule belongs to the default --batch; a user's --batch applies to warm
  // starts too unless --warm-batch is also given.
  s.warm_batch = vm["warm-batch"].defaulted() && !vm["batch"].defaulted() ? std::string()
                                                                          : str("warm-batch");
  s.warm_start = !vm["no-warm-start"].as<bool>();
  s.ed_max_sites = c.max_ed_sites;
  s.dir = str("out");
  s.command_line = ctx.command_line;
  s.config_text = ctx.config_text;
  return s;
}

// After a complete local sweep: collect into <dir>/collected.h5 (when absent) and report.
void finish_local(const SweepSpec& spec, const CommandContext& ctx, const std::string& python) {
  workflow::CollectOptions co;
  co.dir = spec.dir;
  co.command_line = ctx.command_line;
  co.config_text = ctx.config_text;
  const std::string collected = workflow::default_collect_output(spec.dir);
  if (std::filesystem::exists(collected)) {
    std::printf("sweep: '%s' exists (left as it is; 'naqs collect %s --force' refreshes it)\n",
                collected.c_str(), spec.dir.c_str());
    return;
  }
  workflow::collect_sweep(co);
  std::printf("sweep: collected table '%s'\n", collected.c_str());
  std::string why;
  if (!workflow::python_can_report(workflow::find_python(python), &why)) {
    std::printf("sweep: no report (%s; install python3-matplotlib python3-h5py, then run "
                "'naqs report %s')\n", why.c_str(), spec.dir.c_str());
    return;
  }
  workflow::ReportOptions ro;
  ro.input = collected;
  ro.python = python;
  workflow::make_report(ro);
  std::printf("sweep: report in '%s/report' (summary.md and PNG plots)\n", spec.dir.c_str());
}

int sweep_run(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  SweepSpec spec = spec_from(ctx);
  std::optional<int64_t> task;
  if (vm.count("task")) task = parse_task(vm["task"].as<std::string>(), "--task");
  else if (const char* env = std::getenv("SLURM_ARRAY_TASK_ID"))
    task = parse_task(env, "SLURM_ARRAY_TASK_ID");
  const bool list = vm["list"].as<bool>();
  NAQS_REQUIRE(!(list && vm.count("task")), "--list and --task exclude each other");
  if (spec.dir.empty()) {
    NAQS_REQUIRE(!task && !list, task ? "a single task (--task or SLURM_ARRAY_TASK_ID) needs "
                 "--out DIR, the directory shared by all tasks of the sweep"
                                      : "--list needs --out DIR");
    spec.dir = default_dir_name();
  }
  workflow::validate_spec(spec);
  const int64_t n = workflow::n_tasks(spec);
  if (task)
    NAQS_REQUIRE(*task < n, "task ", *task, " does not exist: this sweep has ", n,
                 " tasks (0 to ", n - 1, ")");

  if (list) {
    std::printf("# naqs sweep: %lld tasks in '%s', methods %s; as a Slurm array: --array=0-%lld\n"
                "# task h file state\n",
                static_cast<long long>(n), spec.dir.c_str(),
                workflow::join_methods(spec.methods).c_str(), static_cast<long long>(n - 1));
    for (const workflow::TaskInfo& t : workflow::list_tasks(spec))
      std::printf("%lld %.10g %s %s\n", static_cast<long long>(t.index), t.h, t.file.c_str(),
                  workflow::task_state_name(t.state));
    return 0;
  }

  const Console console = Console::standard(spec.base.quiet);
  if (task) {
    workflow::prepare_sweep_dir(spec);
    const workflow::TaskResult r = workflow::run_sweep_task(spec, *task, "", console);
    return r.outcome == workflow::TaskOutcome::interrupted ? kExitInterrupted : 0;
  }

  const workflow::SweepRunSummary s = workflow::run_sweep_local(spec, console);
  if (s.interrupted) {
    std::printf("sweep: stopped by a signal; run the same command again to resume (%s)\n",
                spec.dir.c_str());
    return kExitInterrupted;
  }
  std::printf("sweep: %lld tasks run, %lld already complete, %.1f s, directory '%s'\n",
              static_cast<long long>(s.ran), static_cast<long long>(s.skipped), s.seconds,
              spec.dir.c_str());
  if (!vm["no-report"].as<bool>()) finish_local(spec, ctx, vm["python"].as<std::string>());
  return 0;
}

}  // namespace

NAQS_COMMAND("sweep",
             "transverse-field sweep of the TFIM: NAQS / MCMC / ED per h, one HDF5 file per task "
             "(default: chain N=16, h=0.5..1.5, NAQS vs MCMC vs ED); --task N for one Slurm array task; exit 3 = "
             "stopped by a signal, rerun to resume",
             sweep_options, sweep_run, /*positional=*/nullptr, /*stop_signals=*/true);
