// Benchmark: exact autoregressive sampling of the 1D NAQS, cached (per-layer activation caches,
// only the new site per step) vs naive (full re-evaluation per site), samples/s for chains
// N in {32, 64, 128, 256}, local-energy throughput (TFIM, periodic chain) in connected
// configurations/s (N single flips per sample; log psi(sigma) is an input, not timed), and the
// training pass: the summed gradient grad_log_psi (forward + backward + weight-norm backward)
// and the per-sample gradients per_sample_grad (SR's rows), samples/s on the sampled batch.
// A program, not a test: prints a table and one CSV row per repetition with the commit, device,
// thread count, load average, dtype and model; never asserts timings.
//
// Usage: bench_naqs_sampling [--device cpu|cuda] [--dtype f32|f64] [--width W] [--depth D]
//                            [--batch B] [--sizes 32,64,128,256] [--min-seconds S]
//                            [--repeats R] [--only cached,naive,eloc,grad,jac]
// Each repetition times each measurement for at least S seconds (after one untimed warm-up).
// The PyTorch peer (bench/peer_torch_naqs.py) prints rows in the same CSV format;
// bench/run_naqs_vs_torch.sh runs both, interleaved, at 1 and 2 threads and tabulates them
// (bench/naqs_vs_torch_table.py: median and min over the repetitions).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "host/core/build_info.hpp"
#include "host/core/device.hpp"
#include "physics/models/naqs_conv1d.hpp"
#include "physics/operator/local_energy.hpp"
#include "physics/sampler/autoregressive.hpp"

