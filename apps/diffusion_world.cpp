// naqs diffusion data | train | rollout: the DIAMOND-style diffusion world model
// (ml/diffusion/world_model.hpp) on episode files (ml/diffusion/world_io.hpp).
//
//   naqs diffusion data -o ball.h5 [--episodes 120 --episode-steps 100 --size 40
//                       --test-episodes 20 --epsilon 0.1 --seed 1]
//       synthetic bouncing-ball episodes in the layout of data/atari/pong.h5 (for trying the
//       commands without ALE; Pong itself comes from scripts/collect_pong.py)
//   naqs diffusion train [--data data/atari/pong.h5] [-o diffusion_train.h5]
//                        [--checkpoint <out>.ckpt] [--resume] [--objective edm|ddpm]
//                        [--context 4] [--channels 32,64,64] [--groups 8] [--cond-dim 128]
//                        [--train-steps 2000] [--batch 32] [--lr 3e-4] [--seed 1] ...
//       trains on the file's train episodes; a trace /train (step, loss, lr, samples_per_s),
//       the model in /model (attributes = settings, params float64), checkpoints every
//       --checkpoint-every steps and on SIGTERM/SIGUSR1/SIGINT (exit 3; --resume continues
//       bit for bit under the rules of host/io/training_run.hpp)
//   naqs diffusion rollout --checkpoint diffusion_train.h5 [--data ...] [--horizon 15]
//                          [--steps 3] [--sampler euler|heun] [--episodes N] [--start S]
//                          [-o rollout.h5]
//       from K real frames of each held-out (test) episode (frames S..S+K-1) imagines --horizon
//       frames under the recorded actions; per-step MSE, PSNR and object-pixel F1 against the real
//       frames, beside copying the last real frame; a PNG strip (real row above imagined row)
//       and an animated GIF of up to --show episodes (matplotlib / Pillow; --no-png skips them).
// Layout of every file: docs/HDF5_LAYOUT.md ("Diffusion world model").
// Bad input (one line, exit 2, nothing written): a missing data file or dataset, a wrong dtype
// or shape, an action id out of range (each naming dataset and index), an episode shorter than
// the context or the horizon, a checkpoint that is not a diffusion model, --resume with other
// settings, an existing output.
#include "apps/diffusion_world.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "host/cli/number.hpp"
#include "host/core/device.hpp"
#include "host/core/error.hpp"
#include "host/core/progress.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"
#include "host/io/training_run.hpp"
#include "ml/diffusion/world_io.hpp"
#include "workflow/report.hpp"

namespace naqs::apps {
namespace {

using namespace naqs::ml::diffusion;
namespace fs = std::filesystem;
using cli::number;
using I = cli::Range<int64_t>;

constexpr int kExitInterrupted = 3;
const std::vector<std::string> kTrainColumns = {"step", "loss", "lr", "samples_per_s"};

std::string out_path(const po::variables_map& vm, const char* fallback) {
  const std::string out = value_or<std::string>(vm, "out", fallback);
  NAQS_REQUIRE(!out.empty(), "--out is empty");
  return out;
}

// Strip and GIF of a rollout file: argv out.h5 n_show strip.png gif.gif (one of the last two is
// the target; the other "-").
const char* kRolloutPlotScript = R"py(
import sys
import h5py
import numpy as np
path, show, png, gif = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with h5py.File(path, "r") as f:
    real = f["rollout/real"][:show]
    fake = f["rollout/imagined"][:show]
    ctx = f["rollout/context"][:show]
    ids = f["rollout/episodes"][:show]
    label = "%s, %d steps" % (f["rollout"].attrs["sampler"], f["rollout"].attrs["steps"])
n, h = real.shape[0], real.shape[1]
if png != "-":
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    k = ctx.shape[1]
    fig, ax = plt.subplots(2 * n, k + h, figsize=(0.75 * (k + h), 1.6 * n), squeeze=False)
    for i in range(n):
        for j in range(k + h):
            for r, frames in ((0, real), (1, fake)):
                a = ax[2 * i + r, j]
                img = ctx[i, j] if j < k else frames[i, j - k]
                a.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
                a.set_xticks([]); a.set_yticks([])
                if j == 0:
                    a.set_ylabel("ep %d\n%s" % (ids[i], "real" if r == 0 else "imag."), fontsize=6)
                if i == 0 and r == 0:
                    a.set_title("ctx" if j < k else "+%d" % (j - k + 1), fontsize=6)
    fig.suptitle("real (upper) and imagined (lower) frames; " + label, fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=120, format="png")
else:
    from PIL import Image
    scale = 4
    frames = []
    for t in range(h):
        row = np.concatenate([np.concatenate([real[i, t], np.full((real.shape[2], 2), 255, np.uint8),
                                              fake[i, t]], axis=1) for i in range(n)], axis=0)
        img = Image.fromarray(row).resize((row.shape[1] * scale, row.shape[0] * scale), Image.NEAREST)
        frames.append(img)
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=250, loop=0)
)py";

}  // namespace

