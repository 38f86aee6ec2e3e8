// naqs demo: the tensor runtime end to end on a small causal autoregressive network.
//   logits = conv1d_k1(relu(conv1d_dil2(relu(conv1d_excl(σ)))))   x (B,1,L) -> logits (B,2,L)
//   log p(σ) = Σ_i log_softmax(logits)[σ_i, i]                     (B,1) via gather + reduce
// Checks printed: Σ_σ p(σ) = 1 by full enumeration of 2^L configurations (exact normalisation
// from causality), the hand-written backward of Σ_b log p_b w.r.t. the middle layer's weights
// against central finite differences (float64), and throughput of the forward pass and GEMM.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "host/cli/command.hpp"
#include "host/cli/number.hpp"
#include "host/core/device.hpp"
#include "host/core/params.hpp"
#include "host/io/hdf5.hpp"
#include "host/ops/conv1d.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/gather.hpp"
#include "host/ops/gemm.hpp"
#include "host/ops/random.hpp"
#include "host/ops/reduce.hpp"
#include "host/ops/softmax.hpp"

namespace {

using namespace naqs;

struct DemoNet {
  int64_t n_sites, width;
  ops::Conv1dSpec s1{3, 1, true}, s2{3, 2, false}, s3{1, 1, false};
  ParameterSet params;

  DemoNet(int64_t l, int64_t c, DType dtype, Device dev, uint64_t seed) : n_sites(l), width(c) {
    params.add("w1", {c, 1, 3});
    params.add("b1", {c});
    params.add("w2", {c, c, 3});
    params.add("b2", {c});
    params.add("w3", {2, c, 1});
    params.add("b3", {2});
    params.allocate(dtype, dev);
    for (const char* w : {"w1", "w2", "w3"}) {
      Tensor t = params.get(w);
      const double fan_in = static_cast<double>(t.numel() / t.size(0));
      ops::fill_normal(t, seed, /*stream=*/0, params.entry(w).offset, 0.0,
                       std::sqrt(2.0 / fan_in));
    }
  }

  // Activations kept for the backward pass. x is (B,1,L) of ±1.
  struct Cache {
    Tensor x, pre1, h1, pre2, h2, logits, logp_all, index, logp;
  };

  Cache forward(const Tensor& x) const {
    const int64_t b = x.size(0), l = n_sites, c = width;
    const DType dt = x.dtype();
    const Device dev = x.device();
    Cache k;
    k.x = x;
    k.pre1 = Tensor::empty({b, c, l}, dt, dev);
    ops::conv1d_forward(x, params.get("w1"), params.get("b1"), s1, k.pre1);
    k.h1 = Tensor::empty({b, c, l}, dt, dev);
    ops::unary(ops::Unary::relu, k.pre1, k.h1);
    k.pre2 = Tensor::empty({b, c, l}, dt, dev);
    ops::conv1d_forward(k.h1, params.get("w2"), params.get("b2"), s2, k.pre2);
    k.h2 = Tensor::empty({b, c, l}, dt, dev);
    ops::unary(ops::Unary::relu, k.pre2, k.h2);
    k.logits = Tensor::empty({b, 2, l}, dt, dev);
    ops::conv1d_forward(k.h2, params.get("w3"), params.get("b3"), s3, k.logits);
    k.logp_all = Tensor::empty({b, 2, l}, dt, dev);
    ops::log_softmax(k.logits, 1, k.logp_all);
    // local-state index of σ_i: 0 for +1, 1 for -1 (the packed-bit convention)
    Tensor xi = Tensor::empty(x.shape(), DType::i32, dev);
    Tensor half = Tensor::empty(x.shape(), dt, dev);
    ops::copy(x, half);
    ops::scale(half, -0.5);
    Tensor shift = Tensor::full(x.shape(), 0.5, dt, dev);
    ops::binary(ops::Binary::add, half, shift, half);
    ops::cast(half, xi);
    k.index = xi;
    Tensor picked = Tensor::empty({b, 1, l}, dt, dev);
    ops::gather(k.logp_all, xi, 1, picked);
    k.logp = Tensor::empty({b, 1}, dt, dev);
    ops::reduce(ops::Reduce::sum, picked, 2, k.logp);
    return k;
  }

