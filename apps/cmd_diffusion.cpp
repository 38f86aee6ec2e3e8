// naqs diffusion: EDM diffusion on the shared runtime (ml/diffusion/).
//
//   naqs diffusion toy [--out diffusion_toy.h5] [--train-steps 6000] [--batch 256]
//                      [--hidden 128] [--depth 3] [--lr 0.002] [--seed 1] [--samples 2000]
//                      [--sampler-steps 1,2,3,5,10,18] [--modes 8] [--radius 1]
//                      [--mode-std 0.1] [--sigma-min 0.002] [--sigma-max 80] [--rho 7]
//                      [--p-mean -1.2] [--p-std 1.2] [--device cpu] [--no-png]
// trains the toy of ml/diffusion/toy.hpp (a 2D mixture of Gaussians, an MLP denoiser with EDM's
// preconditioning) and prints, per sampler (Euler, Heun) and step count, the network
// evaluations and the energy distance of --samples generated points to fresh data, beside the
// floor (two fresh data sets).
// Output (h5py): /toy/loss (train_steps); /toy/data (n, 2) the fresh evaluation data;
//   /toy/<euler|heun>/steps, /evaluations (int64), /energy_distance (float64), /samples
//   (S, n, 2); attributes on /toy: floor, sigma_data, edm, train_seconds, units; provenance.
//   <out stem>_scatter.png: data and the 18-step (or largest) samples of each sampler
//   (matplotlib, Debian's python3-matplotlib; --no-png skips it).
// Bad input (one line, exit 2, nothing written): an unknown action, a value out of range, an
// existing output file (.h5 or .png).
#include <cstdio>
#include <filesystem>

#include "apps/diffusion_world.hpp"
#include "host/cli/command.hpp"
#include "host/cli/number.hpp"
#include "host/core/device.hpp"
#include "host/core/error.hpp"
#include "host/core/process.hpp"
#include "host/core/stop_signal.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"
#include "ml/diffusion/toy.hpp"
#include "workflow/report.hpp"

namespace {

using namespace naqs;
using namespace naqs::ml::diffusion;
namespace fs = std::filesystem;
using cli::number;
using I = cli::Range<int64_t>;
using D = cli::Range<double>;

const char* kScatterScript = R"py(
import sys
import h5py
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
path, png = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    data = f["toy/data"][...]
    floor = float(f["toy"].attrs["floor"])
    panels = []
    for s in ("euler", "heun"):
        steps = list(f["toy/%s/steps" % s][...])
        i = steps.index(18) if 18 in steps else len(steps) - 1
        panels.append((s, steps[i], int(f["toy/%s/evaluations" % s][i]),
                       float(f["toy/%s/energy_distance" % s][i]), f["toy/%s/samples" % s][i]))
fig, ax = plt.subplots(1, 3, figsize=(11, 4.3), sharex=True, sharey=True)
ax[0].scatter(data[:, 0], data[:, 1], s=2, alpha=0.5)
ax[0].set_title("fresh data (floor %.4f)" % floor, fontsize=9)
for a, (s, n, nfe, ed, xy) in zip(ax[1:], panels):
    a.scatter(xy[:, 0], xy[:, 1], s=2, alpha=0.5, color="tab:red")
    a.set_title("%s, %d steps (%d evaluations)\nenergy distance %.4f" % (s, n, nfe, ed), fontsize=9)
for a in ax:
    a.set_aspect("equal")
fig.tight_layout()
fig.savefig(png, dpi=110, format="png")  # png: a temp name
)py";