void world_options(po::options_description& desc) {
  const WorldModelConfig d;
  const BouncingConfig b;
  po::options_description w("data | train | rollout (the diffusion world model)");
  w.add_options()
      ("data", po::value<std::string>()->default_value("data/atari/pong.h5"),
       "episodes file (train, rollout)")
      ("checkpoint", po::value<std::string>(),
       "train: the checkpoint file (default <out>.ckpt); rollout: the trained model (a train "
       "output or checkpoint)")
      ("resume", po::bool_switch()->default_value(false), "train: continue from --checkpoint")
      ("checkpoint-every", number<int64_t>(I{0, 1 << 30})->default_value(200),
       "train: checkpoint period in steps (0: only on a stop and at the end)")
      ("objective", po::value<std::string>()->default_value("edm"),
       "train: edm | ddpm (the epsilon-prediction baseline)")
      ("context", number<int64_t>(I{1, 64})->default_value(d.unet.context), "past frames K")
      ("channels", po::value<std::string>()->default_value("32,64,64"),
       "U-Net channels per level")
      ("groups", number<int64_t>(I{1, 1024})->default_value(d.unet.groups), "group-norm groups")
      ("cond-dim", number<int64_t>(I{1, 4096})->default_value(d.unet.cond_dim),
       "conditioning width")
      ("action-dim", number<int64_t>(I{1, 4096})->default_value(d.unet.action_dim),
       "embedding width per past action")
      ("weight-decay", number<double>(cli::non_negative<double>())->default_value(d.weight_decay),
       "train: AdamW decoupled weight decay")
      ("horizon", number<int64_t>(I{1, 100000})->default_value(15), "rollout: imagined frames")
      ("start", number<int64_t>(I{0, 100000})->default_value(0),
       "rollout: the first real context frame of every episode (0: the episode's start)")
      ("steps", number<int64_t>(I{1, 10000})->default_value(3), "rollout: sampler steps per frame")
      ("sampler", po::value<std::string>()->default_value("euler"), "rollout: euler | heun")
      ("episodes", number<int64_t>(I{0, 1 << 30}),
       "rollout: the first N test episodes (default all); data: episodes to write (default 120)")
      ("show", number<int64_t>(I{1, 64})->default_value(4),
       "rollout: episodes in the PNG strip and the GIF")
      ("episode-steps", number<int64_t>(I{1, 1 << 20})->default_value(100),
       "data: steps per episode")
      ("size", number<int64_t>(I{16, 256})->default_value(b.size), "data: frame size")
      ("test-episodes", number<int64_t>(I{1, 1 << 20})->default_value(20),
       "data: held-out episodes")
      ("epsilon", number<double>(cli::Range<double>{0, 1, false})->default_value(b.epsilon),
       "data: random-action probability of the ball-tracking policy");
  desc.add(w);
}