using namespace naqs;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Runs f (which processes `items` items) until at least min_seconds have passed (at least once,
// after one untimed warm-up run); returns items per second.
template <class F>
double rate(F&& f, double items, double min_seconds) {
  f();
  int runs = 0;
  const double t0 = now_s();
  double elapsed = 0;
  do {
    f();
    ++runs;
    elapsed = now_s() - t0;
  } while (elapsed < min_seconds);
  return items * runs / elapsed;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ',')) out.push_back(tok);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string device_spec = "cpu", dtype_name_arg = "f32", sizes_arg = "32,64,128,256";
    std::string only = "cached,naive,eloc,grad,jac";
    int width = 16, depth = 3, repeats = 1;
    int64_t batch = 256;
    double min_seconds = 1.0;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto next = [&]() -> std::string {
        NAQS_REQUIRE(i + 1 < argc, a, " needs a value");
        return argv[++i];
      };
      if (a == "--device") device_spec = next();
      else if (a == "--dtype") dtype_name_arg = next();
      else if (a == "--width") width = std::stoi(next());
      else if (a == "--depth") depth = std::stoi(next());
      else if (a == "--batch") batch = std::stoll(next());
      else if (a == "--sizes") sizes_arg = next();
      else if (a == "--min-seconds") min_seconds = std::stod(next());
      else if (a == "--repeats") repeats = std::stoi(next());
      else if (a == "--only") only = next();
      else NAQS_REQUIRE(false, "unknown option ", a);
    }
    NAQS_REQUIRE(repeats >= 1, "--repeats must be >= 1, got ", repeats);
    const Device device = resolve_device(device_spec);
    const DType dtype = parse_dtype(dtype_name_arg);
    std::vector<int64_t> sizes;
    for (const std::string& tok : split(sizes_arg)) sizes.push_back(std::stoll(tok));
    const std::vector<std::string> parts = split(only);
    auto wanted = [&](const char* part) {
      return std::find(parts.begin(), parts.end(), part) != parts.end();
    };
    const int threads = omp_get_max_threads();
    std::printf("# bench_naqs_sampling  commit %s%s  device %s  dtype %s  OpenMP threads %d\n",
                git_commit(), git_dirty() ? " (dirty)" : "", device_name(device).c_str(),
                dtype_name(dtype), threads);
    std::printf("# model: naqs conv1d width %d depth %d (2 convs/block) kernel 3 dilations 1,2,4 "
                "relu real; sampler batch %lld; local energy: TFIM J=1 h=1 periodic chain; "
                "0 = not measured\n",
                width, depth, static_cast<long long>(batch));
    std::printf("%6s %4s %16s %16s %8s %18s %16s %14s %14s %6s\n", "N", "rep",
                "cached samples/s", "naive samples/s", "gain", "E_loc configs/s",
                "E_loc samples/s", "grad samples/s", "jac samples/s", "load");
    std::vector<std::string> csv;
    for (int64_t n : sizes) {
      NaqsConv1dConfig config;
      config.n_sites = n;
      config.width = width;
      config.depth = depth;
      config.kernel = 3;
      config.dilations = {1, 2, 4};
      NaqsConv1d model(config, dtype, device, 1);
      Tensor sigma = Tensor::empty({batch, n}, dtype, device);
      Tensor lr = Tensor::empty({batch}, dtype, device), li = lr.clone();
      SamplerOptions options;
      options.seed = 1;
      options.batch_size = batch;
      // The naive sampler costs N full passes per batch: time a smaller batch.
      const int64_t naive_batch = std::max<int64_t>(1, std::min<int64_t>(batch, 8192 / n));
      Tensor sigma_n = Tensor::empty({naive_batch, n}, dtype, device);
      Tensor lr_n = Tensor::empty({naive_batch}, dtype, device), li_n = lr_n.clone();
      SamplerOptions naive_options = options;
      naive_options.cached = false;
      naive_options.batch_size = naive_batch;
      ModelParams tfim;
      tfim.model = Model::tfim;
      Hamiltonian h(Lattice::chain(static_cast<int>(n), true), tfim);
      sample_autoregressive(model, 0, options, sigma, lr, li);
      Tensor e_re = Tensor::empty({batch}, dtype, device), e_im = e_re.clone();
      // Training pass: weights w (B) as a VMC step's (E_loc - mean) would be; jac (B,P).
      Tensor w_re = Tensor::full({batch}, 1.0 / static_cast<double>(batch), dtype, device);
      Tensor grad = Tensor::empty({model.params().size()}, dtype, device);
      Tensor jac, no_im;
      if (wanted("jac")) jac = Tensor::empty({batch, model.params().size()}, dtype, device);
      for (int rep = 0; rep < repeats; ++rep) {
        double cached = 0, naive = 0, eloc_samples = 0, grad_samples = 0, jac_samples = 0;
        if (wanted("cached"))
          cached = rate([&] { sample_autoregressive(model, 0, options, sigma, lr, li); },
                        static_cast<double>(batch), min_seconds);
        if (wanted("naive"))
          naive = rate([&] { sample_autoregressive(model, 0, naive_options, sigma_n, lr_n, li_n); },
                       static_cast<double>(naive_batch), min_seconds);
        if (wanted("eloc"))
          eloc_samples = rate([&] { local_energy(model, h, sigma, lr, li, e_re, e_im); },
                              static_cast<double>(batch), min_seconds);
        if (wanted("grad"))
          grad_samples = rate([&] { model.grad_log_psi(sigma, w_re, Tensor(), grad); },
                              static_cast<double>(batch), min_seconds);
        if (wanted("jac"))
          jac_samples = rate([&] { model.per_sample_grad(sigma, jac, no_im); },
                             static_cast<double>(batch), min_seconds);
        const double eloc_configs = eloc_samples * static_cast<double>(h.max_connected());
        const double gain = naive > 0 ? cached / naive : 0;
        const double load = bench::load_average();
        std::printf("%6lld %4d %16.1f %16.1f %8.1f %18.1f %16.1f %14.1f %14.1f %6.2f\n",
                    static_cast<long long>(n), rep, cached, naive, gain, eloc_configs,
                    eloc_samples, grad_samples, jac_samples, load);
        std::fflush(stdout);
        std::ostringstream row;
        row << "naqs," << git_commit() << "," << device_name(device) << "," << threads << ","
            << dtype_name(dtype) << "," << n << "," << width << "," << depth << "," << batch
            << "," << rep << "," << load << "," << cached << "," << naive << "," << eloc_configs
            << "," << eloc_samples << "," << grad_samples << "," << jac_samples;
        csv.push_back(row.str());
      }
    }
    std::printf("\n# csv: impl,commit,device,threads,dtype,N,width,depth,batch,rep,load1,"
                "cached_samples_per_s,naive_samples_per_s,eloc_configs_per_s,"
                "eloc_samples_per_s,grad_samples_per_s,jac_samples_per_s\n");
    for (const std::string& r : csv) std::printf("%s\n", r.c_str());
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "bench_naqs_sampling: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_naqs_sampling: %s\n", e.what());
    return 1;
  }
}
