// The byte-level transformer (ml/transformer/model.hpp): training throughput and cached vs
// uncached generation, measured in the same run. Prints a table and one CSV line per row with
// the commit, device, OpenMP threads and the 1-minute load average; never asserts timings.
//   train     tokens/s of forward_train + cross entropy + backward (the optimiser step, a few
//             elementwise passes over P, is left out), batch 16 x context 128 by default
//   cached    generation tokens/s with the KV cache: prefill 1 token, then one token per step to
//             position T-1 (T = 256), all B sequences at once (B = 1 and 64)
//   uncached  the same tokens by a full forward over the whole text so far per new token
//             (the first --uncached-tokens positions only: O(T^2) in all)
//   --attention  instead of the above: ops::attention_forward alone at the training shape
//             (B 16, T 128, the variant's heads), with saved probabilities (training) and without
//             (inference), in GFLOP/s counting the causal half of Q K^T and P V
//             (2 * 2 * B * Hq * Dh * T(T+1)/2 flops), beside ops::matmul on the same two batched
//             products at full T x T (4 * B * Hq * T^2 * Dh flops): how close the attention op
//             comes to the batched GEMM it is built around. CSV lines start with csv_attn.
// The model: the default of `naqs lm train` (d_model 128, 4 layers, 4 heads, Dh 32, MHA) or a
// variant (--variant, as naqs lm sweep names them). The PyTorch peer of the benchmark
// table is run separately (bench/ and docs/ML.md).
// Usage: bench_lm [--variant mha] [--dtype f32|f64] [--device cpu|cuda] [--steps 3]
//                 [--uncached-tokens 32] [--attention]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "bench/bench_common.hpp"
#include "host/core/build_info.hpp"
#include "host/core/device.hpp"
#include "host/core/tensor.hpp"
#include "host/ops/attention.hpp"
#include "host/ops/gemm.hpp"
#include "host/ops/random.hpp"
#include "host/ops/token_sample.hpp"
#include "ml/transformer/model.hpp"

using namespace naqs;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

ml::TransformerConfig variant(const std::string& name, ml::TransformerConfig c) {
  // the subset of ml/transformer/sweep.hpp's grammar this program needs without host/io
  c.kv_share = 1;
  std::string rest = name;
  auto take = [&](const char* prefix, int64_t& out) {
    const size_t at = rest.find(prefix);
    if (at == std::string::npos) return;
    out = std::atoll(rest.c_str() + at + std::strlen(prefix));
  };
  int64_t dh = c.head_dim, share = 1, groups = 0;
  take("-dh", dh);
  take("-cla", share);
  if (rest.rfind("mqa", 0) == 0) groups = 1;
  if (rest.rfind("gqa", 0) == 0) groups = std::atoll(rest.c_str() + 3);
  c.head_dim = dh;
  c.heads = c.d_model / dh;
  c.kv_heads = groups == 0 ? c.heads : groups;
  c.kv_share = share;
  c.validate();
  return c;
}

void sync(Device d) {
  synchronize(d);
}

// Best of `reps` timed calls of f (after one warm-up call), in seconds.
template <class F>
double best_time(Device dev, int64_t reps, F&& f) {
  f();
  sync(dev);
  double best = 1e300;
  for (int64_t r = 0; r < reps; ++r) {
    const double t0 = now_s();
    f();
    sync(dev);
    best = std::min(best, now_s() - t0);
  }
  return best;
}