int world_data_run(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  const std::string out = out_path(vm, "bouncing_ball.h5");
  check_output_path("--out", out, /*must_not_exist=*/true);
  BouncingConfig b;
  b.episodes = value_or<int64_t>(vm, "episodes", 120);
  b.steps = vm["episode-steps"].as<int64_t>();
  b.size = vm["size"].as<int64_t>();
  b.test_episodes = vm["test-episodes"].as<int64_t>();
  b.epsilon = vm["epsilon"].as<double>();
  b.seed = value_or<uint64_t>(vm, "seed", 1);
  const WorldData d = bouncing_ball(b);
  write_new_atomically(out, [&](H5File& f) {
    write_provenance(f, ctx.command_line, ctx.config_text, "cpu",
                     {{"seed", static_cast<int64_t>(b.seed)}});
    write_world_data(f, d);
    f.set_attr("/", "game", std::string("bouncing-ball"));
    f.set_attr("/", "created_by", std::string("naqs diffusion data"));
    f.set_attr("/", "episodes", b.episodes);
    f.set_attr("/", "steps", b.steps);
    f.set_attr("/", "epsilon", b.epsilon);
    f.set_attr("/", "policy", std::string("track the ball's row, epsilon-random"));
    finish_provenance(f);
  });
  std::printf("# wrote %s: %lld bouncing-ball episodes of %lld steps, %lldx%lld frames (%lld "
              "held out)\n",
              out.c_str(), static_cast<long long>(b.episodes), static_cast<long long>(b.steps),
              static_cast<long long>(b.size), static_cast<long long>(b.size),
              static_cast<long long>(b.test_episodes));
  return 0;
}