void diffusion_options(po::options_description& desc) {
  const ToyConfig d;
  desc.add_options()("action", po::value<std::vector<std::string>>(),
                     "toy | data | train | rollout (the bare argument)");
  // Options of several actions, with a default per action.
  po::options_description shared("shared (default per action)");
  shared.add_options()
      ("out,o", po::value<std::string>(),
       "output HDF5 file (toy: diffusion_toy.h5, data: bouncing_ball.h5, train: "
       "diffusion_train.h5, rollout: rollout.h5)")
      ("train-steps", number<int64_t>(I{1, 100000000}), "training steps (toy 6000, train 2000)")
      ("batch", number<int64_t>(I{1, 1 << 20}), "training batch (toy 256, train 32)")
      ("lr", number<double>(cli::positive<double>()), "AdamW peak rate (toy 0.002, train 3e-4)")
      ("seed", number<uint64_t>(cli::kSeedRange), "Philox seed (1; rollout: the model's)")
      ("device", po::value<std::string>(), "cpu | cuda | cuda:N | auto (auto)")
      ("no-png", po::bool_switch()->default_value(false), "skip the PNG (and GIF) outputs");
  desc.add(shared);
  po::options_description toy("toy (ml/diffusion/toy.hpp)");
  toy.add_options()
      ("hidden", number<int64_t>(I{1, 1 << 16})->default_value(d.hidden), "MLP width")
      ("depth", number<int64_t>(I{1, 64})->default_value(d.depth), "MLP hidden layers")
      ("samples", number<int64_t>(I{2, 1 << 20})->default_value(d.eval_samples),
       "generated and fresh points for the energy distance")
      ("sampler-steps", cli::number_list<int64_t>(I{1, 100000})->default_value("1,2,3,5,10,18"),
       "step counts of each sampler")
      ("modes", number<int64_t>(I{1, 1 << 16})->default_value(d.modes), "mixture components")
      ("radius", number<double>(cli::non_negative<double>())->default_value(d.radius),
       "circle of the component means")
      ("mode-std", number<double>(cli::positive<double>())->default_value(d.mode_std),
       "component standard deviation")
      ("sigma-min", number<double>(cli::positive<double>())->default_value(d.edm.sigma_min),
       "smallest sampling noise level")
      ("sigma-max", number<double>(cli::positive<double>())->default_value(d.edm.sigma_max),
       "largest sampling noise level")
      ("rho", number<double>(cli::positive<double>())->default_value(d.edm.rho),
       "Karras schedule exponent")
      ("p-mean", number<double>(D{-20, 20})->default_value(d.edm.p_mean),
       "training ln(sigma) mean")
      ("p-std", number<double>(cli::positive<double>())->default_value(d.edm.p_std),
       "training ln(sigma) standard deviation");
  desc.add(toy);
  apps::world_options(desc);
}

ToyConfig read_toy(const po::variables_map& vm) {
  ToyConfig c;
  c.train_steps = value_or<int64_t>(vm, "train-steps", c.train_steps);
  c.batch = value_or<int64_t>(vm, "batch", c.batch);
  c.hidden = vm["hidden"].as<int64_t>();
  c.depth = vm["depth"].as<int64_t>();
  c.lr = value_or<double>(vm, "lr", c.lr);
  c.seed = value_or<uint64_t>(vm, "seed", c.seed);
  c.eval_samples = vm["samples"].as<int64_t>();
  c.sampler_steps = cli::parse_list<int64_t>(vm["sampler-steps"].as<std::string>(),
                                             "sampler-steps", I{1, 100000});
  c.modes = vm["modes"].as<int64_t>();
  c.radius = vm["radius"].as<double>();
  c.mode_std = vm["mode-std"].as<double>();
  c.edm.sigma_min = vm["sigma-min"].as<double>();
  c.edm.sigma_max = vm["sigma-max"].as<double>();
  c.edm.rho = vm["rho"].as<double>();
  c.edm.p_mean = vm["p-mean"].as<double>();
  c.edm.p_std = vm["p-std"].as<double>();
  c.validate();
  return c;
}