int attention_bench(const ml::TransformerConfig& c, DType dt, Device dev, int64_t steps) {
  const int64_t b = 16, t = 128, hq = c.heads, hkv = c.kv_heads, dh = c.head_dim;
  auto normal = [&](const Shape& shape, uint64_t seed) {
    Tensor x = Tensor::empty(shape, dt, dev);
    ops::fill_normal(x, seed, 0, 0);
    return x;
  };
  const Tensor q = normal({b, t, hq, dh}, 1), k = normal({b, t, hkv, dh}, 2),
               v = normal({b, t, hkv, dh}, 3);
  Tensor out = Tensor::empty({b, t, hq, dh}, dt, dev);
  Tensor probs = Tensor::empty({b, hq, t, t}, dt, dev), none;
  const double scale = 1.0 / std::sqrt(double(dh));
  const int64_t reps = std::max<int64_t>(steps, 5);
  const double causal_flops = 4.0 * b * hq * dh * (t * (t + 1) / 2.0);
  const double t_train =
      best_time(dev, reps, [&] { ops::attention_forward(q, k, v, 0, scale, out, probs); });
  const double t_infer =
      best_time(dev, reps, [&] { ops::attention_forward(q, k, v, 0, scale, out, none); });
  // the same two products as batched GEMMs, (B*Hq) x (T x Dh)(Dh x T) then (T x T)(T x Dh)
  const Tensor qh = normal({b * hq, t, dh}, 4), kt = normal({b * hq, dh, t}, 5),
               vh = normal({b * hq, t, dh}, 6);
  Tensor s = Tensor::empty({b * hq, t, t}, dt, dev), o = Tensor::empty({b * hq, t, dh}, dt, dev);
  const double t_gemm = best_time(dev, reps, [&] {
    ops::matmul(qh, kt, s);
    ops::matmul(s, vh, o);
  });
  const double gemm_flops = 4.0 * b * hq * t * t * dh;
  const double load = bench::load_average();
  std::printf("%-34s %10s %10s\n", "attention forward (B 16, T 128)", "GFLOP/s", "seconds");
  std::printf("%-34s %10.2f %10.5f\n", "training (probs saved)", causal_flops / t_train * 1e-9,
              t_train);
  std::printf("%-34s %10.2f %10.5f\n", "inference (fixed-order rows)",
              causal_flops / t_infer * 1e-9, t_infer);
  std::printf("%-34s %10.2f %10.5f\n", "batched GEMM, QK^T + PV (full T^2)",
              gemm_flops / t_gemm * 1e-9, t_gemm);
  for (auto [what, fl, sec] : {std::tuple{"train", causal_flops, t_train},
                               std::tuple{"infer", causal_flops, t_infer},
                               std::tuple{"gemm", gemm_flops, t_gemm}})
    std::printf("csv_attn,bench_lm,%s,%s,%s,%d,%s,%lld,%lld,%lld,%lld,%.3f,%.6f,%.2f\n",
                git_commit(), device_name(dev).c_str(), dt == DType::f64 ? "f64" : "f32",
                omp_get_max_threads(), what, static_cast<long long>(b),
                static_cast<long long>(t), static_cast<long long>(hq),
                static_cast<long long>(dh), fl / sec * 1e-9, sec, load);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = "mha", dtype_s = "f32", device_s = "cpu";
  int64_t steps = 3, uncached_tokens = 32;
  bool attention_only = false;
  for (int i = 1; i < argc; i += 2) {
    if (std::strcmp(argv[i], "--attention") == 0) {
      attention_only = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "bench_lm: option %s needs a value\n", argv[i]);
      return 2;
    }
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--variant") name = v;
    else if (k == "--dtype") dtype_s = v;
    else if (k == "--device") device_s = v;
    else if (k == "--steps") steps = std::atoll(v.c_str());
    else if (k == "--uncached-tokens") uncached_tokens = std::atoll(v.c_str());
    else {
      std::fprintf(stderr, "bench_lm: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  const DType dt = dtype_s == "f64" ? DType::f64 : DType::f32;
  const Device dev = resolve_device(device_s);
  ml::TransformerConfig base;
  base.context = 256;
  const ml::TransformerConfig c = variant(name, base);
  ml::Transformer m(c, dt, dev);
  m.init(1);
  std::printf("bench_lm: commit %s, %s, %d threads, %s %s: %s, %lld parameters, %lld KV "
              "bytes/token\n",
              git_commit(), device_name(dev).c_str(), omp_get_max_threads(), name.c_str(),
              dtype_s.c_str(), c.str().c_str(), static_cast<long long>(m.params().size()),
              static_cast<long long>(c.kv_bytes_per_token(dt == DType::f64 ? 8 : 4)));
  if (attention_only) return attention_bench(c, dt, dev, steps);
  std::printf("%-10s %6s %6s %14s %10s %6s\n", "what", "batch", "T", "tokens/s", "seconds",
              "load");
  std::vector<std::string> csv;
  auto report = [&](const char* what, int64_t b, int64_t t, double tokens, double secs) {
    const double load = bench::load_average();
    std::printf("%-10s %6lld %6lld %14.0f %10.3f %6.2f\n", what, static_cast<long long>(b),
                static_cast<long long>(t), tokens / secs, secs, load);
    char line[512];
    std::snprintf(line, sizeof line, "csv,bench_lm,%s,%s,%s,%s,%d,%s,%lld,%lld,%.1f,%.4f,%.2f",
                  git_commit(), device_name(dev).c_str(), name.c_str(), dtype_s.c_str(),
                  omp_get_max_threads(), what, static_cast<long long>(b),
                  static_cast<long long>(t), tokens / secs, secs, load);
    csv.push_back(line);
  };

  // training: forward + loss + backward
  {
    const int64_t b = 16, t = 128;
    std::vector<int32_t> ids(b * t), tg(b * t);
    for (int64_t i = 0; i < b * t; ++i) {
      ids[i] = static_cast<int32_t>((i * 131 + 7) % 256);
      tg[i] = static_cast<int32_t>((i * 17 + 3) % 256);
    }
    const Tensor tokens = Tensor::from_vector(ids, {b, t}).to(dev);
    const Tensor targets = Tensor::from_vector(tg, {b * t});
    ml::TrainState st;
    ParameterSet grads = m.params().like(dt, dev);
    Tensor dlogits = Tensor::empty({b * t, ml::kByteVocab}, dt, dev);
    auto step = [&] {
      m.forward_train(tokens, st);
      ml::cross_entropy(st.logits.reshape({b * t, ml::kByteVocab}), targets, dlogits);
      m.backward(st, dlogits.reshape({b, t, ml::kByteVocab}), grads);
    };
    report("train", b, t, double(b * t), best_time(dev, steps, step));
  }

  // generation, cached and uncached
  for (int64_t b : {1, 64}) {
    const int64_t t = c.context;
    std::vector<int32_t> first(b, 'a');
    ops::TokenSampleSpec spec;
    spec.seed = 1;
    spec.temperature = 1.0;
    Tensor next = Tensor::zeros({b}, DType::i32, dev);
    {
      ml::KvCache cache(c, b, t, dt, dev);
      Tensor tok = Tensor::from_vector(first, {b, 1}).to(dev);
      Tensor logits = Tensor::empty({b, 1, ml::kByteVocab}, dt, dev);
      const double t0 = now_s();
      for (int64_t pos = 0; pos < t; ++pos) {
        m.infer(tok, pos, cache, logits);
        spec.position = pos + 1;
        ops::sample_tokens(logits.reshape({b, ml::kByteVocab}), spec, next);
        tok = next.reshape({b, 1});
      }
      sync(dev);
      report("cached", b, t, double(b * t), now_s() - t0);
    }
    {
      const int64_t n = std::min(uncached_tokens, t);
      std::vector<int32_t> seq(static_cast<size_t>(b * n), 'a');
      const double t0 = now_s();
      for (int64_t len = 1; len <= n; ++len) {
        ml::KvCache fresh(c, b, len, dt, dev);
        std::vector<int32_t> prefix;
        for (int64_t i = 0; i < b; ++i)
          prefix.insert(prefix.end(), seq.begin() + i * n, seq.begin() + i * n + len);
        const Tensor in = Tensor::from_vector(prefix, {b, len}).to(dev);
        Tensor logits = Tensor::empty({b, len, ml::kByteVocab}, dt, dev);
        m.infer(in, 0, fresh, logits);
        spec.position = len;
        Tensor last = logits.narrow(1, len - 1, 1).contiguous().reshape({b, ml::kByteVocab});
        ops::sample_tokens(last, spec, next);
        const std::vector<int32_t> nv = next.to_vector<int32_t>();
        if (len < n)
          for (int64_t i = 0; i < b; ++i) seq[i * n + len] = nv[i];
      }
      sync(dev);
      report("uncached", b, n, double(b * n), now_s() - t0);
    }
  }
  for (const std::string& l : csv) std::printf("%s\n", l.c_str());
  return 0;
}