int world_train_run(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  const std::string out = out_path(vm, "diffusion_train.h5");
  const std::string ckpt = value_or<std::string>(vm, "checkpoint", out + ".ckpt");
  check_distinct_paths({{"--out", out}, {"--checkpoint", ckpt}});
  check_output_path("--out", out, /*must_not_exist=*/false);
  check_output_path("--checkpoint", ckpt, /*must_not_exist=*/false);
  const std::string data_path = vm["data"].as<std::string>();
  const WorldData d = read_world_data(data_path, Split::train);
  WorldModelConfig c;
  c.unet.context = vm["context"].as<int64_t>();
  c.unet.actions = d.actions_count;
  c.unet.height = d.height;
  c.unet.width = d.width;
  c.unet.channels = cli::parse_list<int64_t>(vm["channels"].as<std::string>(), "channels",
                                             I{1, 4096});
  c.unet.groups = vm["groups"].as<int64_t>();
  c.unet.cond_dim = vm["cond-dim"].as<int64_t>();
  c.unet.action_dim = vm["action-dim"].as<int64_t>();
  c.edm.objective = parse_objective(vm["objective"].as<std::string>());
  c.batch = value_or<int64_t>(vm, "batch", 32);
  c.train_steps = value_or<int64_t>(vm, "train-steps", 2000);
  c.lr = value_or<double>(vm, "lr", 3e-4);
  c.weight_decay = vm["weight-decay"].as<double>();
  c.seed = value_or<uint64_t>(vm, "seed", 1);
  c.validate();
  NAQS_REQUIRE(d.steps >= c.unet.context, "--context ", c.unet.context, " is longer than the ",
               d.steps, " steps of the episodes in '", data_path, "'");
  const Device dev = resolve_device(value_or<std::string>(vm, "device", "auto"));
  WorldModel m(c, DType::f32, dev);
  nn::AdamW opt(nn::AdamOptions{0.9, 0.999, 1e-8}, c.weight_decay);
  Tensor flat = m.net().params().flat();
  opt.init(flat);
  const std::string fingerprint = cat("data = ", data_path, "\n", "model = ", c.str(), "\n");

  TrainingRunSpec rs;
  rs.command = "diffusion";
  rs.output = out;
  rs.checkpoint = ckpt;
  rs.resume = vm["resume"].as<bool>();
  rs.command_line = ctx.command_line;
  rs.fingerprint_text = fingerprint;
  rs.steps = c.train_steps;
  rs.checkpoint_every = vm["checkpoint-every"].as<int64_t>();
  rs.trace_columns = kTrainColumns;
  rs.make_checkpoint = [&] {
    Checkpoint ck;
    ck.kind = "naqs-diffusion-checkpoint";
    ck.fingerprint_text = fingerprint;
    ck.texts.push_back({"/model/layout", m.net().params().layout_text(), "parameter layout"});
    ck.attributes = model_attributes(c);
    ck.tensors.push_back({"/model/params", flat});
    for (auto& [name, t] : opt.state()) ck.tensors.push_back({cat("/", name), t});
    return ck;
  };
  rs.restored = [&](const Checkpoint& ck) { opt.set_steps_taken(ck.attr_int("step")); };
  rs.fill_new_output = [&](H5File& f) {
    write_provenance(f, ctx.command_line, ctx.config_text, device_name(dev),
                     {{"seed", static_cast<int64_t>(c.seed)}});
    for (const auto& [key, value] : model_attributes(c))
      f.set_attr("/model", key.substr(key.find(':') + 1), value);
    f.write_string("/model/layout", m.net().params().layout_text());
    f.set_attr("/", "data", data_path);
    f.set_attr("/", "train_episodes", static_cast<int64_t>(d.train_episodes.size()));
  };
  rs.say = [](const std::string& line) { std::printf("%s\n", line.c_str()); };
  TrainingRun run(std::move(rs));
  std::printf("# naqs diffusion train: %s, %lld train episodes of %lld steps (%s); U-Net %s, %lld "
              "parameters; %s; AdamW lr %g, batch %lld, %lld steps on %s\n",
              data_path.c_str(), static_cast<long long>(d.train_episodes.size()),
              static_cast<long long>(d.steps), "u8 frames on [-1, 1]", c.unet.str().c_str(),
              static_cast<long long>(m.net().params().size()), c.edm.str().c_str(), c.lr,
              static_cast<long long>(c.batch), static_cast<long long>(c.train_steps),
              device_name(dev).c_str());
  ProgressOptions po;
  po.label = "diffusion";
  po.total = c.train_steps;
  po.first_step = run.first_step();
  po.unit = "samples";
  po.items_per_step = double(c.batch);
  Progress progress(po);
  double train_seconds = 0;
  auto last = std::chrono::steady_clock::now();
  bool stopped = false;
  const int64_t done = m.train(d, opt, run.first_step(), [&](int64_t step, double loss, double lr) {
    const auto now = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(now - last).count();
    last = now;
    train_seconds += dt;
    run.append({double(step), loss, lr, double(c.batch) / dt});
    progress.update(step + 1, cat("loss ", fmt_g(loss, 4), "  lr ", fmt_g(lr, 3)));
    stopped = run.step_done(step);
    return !stopped;
  });
  if (stopped) {
    progress.finish();
    std::printf("%s\n", run.stop_message("diffusion train", done).c_str());
    return kExitInterrupted;
  }
  run.finish(done);
  progress.finish();
  if (H5File* f = run.output()) {
    f->write_dataset("/model/params", to_host_f64(flat), {flat.numel()});
    f->set_attr("/results", "train_seconds", train_seconds);
    f->set_attr("/results", "samples_per_s",
                train_seconds > 0 ? double((done - run.first_step()) * c.batch) / train_seconds
                                  : 0.0);
    finish_provenance(*f);
    f->close();
  }
  std::printf("# wrote %s (checkpoint %s)\n", out.c_str(), ckpt.c_str());
  return 0;
}

