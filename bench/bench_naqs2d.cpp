// Benchmark (a program, never a test): exact sampling throughput of the 2D NAQS
// (physics/naqs_conv2d.*) with the shared sampler (physics/sampler.*), cached per-site
// evaluation (conv2d_forward_rows for the vertical stack, conv2d_forward_at for the horizontal
// one) vs naive re-evaluation of the whole network for every site. Both draw the same samples.
// CPU: small squares, f32. CUDA (when a device is present): additionally the paper's 10x10
// depth-20 width-32 model ("heis10"), f32, cached only (naive would take N = 100 full passes).
// Time = best of repeated runs (>= 2 runs and >= 0.5 s) after one warm-up. Prints a table, then
// CSV. Usage: bench_naqs2d [--quick]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "host/core/build_info.hpp"
#include "host/core/device.hpp"
#include "physics/naqs_conv2d.hpp"
#include "physics/sampler.hpp"

using namespace naqs;

namespace {

double best_seconds(const std::function<void()>& f) {
  f();
  double best = 1e30, total = 0;
  for (int reps = 0; reps < 2 || total < 0.5; ++reps) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
    total += s;
    if (reps >= 20) break;
  }
  return best;
}

struct Row {
  std::string name, device;
  int64_t lx, ly;
  int depth, width;
  int64_t batch;
  double cached, naive;  // samples/s (naive < 0: not measured)
};

Row measure(const std::string& name, const NaqsConv2dConfig& c, Device device, int64_t batch,
            bool with_naive) {
  NaqsConv2d model(c, DType::f32, device, 1);
  Tensor sigma = Tensor::empty({batch, model.n_sites()}, DType::f32, device);
  Tensor lr = Tensor::empty({batch}, DType::f32, device), li = lr.clone();
  SamplerOptions options;
  options.seed = 1;
  options.batch_size = batch;
  Row r{name, device_name(device), c.lx, c.ly, c.depth, c.width, batch, 0, -1};
  r.cached = batch / best_seconds([&] { sample_autoregressive(model, 0, options, sigma, lr, li); });
  if (with_naive) {
    options.cached = false;
    r.naive = batch / best_seconds([&] { sample_autoregressive(model, 0, options, sigma, lr, li); });
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  auto cfg = [](int64_t l, int depth, int width) {
    NaqsConv2dConfig c;
    c.lx = c.ly = l;
    c.depth = depth;
    c.width = width;
    return c;
  };
  std::printf("bench_naqs2d: exact sampling of the 2D NAQS, cached vs naive, f32 (samples/s)\n");
  std::printf("commit %s%s | CUDA devices %d\n", git_commit(), git_dirty() ? " (dirty)" : "",
              device_count());
  std::vector<Row> rows;
  rows.push_back(measure("4x4 d2 w8", cfg(4, 2, 8), Device::cpu(), 256, true));
  if (!quick) {
    rows.push_back(measure("6x6 d4 w16", cfg(6, 4, 16), Device::cpu(), 256, true));
    rows.push_back(measure("8x8 d6 w32", cfg(8, 6, 32), Device::cpu(), 128, true));
  }
  if (device_count() > 0) {
    rows.push_back(measure("6x6 d4 w16", cfg(6, 4, 16), Device::cuda(0), 1024, true));
    rows.push_back(measure("heis10 10x10 d20 w32", naqs_conv2d_preset("heis10"), Device::cuda(0),
                           quick ? 1024 : 8192, false));
  }
  std::printf("%-22s %-28s %6s %8s %14s %14s %8s\n", "model", "device", "batch", "sites",
              "cached/s", "naive/s", "gain");
  for (const Row& r : rows)
    std::printf("%-22s %-28s %6lld %8lld %14.1f %14s %8s\n", r.name.c_str(), r.device.c_str(),
                static_cast<long long>(r.batch), static_cast<long long>(r.lx * r.ly), r.cached,
                r.naive > 0 ? std::to_string(r.naive).c_str() : "-",
                r.naive > 0 ? std::to_string(r.cached / r.naive).c_str() : "-");
  std::printf("\nCSV\ncommit,model,device,lx,ly,depth,width,batch,cached_samples_per_s,naive_samples_per_s\n");
  for (const Row& r : rows)
    std::printf("%s,%s,%s,%lld,%lld,%d,%d,%lld,%.2f,%.2f\n", git_commit(), r.name.c_str(),
                r.device.c_str(), static_cast<long long>(r.lx), static_cast<long long>(r.ly),
                r.depth, r.width, static_cast<long long>(r.batch), r.cached, r.naive);
  return 0;
}