int toy_run(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  const ToyConfig c = read_toy(vm);
  const std::string out = value_or<std::string>(vm, "out", "diffusion_toy.h5");
  NAQS_REQUIRE(!out.empty(), "--out is empty");
  const bool png = !vm["no-png"].as<bool>();
  const fs::path stem = fs::path(out).parent_path() / fs::path(out).stem();
  const std::string scatter = stem.string() + "_scatter.png";
  check_output_path("--out", out, /*must_not_exist=*/true);
  if (png) check_output_path("--out", scatter, /*must_not_exist=*/true);
  const std::string python = png ? workflow::plot_python("the scatter PNG") : "";
  const Device device = resolve_device(value_or<std::string>(vm, "device", "auto"));
  std::printf("# naqs diffusion toy: %lld-mode mixture (sigma_data %.4f), MLP %lld x %lld, %lld "
              "steps of %lld, %s\n",
              static_cast<long long>(c.modes), c.sigma_data(), static_cast<long long>(c.depth),
              static_cast<long long>(c.hidden), static_cast<long long>(c.train_steps),
              static_cast<long long>(c.batch), device.str().c_str());
  const ToyResult r = run_toy(c, device, [&](int64_t step, double loss) {
    std::fprintf(stderr, "\rstep %lld/%lld  loss %.4f", static_cast<long long>(step),
                 static_cast<long long>(c.train_steps), loss);
    if (step == c.train_steps) std::fprintf(stderr, "\n");
    return !stop_requested();
  });
  if (r.stopped) {
    std::printf("\n# diffusion toy: stopped by signal %d at step %lld; nothing written\n",
                stop_signal(), static_cast<long long>(r.loss.size()));
    return kExitStopped;
  }
  std::printf("# trained in %.1f s; energy distance to %lld fresh points (floor: two fresh sets, "
              "%.5f)\n",
              r.train_seconds, static_cast<long long>(c.eval_samples), r.floor);
  std::printf("%-8s %6s %12s %16s\n", "sampler", "steps", "evaluations", "energy_distance");
  for (const ToyRow& row : r.rows)
    std::printf("%-8s %6lld %12lld %16.5f\n", sampler_name(row.sampler).c_str(),
                static_cast<long long>(row.steps), static_cast<long long>(row.evaluations),
                row.energy_distance);

  const Edm edm = c.data_edm();
  const int64_t n = c.eval_samples, s = static_cast<int64_t>(c.sampler_steps.size());
  write_new_atomically(out, [&](H5File& f) {
    write_provenance(f, ctx.command_line, ctx.config_text, device.str(),
                     {{"seed", static_cast<int64_t>(c.seed)}});
    f.write_dataset("/toy/loss", r.loss, {static_cast<int64_t>(r.loss.size())});
    f.write_dataset("/toy/data", r.fresh, {n, 2});
    f.set_attr("/toy", "floor", r.floor);
    f.set_attr("/toy", "sigma_data", c.sigma_data());
    f.set_attr("/toy", "edm", edm.str());
    f.set_attr("/toy", "train_seconds", r.train_seconds);
    f.set_attr("/toy", "units", std::string("energy distance in data units (squared form, "
                                            "U-statistics); loss = mean |F - F_target|^2"));
    for (Sampler sm : {Sampler::euler, Sampler::heun}) {
      std::vector<int64_t> steps, evals;
      std::vector<double> ed, xy;
      for (size_t i = 0; i < r.rows.size(); ++i)
        if (r.rows[i].sampler == sm) {
          steps.push_back(r.rows[i].steps);
          evals.push_back(r.rows[i].evaluations);
          ed.push_back(r.rows[i].energy_distance);
          xy.insert(xy.end(), r.samples[i].begin(), r.samples[i].end());
        }
      const std::string g = "/toy/" + sampler_name(sm);
      f.write_dataset(g + "/steps", steps, {s});
      f.write_dataset(g + "/evaluations", evals, {s});
      f.write_dataset(g + "/energy_distance", ed, {s});
      f.write_dataset(g + "/samples", xy, {s, n, 2});
    }
    finish_provenance(f);
  });
  std::printf("# wrote %s\n", out.c_str());
  if (png) {
    write_by_command({python, "-c", kScatterScript, out, kTargetArg}, scatter, "scatter script");
    std::printf("# wrote %s\n", scatter.c_str());
  }
  return 0;
}

int diffusion_run(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  std::vector<std::string> args;
  if (vm.count("action")) args = vm["action"].as<std::vector<std::string>>();
  NAQS_REQUIRE(args.size() == 1, "naqs diffusion needs one action: toy, data, train or rollout");
  if (args[0] == "toy") return toy_run(ctx);
  if (args[0] == "data") return apps::world_data_run(ctx);
  if (args[0] == "train") return apps::world_train_run(ctx);
  if (args[0] == "rollout") return apps::world_rollout_run(ctx);
  throw UsageError(cat("naqs diffusion: unknown action '", args[0],
                       "' (allowed: toy, data, train, rollout)"));
}

}  // namespace

NAQS_COMMAND("diffusion",
             "EDM diffusion: naqs diffusion toy (a 2D mixture, Euler vs Heun by energy "
             "distance) | data | train | rollout (a DIAMOND-style world model of Pong); exit 3 = "
             "stopped by a signal",
             diffusion_options, diffusion_run, /*positional=*/"action", /*stop_signals=*/true,
             /*positional_count=*/-1);