  // Gradient of Σ_b log p_b w.r.t. w2 (C,C,3).
  Tensor grad_w2(const Cache& k) const {
    const int64_t b = k.x.size(0), l = n_sites, c = width;
    const DType dt = k.x.dtype();
    const Device dev = k.x.device();
    Tensor ones = Tensor::full({b, 1, l}, 1.0, dt, dev);
    Tensor d_logp_all = Tensor::zeros({b, 2, l}, dt, dev);
    ops::scatter_add(ones, k.index, 1, d_logp_all);
    Tensor d_logits = Tensor::empty({b, 2, l}, dt, dev);
    ops::log_softmax_backward(k.logp_all, d_logp_all, 1, d_logits);
    Tensor d_h2 = Tensor::empty({b, c, l}, dt, dev);
    ops::conv1d_backward_input(d_logits, params.get("w3"), s3, d_h2);
    Tensor d_pre2 = Tensor::empty({b, c, l}, dt, dev);
    ops::unary_backward(ops::Unary::relu, k.pre2, d_h2, d_pre2);
    Tensor dw2 = Tensor::empty({c, c, 3}, dt, dev);
    ops::conv1d_backward_weight(k.h1, d_pre2, s2, dw2);
    return dw2;
  }
};

// All 2^L configurations as (2^L, 1, L) ±1 values (bit i set = spin -1).
Tensor enumerate_configs(int64_t l, DType dt, Device dev) {
  const int64_t n = int64_t{1} << l;
  std::vector<double> v(static_cast<std::size_t>(n * l));
  for (int64_t s = 0; s < n; ++s)
    for (int64_t i = 0; i < l; ++i) v[s * l + i] = (s >> i & 1) ? -1.0 : 1.0;
  Tensor t = Tensor::from_vector(v, {n, 1, l}, dev);
  Tensor out = Tensor::empty({n, 1, l}, dt, dev);
  ops::cast(t, out);
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void demo_options(po::options_description& d) {
  d.add_options()("device", po::value<std::string>()->default_value("auto"),
                  "auto | cpu | cuda | cuda:N")(
      "sites", cli::number<int>(cli::Range<int>{2, 20})->default_value(10),
      "chain length L; 2^L configurations are enumerated")(
      "width", cli::number<int>(cli::Range<int>{1, 512})->default_value(16),
      "channels of the hidden layers")(
      "seed", cli::number<uint64_t>(cli::Range<uint64_t>{0, (uint64_t{1} << 63) - 1})
                  ->default_value(1),
      "Philox seed of the parameters")(
      "out,o", po::value<std::string>()->default_value(""), "HDF5 result file (never overwritten); empty: none");
}

int demo_run(const CommandContext& ctx) {
  const auto& vm = *ctx.vm;
  const int l = vm["sites"].as<int>(), c = vm["width"].as<int>();
  const uint64_t seed = vm["seed"].as<uint64_t>();
  NAQS_REQUIRE(l >= 2 && l <= 20, "--sites ", l, " out of range (allowed: 2..20)");
  NAQS_REQUIRE(c >= 1 && c <= 512, "--width ", c, " out of range (allowed: 1..512)");
  const Device dev = resolve_device(vm["device"].as<std::string>());
  const std::string out = vm["out"].as<std::string>();
  // Refuse an existing result file before computing; write only at the end.
  NAQS_REQUIRE(out.empty() || !std::filesystem::exists(out), "--out ", out,
               " already exists (naqs never overwrites results; choose another name)");

  std::printf("naqs demo on %s: causal conv1d autoregressive net, L = %d, width = %d, seed = %llu\n",
              device_name(dev).c_str(), l, c, static_cast<unsigned long long>(seed));

  // 1. exact normalisation by enumeration, float64
  DemoNet net(l, c, DType::f64, dev, seed);
  Tensor all = enumerate_configs(l, DType::f64, dev);
  DemoNet::Cache k = net.forward(all);
  std::vector<double> logp = k.logp.to_vector<double>();
  double norm = 0;
  for (double lp : logp) norm += std::exp(lp);
  std::printf("  sum_sigma |psi(sigma)|^2 over 2^%d configurations = %.15f  (|1 - sum| = %.1e)\n",
              l, norm, std::abs(1 - norm));

  // 2. backward vs central finite differences on a small batch
  Tensor batch = all.narrow(0, std::min<int64_t>(64, all.size(0)));
  Tensor dw2 = net.grad_w2(net.forward(batch)).to(Device::cpu());
  Tensor w2 = net.params.get("w2");
  double worst = 0;
  const int n_check = 8;
  for (int j = 0; j < n_check; ++j) {
    const int64_t idx = (j * 7919) % w2.numel();
    Tensor w2_host = w2.to(Device::cpu());
    const double keep = w2_host.data<double>()[idx];
    auto objective = [&](double value) {
      w2_host.data<double>()[idx] = value;
      w2.copy_from(w2_host);
      std::vector<double> lp = net.forward(batch).logp.to_vector<double>();
      double s = 0;
      for (double v : lp) s += v;
      return s;
    };
    const double h = 1e-6;
    const double fd = (objective(keep + h) - objective(keep - h)) / (2 * h);
    objective(keep);
    const double an = dw2.data<double>()[idx];
    // Central differences of a sum of 64 log-probabilities (|f| ~ 5e2) carry a round-off error
    // of ~eps*|f|/h ~ 1e-7 absolute: tolerance 1e-6 + 1e-6*|fd|, reported as a fraction of it.
    worst = std::max(worst, std::abs(fd - an) / (1e-6 + 1e-6 * std::abs(fd)));
  }
  std::printf("  backward vs central differences (%d weights, float64): worst error %.2f of the "
              "tolerance 1e-6 + 1e-6|g|\n", n_check, worst);

  // 3. throughput: float32 forward over all configurations, and GEMM
  DemoNet net32(l, c, DType::f32, dev, seed);
  Tensor all32 = enumerate_configs(l, DType::f32, dev);
  net32.forward(all32);
  auto t0 = std::chrono::steady_clock::now();
  int reps = 0;
  do {
    net32.forward(all32).logp.narrow(0, 1).item();  // syncs the device
    ++reps;
  } while (seconds_since(t0) < 0.5);
  const double cfg_per_s = reps * static_cast<double>(all32.size(0)) / seconds_since(t0);
  const int64_t n = 512;
  Tensor a = Tensor::full({n, n}, 0.5, DType::f32, dev), bm = a.clone(), cm = a.clone();
  ops::gemm(a, bm, cm);
  t0 = std::chrono::steady_clock::now();
  reps = 0;
  do {
    ops::gemm(a, bm, cm);
    cm.narrow(0, 1).to(Device::cpu());
    ++reps;
  } while (seconds_since(t0) < 0.5);
  const double gflops = 2.0 * n * n * n * reps / seconds_since(t0) / 1e9;
  std::printf("  forward (float32): %.3g configurations/s;  sgemm %lldx%lldx%lld: %.1f GFLOP/s\n",
              cfg_per_s, static_cast<long long>(n), static_cast<long long>(n),
              static_cast<long long>(n), gflops);

  const bool ok = std::abs(1 - norm) < 1e-12 && worst <= 1.0;
  std::printf("  %s\n", ok ? "OK: normalised to 1e-12 and gradients agree within tolerance"
                           : "FAILED: normalisation or gradient check out of tolerance");
  if (!out.empty()) {
    H5File f = H5File::create_exclusive(out);
    write_provenance(f, ctx.command_line, ctx.config_text, dev.str(),
                     {{"seed", static_cast<int64_t>(seed)}});
    f.write_dataset("/results/norm", std::vector<double>{norm}, {});
    f.write_dataset("/results/grad_worst_rel_err", std::vector<double>{worst}, {});
    f.write_dataset("/results/forward_configs_per_s", std::vector<double>{cfg_per_s}, {});
    f.write_dataset("/results/sgemm_gflops", std::vector<double>{gflops}, {});
    finish_provenance(f);
    f.close();
    std::printf("  wrote %s\n", out.c_str());
  }
  return ok ? 0 : 1;
}

}  // namespace

NAQS_COMMAND("demo", "runtime demo: causal conv net, exact normalisation, gradient check, throughput",
             demo_options, demo_run);
