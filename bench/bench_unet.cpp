// The diffusion world model's U-Net (ml/diffusion/unet.hpp) at the default world-model shape
// (context 4, 40x40 frames, channels 32,64,64, groups 8, cond_dim 128, action_dim 16,
// noise_features 16, Pong's 6 actions): the naqs side of issue 17's U-Net benchmark. Prints a
// table and one CSV line per row with the commit, device, dtype, OpenMP threads and the 1-minute
// load average; never asserts timings. The PyTorch peer (bench/peer_torch_unet.py) and the
// alternating driver (bench/run_unet_vs_torch.sh) compare against the same rows.
//   train    samples/s of one training step of `naqs diffusion train`
//            (WorldModel::loss_and_grad: the batch drawn on the host, forward, loss, backward;
//            then the AdamW step on the flat parameters), batch --batch (32)
//   imagine  imagined frames/s of WorldModel::rollout with --steps (3) Euler steps per frame,
//            --horizon (4) frames of B rollouts at once (B in --rollouts, 1 and 64): B x horizon
//            frames over the wall time (network calls, sampler updates, quantisation, the
//            context shifts and the host copies, as `naqs diffusion rollout` runs them)
//   --profile  instead: the time of one training step split by op, each op timed alone on
//            the shapes the step runs it on (read from the parameter layout, whose names and
//            shapes unet.hpp defines) at the same batch, beside the measured step; the rest
//            (host-side batch assembly, loss, AdamW, conditioning MLP glue) is the difference.
//            CSV lines start with csv_profile.
// Data: the synthetic bouncing ball (ml/diffusion/world_data.hpp) at 40x40, so no file is read.
// Usage: bench_unet [--device cpu|cuda] [--dtype f32|f64] [--batch 32] [--rollouts 1,64]
//                   [--horizon 4] [--steps 3] [--min-seconds 1] [--profile]
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "host/core/build_info.hpp"
#include "host/core/device.hpp"
#include "host/core/tensor.hpp"
#include "host/ops/conv2d.hpp"
#include "host/ops/copy.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/group_norm.hpp"
#include "host/ops/random.hpp"
#include "host/ops/resample.hpp"
#include "ml/diffusion/world_model.hpp"
#include "nn/layers.hpp"
#include "nn/optimizer.hpp"

using namespace naqs;
using namespace naqs::ml::diffusion;