int world_rollout_run(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  NAQS_REQUIRE(vm.count("checkpoint"), "naqs diffusion rollout needs --checkpoint (the output or "
                                       "checkpoint of naqs diffusion train)");
  const std::string model_path = vm["checkpoint"].as<std::string>();
  const std::string out = out_path(vm, "rollout.h5");
  const fs::path stem = fs::path(out).parent_path() / fs::path(out).stem();
  const std::string strip = stem.string() + "_strip.png", gif = stem.string() + ".gif";
  const bool png = !value_or<bool>(vm, "no-png", false);
  check_output_path("--out", out, /*must_not_exist=*/true);
  for (const std::string& o : png ? std::vector<std::string>{strip, gif} : std::vector<std::string>{})
    check_output_path("--out", o, /*must_not_exist=*/true);
  const std::string python = png ? workflow::plot_python("the rollout strip and GIF") : "";
  NAQS_REQUIRE(path_present(model_path), "--checkpoint '", model_path, "' does not exist");
  const H5File mf = H5File::open_read(model_path);
  WorldModelConfig c = read_model_attributes(mf);
  if (vm.count("seed")) c.seed = vm["seed"].as<uint64_t>();
  const Sampler sampler = parse_sampler(vm["sampler"].as<std::string>());
  const int64_t horizon = vm["horizon"].as<int64_t>(), steps = vm["steps"].as<int64_t>();
  const int64_t start = vm["start"].as<int64_t>();
  const std::string data_path = vm["data"].as<std::string>();
  const WorldData d = read_world_data(data_path, Split::test);
  std::vector<int32_t> episodes = d.test_episodes;
  if (vm.count("episodes")) {
    const int64_t n = vm["episodes"].as<int64_t>();
    NAQS_REQUIRE(n >= 1 && n <= static_cast<int64_t>(episodes.size()), "--episodes ", n,
                 " is not allowed: the data has ", episodes.size(), " test episodes");
    episodes.resize(static_cast<size_t>(n));
  }
  const Device dev = resolve_device(value_or<std::string>(vm, "device", "auto"));
  WorldModel m(c, DType::f32, dev);
  const std::vector<double> p = mf.read_doubles("/model/params");
  NAQS_REQUIRE(static_cast<int64_t>(p.size()) == m.net().params().size(), "--checkpoint '",
               model_path, "' holds ", p.size(), " parameters; its /model settings need ",
               m.net().params().size());
  Tensor flat = m.net().params().flat();
  flat.copy_from(from_host_f64(p, flat.shape(), DType::f32, dev));

  const int64_t K = c.unet.context, N = static_cast<int64_t>(episodes.size()), P = d.frame_size();
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<uint8_t> imagined = m.rollout(d, episodes, horizon, sampler, steps, start);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<uint8_t> real(imagined.size()), context(static_cast<size_t>(N * K * P));
  std::vector<double> mse(static_cast<size_t>(N * horizon)), psnr(mse.size()), f1(mse.size()),
      copy_mse(mse.size()), copy_psnr(mse.size()), copy_f1(mse.size());
  for (int64_t i = 0; i < N; ++i) {
    for (int64_t k = 0; k < K; ++k)
      std::copy(d.frame(episodes[i], start + k), d.frame(episodes[i], start + k) + P,
                context.begin() + (i * K + k) * P);
    for (int64_t h = 0; h < horizon; ++h) {
      const uint8_t* r = d.frame(episodes[i], start + K + h);
      std::copy(r, r + P, real.begin() + (i * horizon + h) * P);
      const FrameMetrics a = frame_metrics(r, &imagined[(i * horizon + h) * P], P);
      const FrameMetrics b = frame_metrics(r, d.frame(episodes[i], start + K - 1), P);
      const size_t j = static_cast<size_t>(i * horizon + h);
      mse[j] = a.mse, psnr[j] = a.psnr, f1[j] = a.object_f1;
      copy_mse[j] = b.mse, copy_psnr[j] = b.psnr, copy_f1[j] = b.object_f1;
    }
  }
  std::printf("# naqs diffusion rollout: %s (%s) on %lld test episodes of %s; %s, %lld steps "
              "(%lld network evaluations per frame); %.2f s, %.1f imagined frames/s\n",
              model_path.c_str(), objective_name(c.edm.objective).c_str(),
              static_cast<long long>(N), data_path.c_str(), sampler_name(sampler).c_str(),
              static_cast<long long>(steps),
              static_cast<long long>(network_evaluations(sampler, steps)), secs,
              double(N * horizon) / secs);
  std::printf("# per imagined step, mean over episodes (MSE and PSNR on the [-1, 1] scale, "
              "PSNR capped at 100 dB for identical frames); copy = the last real frame\n");
  std::printf("%5s %10s %8s %8s %10s %8s %8s\n", "step", "mse", "psnr", "obj_f1", "copy_mse",
              "copy_psnr", "copy_f1");
  auto mean_at = [&](const std::vector<double>& v, int64_t h) {
    double s = 0;
    for (int64_t i = 0; i < N; ++i) s += std::min(v[i * horizon + h], 100.0);
    return s / double(N);
  };
  for (int64_t h = 0; h < horizon; ++h)
    std::printf("%5lld %10.5f %8.2f %8.3f %10.5f %8.2f %8.3f\n", static_cast<long long>(h + 1),
                mean_at(mse, h), mean_at(psnr, h), mean_at(f1, h), mean_at(copy_mse, h),
                mean_at(copy_psnr, h), mean_at(copy_f1, h));
  const int64_t H = d.height, W = d.width;
  std::vector<int32_t> file_ids;
  for (int32_t e : episodes) file_ids.push_back(d.ids[e]);
  write_new_atomically(out, [&](H5File& f) {
    write_provenance(f, ctx.command_line, ctx.config_text, device_name(dev),
                     {{"seed", static_cast<int64_t>(c.seed)}});
    f.write_i32("/rollout/episodes", file_ids, {N});
    f.write_u8("/rollout/context", context, {N, K, H, W});
    f.write_u8("/rollout/real", real, {N, horizon, H, W});
    f.write_u8("/rollout/imagined", imagined, {N, horizon, H, W});
    for (const auto& [name, v] : {std::pair{"mse", &mse}, {"psnr", &psnr}, {"object_f1", &f1},
                                  {"copy_last/mse", &copy_mse}, {"copy_last/psnr", &copy_psnr},
                                  {"copy_last/object_f1", &copy_f1}})
      f.write_dataset(cat("/rollout/", name), *v, {N, horizon});
    f.set_attr("/rollout", "sampler", sampler_name(sampler));
    f.set_attr("/rollout", "steps", steps);
    f.set_attr("/rollout", "network_evaluations_per_frame", network_evaluations(sampler, steps));
    f.set_attr("/rollout", "horizon", horizon);
    f.set_attr("/rollout", "start", start);
    f.set_attr("/rollout", "objective", objective_name(c.edm.objective));
    f.set_attr("/rollout", "checkpoint", model_path);
    f.set_attr("/rollout", "data", data_path);
    f.set_attr("/rollout", "seconds", secs);
    f.set_attr("/rollout", "units", std::string("mse and psnr on the [-1, 1] pixel scale (psnr = "
                                                "10 log10(4 / mse), inf for identical frames); "
                                                "object_f1 of pixels > 20 levels from the "
                                                "background"));
    finish_provenance(f);
  });
  std::printf("# wrote %s\n", out.c_str());
  if (png) {
    const std::string show = cat(std::min<int64_t>(N, value_or<int64_t>(vm, "show", 4)));
    write_by_command({python, "-c", kRolloutPlotScript, out, show, kTargetArg, "-"}, strip,
                     "rollout strip script");
    write_by_command({python, "-c", kRolloutPlotScript, out, show, "-", kTargetArg}, gif,
                     "rollout GIF script");
    std::printf("# wrote %s and %s\n", strip.c_str(), gif.c_str());
  }
  return 0;
}

}  // namespace naqs::apps