namespace {

struct Options {
  std::string device = "cpu", dtype = "f32";
  int64_t batch = 32, horizon = 4, steps = 3;
  std::vector<int64_t> rollouts{1, 64};
  double min_seconds = 1.0;
  bool profile = false;
};

// Seconds per call of fn: best of repeated calls for about min_seconds (bench_common.hpp).
double best_time(Device dev, double min_seconds, const std::function<void()>& fn) {
  return bench::best_seconds({fn}, [dev] { synchronize(dev); }, min_seconds)[0];
}

// The per-op split of one training step: every op kind the U-Net's forward and backward call,
// on the shapes of the parameter layout (unet.hpp: "in", encoder blocks "e<l>" and decoder
// blocks "d<l>" at level l, frames halved per level; "out" at level 0).
int profile(const WorldModelConfig& c, WorldModel& wm, DType dt, Device dev, double total,
            double min_seconds) {
  const UNetConfig& u = c.unet;
  const int64_t B = c.batch, G = u.groups, D = u.cond_dim;
  const double eps = 1e-5;
  auto empty = [&](const Shape& s) { return Tensor::empty(s, dt, dev); };
  auto normal = [&](const Shape& s, uint64_t seed) {
    Tensor t = empty(s);
    ops::fill_normal(t, seed, 0, 0);
    return t;
  };
  auto level_of = [](const std::string& name) {
    if (name[0] == 'e' || name[0] == 'd') return std::atoll(name.c_str() + 1);
    return 0LL;  // "in", "out"
  };
  std::map<std::string, double> seconds;  // op kind -> seconds per step
  std::vector<std::string> order;
  auto add = [&](const std::string& kind, const std::function<void()>& fn) {
    if (!seconds.count(kind)) order.push_back(kind);
    seconds[kind] += best_time(dev, min_seconds, fn);
  };
  uint64_t seed = 1;
  const Tensor cond = normal({B, D}, seed++);
  for (const ParameterEntry& e : wm.net().params().layout()) {
    const std::string& n = e.name;
    const Shape& ws = e.shape;
    const int64_t l = level_of(n), H = u.height >> l, W = u.width >> l;
    const Tensor w = normal(ws, seed++);
    if (ws.rank == 4) {  // a convolution (Cout, Cin, k, k)
      const ops::Conv2dSpec s = ws[2] == 3 ? ops::Conv2dSpec{3, 3, -1, -1} : ops::Conv2dSpec{};
      const Tensor x = normal({B, ws[1], H, W}, seed++), dy = normal({B, ws[0], H, W}, seed++);
      Tensor y = empty({B, ws[0], H, W}), dx = empty(x.shape()), dw = empty(ws);
      const Tensor none;
      add("conv2d forward", [&] { ops::conv2d_forward(x, w, none, s, y); });
      if (n != "in.w")  // the input convolution's input needs no gradient
        add("conv2d backward_input", [&] { ops::conv2d_backward_input(dy, w, s, dx); });
      add("conv2d backward_weight", [&] { ops::conv2d_backward_weight(x, dy, s, dw, true); });
      Tensor db = empty({ws[0]});
      add("bias backward", [&] { ops::bias_backward(dy, 1, db, true); });
    } else if (ws.rank == 2 && n != "act.table") {  // a linear layer (out, in) on B rows
      const Tensor x = normal({B, ws[1]}, seed++), dy = normal({B, ws[0]}, seed++);
      Tensor y = empty({B, ws[0]}), dx = empty(x.shape()), dw = empty(ws), db = empty({ws[0]});
      const Tensor b = normal({ws[0]}, seed++);
      add("linear forward+backward", [&] {
        nn::linear_forward(y, x, w, b);
        nn::linear_backward(dx, dw, db, dy, x, w, true);
      });
    }
    // a group norm + silu: ".s1.w" / ".s2.w" (per-sample affine) and "out_gn.w" (plain)
    const bool ada = n.size() > 5 && (n.compare(n.size() - 5, 5, ".s1.w") == 0 ||
                                      n.compare(n.size() - 5, 5, ".s2.w") == 0);
    if (ada || n == "out_gn.w") {
      const int64_t C = ws[0];
      const Tensor x = normal({B, C, H, W}, seed++), dy = normal(x.shape(), seed++);
      const Tensor gamma = ada ? normal({B, C}, seed++) : normal({C}, seed++);
      const Tensor beta = normal(gamma.shape(), seed++);
      Tensor y = empty(x.shape()), a = empty(x.shape()), dx = empty(x.shape());
      Tensor mean = empty({B, G}), rstd = empty({B, G});
      Tensor dg = empty(gamma.shape()), dbeta = empty(gamma.shape());
      add("group_norm forward", [&] {
        ops::group_norm_forward(x, G, gamma, beta, eps, y, mean, rstd);
      });
      add("group_norm backward", [&] {
        ops::group_norm_backward(dy, x, G, gamma, mean, rstd, dx, dg, dbeta);
      });
      add("silu forward+backward", [&] {
        nn::activation_forward(ops::Unary::silu, a, x);
        nn::activation_backward(ops::Unary::silu, dx, dy, x);
      });
    }
  }
  // resampling and the skip concatenations: encoder level l > 0 pools c_{l-1}; decoder level
  // l < L-1 upsamples c_{l+1} and concatenates [up, skip c_l] (the backward splits it again)
  const int64_t L = static_cast<int64_t>(u.channels.size());
  for (int64_t l = 1; l < L; ++l) {
    const int64_t Cb = u.channels[l - 1], H = u.height >> (l - 1), W = u.width >> (l - 1);
    const Tensor big = normal({B, Cb, H, W}, seed++), small = normal({B, Cb, H / 2, W / 2}, seed++);
    Tensor sm = empty(small.shape()), bg = empty(big.shape());
    add("pool forward+backward", [&] {
      ops::avg_pool2x2(big, sm);
      ops::avg_pool2x2_backward(small, bg);
    });
  }
  for (int64_t l = L - 2; l >= 0; --l) {
    const int64_t Cu = u.channels[l + 1], Cs = u.channels[l], H = u.height >> l,
                  W = u.width >> l;
    const Tensor low = normal({B, Cu, H / 2, W / 2}, seed++), up_g = normal({B, Cu, H, W}, seed++);
    Tensor up = empty({B, Cu, H, W}), dlow = empty(low.shape());
    add("upsample forward+backward", [&] {
      ops::upsample_nearest2x(low, up);
      ops::upsample_nearest2x_backward(up_g, dlow);
    });
    const Tensor skip = normal({B, Cs, H, W}, seed++), dcat = normal({B, Cu + Cs, H, W}, seed++);
    Tensor cat_t = empty(dcat.shape()), dup = empty(up_g.shape()), dskip = empty(skip.shape());
    add("concat + split copies", [&] {
      Tensor v = cat_t.narrow(1, 0, Cu);
      ops::copy(up_g, v);
      v = cat_t.narrow(1, Cu, Cs);
      ops::copy(skip, v);
      ops::copy(dcat.narrow(1, 0, Cu), dup);
      ops::copy(dcat.narrow(1, Cu, Cs), dskip);
    });
  }
  double sum = 0;
  for (const auto& [k, v] : seconds) sum += v;
  const double load = bench::load_average();
  std::printf("%-28s %10s %8s\n", "op (batch 32 step)", "ms/step", "share");
  for (const std::string& k : order)
    std::printf("%-28s %10.2f %7.1f%%\n", k.c_str(), seconds[k] * 1e3, 100 * seconds[k] / total);
  std::printf("%-28s %10.2f %7.1f%%\n", "rest (host, loss, AdamW)", (total - sum) * 1e3,
              100 * (total - sum) / total);
  std::printf("%-28s %10.2f %7.1f%%   (load %.2f)\n", "measured step", total * 1e3, 100.0, load);
  for (const std::string& k : order)
    std::printf("csv_profile,bench_unet,%s,%s,%d,%lld,%s,%.6f,%.4f,%.2f\n", git_commit(),
                device_name(dev).c_str(), omp_get_max_threads(), static_cast<long long>(B),
                k.c_str(), seconds[k], seconds[k] / total, load);
  std::printf("csv_profile,bench_unet,%s,%s,%d,%lld,step,%.6f,1,%.2f\n", git_commit(),
              device_name(dev).c_str(), omp_get_max_threads(), static_cast<long long>(B), total,
              load);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--profile") {
      o.profile = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "bench_unet: option %s needs a value\n", argv[i]);
      return 2;
    }
    const std::string v = argv[i + 1];
    if (k == "--device") o.device = v;
    else if (k == "--dtype") o.dtype = v;
    else if (k == "--batch") o.batch = std::atoll(v.c_str());
    else if (k == "--horizon") o.horizon = std::atoll(v.c_str());
    else if (k == "--steps") o.steps = std::atoll(v.c_str());
    else if (k == "--min-seconds") o.min_seconds = std::atof(v.c_str());
    else if (k == "--rollouts") {
      o.rollouts.clear();
      std::stringstream list(v);
      for (std::string item; std::getline(list, item, ',');)
        o.rollouts.push_back(std::atoll(item.c_str()));
    } else {
      std::fprintf(stderr,
                   "bench_unet: unknown option %s (allowed: --device --dtype --batch --rollouts "
                   "--horizon --steps --min-seconds --profile)\n",
                   k.c_str());
      return 2;
    }
  }
  if (o.dtype != "f32" && o.dtype != "f64") {
    std::fprintf(stderr, "bench_unet: --dtype %s is not allowed: use f32 or f64\n",
                 o.dtype.c_str());
    return 2;
  }
  if (o.batch < 1 || o.horizon < 1 || o.steps < 1 || o.rollouts.empty()) {
    std::fprintf(stderr, "bench_unet: --batch, --horizon, --steps and every --rollouts value "
                         "must be at least 1\n");
    return 2;
  }
  for (int64_t b : o.rollouts)
    if (b < 1) {
      std::fprintf(stderr, "bench_unet: --rollouts %lld is not allowed: use at least 1\n",
                   static_cast<long long>(b));
      return 2;
    }
  const DType dt = o.dtype == "f64" ? DType::f64 : DType::f32;
  const Device dev = resolve_device(o.device);
  WorldModelConfig c;  // the defaults of `naqs diffusion train`
  c.batch = o.batch;
  int64_t max_rollouts = 1;
  for (int64_t b : o.rollouts) max_rollouts = std::max(max_rollouts, b);
  BouncingConfig bc;
  bc.size = c.unet.height;
  bc.episodes = std::max<int64_t>(bc.episodes, max_rollouts + bc.test_episodes);
  bc.steps = std::max<int64_t>(bc.steps, c.unet.context + o.horizon);
  const WorldData data = bouncing_ball(bc);
  WorldModel wm(c, dt, dev);
  const int64_t n_params = wm.net().params().size();
  std::printf("bench_unet: commit %s, %s, %d threads, %s, %s, %lld parameters\n", git_commit(),
              device_name(dev).c_str(), omp_get_max_threads(), o.dtype.c_str(),
              c.unet.str().c_str(), static_cast<long long>(n_params));
  std::printf("params,%lld\n", static_cast<long long>(n_params));

  ParameterSet grads = wm.net().params().like(dt, dev);
  nn::AdamW opt(nn::AdamOptions{0.9, 0.999, 1e-8}, c.weight_decay);
  Tensor flat = wm.net().params().flat();
  int64_t step = 0;
  auto train_step = [&] {
    wm.loss_and_grad(data, step++, grads);
    opt.step(flat, grads.flat(), c.lr);
  };
  if (o.profile) {
    const double total = best_time(dev, o.min_seconds, train_step);
    return profile(c, wm, dt, dev, total, o.min_seconds);
  }

  std::printf("%-10s %6s %14s %10s %6s\n", "what", "batch", "per second", "seconds", "load");
  std::vector<std::string> csv;
  auto report = [&](const char* what, int64_t b, double items, const char* unit, double secs) {
    const double load = bench::load_average();
    std::printf("%-10s %6lld %14.2f %10.4f %6.2f\n", what, static_cast<long long>(b),
                items / secs, secs, load);
    char line[512];
    std::snprintf(line, sizeof line, "csv,bench_unet,%s,%s,%s,%d,%s,%lld,%.4f,%s,%.5f,%.2f",
                  git_commit(), device_name(dev).c_str(), o.dtype.c_str(), omp_get_max_threads(),
                  what, static_cast<long long>(b), items / secs, unit, secs, load);
    csv.push_back(line);
  };
  report("train", c.batch, double(c.batch), "samples/s",
         best_time(dev, o.min_seconds, train_step));
  for (int64_t b : o.rollouts) {
    std::vector<int32_t> episodes(static_cast<size_t>(b));
    for (int64_t i = 0; i < b; ++i) episodes[i] = static_cast<int32_t>(i);
    const double secs = best_time(dev, o.min_seconds, [&] {
      wm.rollout(data, episodes, o.horizon, Sampler::euler, o.steps);
    });
    report("imagine", b, double(b * o.horizon), "frames/s", secs);
  }
  for (const std::string& l : csv) std::printf("%s\n", l.c_str());
  return 0;
}
