// naqs align: representation alignment of two feature files (naqs features) by the metrics of
// ml/align/align.hpp, over every layer pair, with a permutation null and heat maps.
//
//   naqs align A.h5 B.h5 --metric mutual_knn|cycle_knn|lcs_knn|edit_distance_knn|cka|
//                                 unbiased_cka|cknna|all
//              [--k 10] [--null 200] [--quantile 0.95] [--seed 1] --out align.h5 [--no-png]
//
// Output layout (h5py: f["alignment/mutual_knn"][:]):
//   /alignment/<metric>  (L_A, L_B) float64, entry (i, j) = score(A layer i, B layer j);
//                        attributes best, best_layer_a, best_layer_b (the maximum, ties to the
//                        lower layer of A, then of B; NaN entries skipped), best_layer_a_name,
//                        best_layer_b_name, n, k, chance (k/(N-1) for mutual_knn; NaN where there
//                        is no closed form: compare with the null), quantile
//   /null/<metric>       (n_null) float64: the score of the best pair with B's rows permuted
//                        (Philox Fisher-Yates, seed, stream = permutation index); attributes
//                        mean, std (sample, n-1), layer_a, layer_b, seed
//   attributes on "/":   file_a, file_b, model_a, model_b, layer_names_a, layer_names_b, n, k,
//                        quantile, n_null, seed, metrics, provenance
//   <out stem>_<metric>.png next to the file: the layer-pair matrix as a heat map (matplotlib,
//                        Debian's python3-matplotlib; --no-png skips it)
// Bad input (one line, exit 2, nothing written): files with different N or different /ids;
// k < 1 or k >= N; NaN or Inf in a feature row (names the dataset and row); a quantile outside
// (0, 1]; a file without /features; an unknown metric (lists the allowed ones); an existing
// output (the .h5 or a .png). The .h5 is written through a temp file and a rename, then the PNGs.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "host/cli/command.hpp"
#include "host/cli/number.hpp"
#include "host/core/device.hpp"
#include "host/core/error.hpp"
#include "host/core/process.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"
#include "ml/align/align.hpp"
#include "workflow/report.hpp"

namespace {

using namespace naqs;
using namespace naqs::ml::align;
namespace fs = std::filesystem;

const char* kHeatmapScript = R"py(
import sys
import h5py
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
path, metric, png = sys.argv[1], sys.argv[2], sys.argv[3]
with h5py.File(path, "r") as f:
    d = f["alignment/" + metric]
    s = d[...]
    at = dict(d.attrs)
    names_a = str(f.attrs["layer_names_a"]).split(",")
    names_b = str(f.attrs["layer_names_b"]).split(",")
    nul = f["null/" + metric].attrs
    null_mean, null_std = float(nul["mean"]), float(nul["std"])
import os
fig, ax = plt.subplots(figsize=(max(5.0, 2.0 + 0.9 * s.shape[1]), max(3.5, 1.6 + 0.5 * s.shape[0])))
im = ax.imshow(s, cmap="viridis", aspect="auto")
for i in range(s.shape[0]):
    for j in range(s.shape[1]):
        ax.text(j, i, "%.3f" % s[i, j], ha="center", va="center", color="w", fontsize=7)
ax.set_xticks(range(s.shape[1]), names_b, rotation=45, ha="right", fontsize=7)
ax.set_yticks(range(s.shape[0]), names_a, fontsize=7)
ax.set_xlabel("B: " + os.path.basename(sys.argv[5]), fontsize=8)
ax.set_ylabel("A: " + os.path.basename(sys.argv[4]), fontsize=8)
ax.set_title("%s, N = %d, k = %d: best %.3f (chance %.3g)\nnull %.3g +- %.2g" % (
    metric, at["n"], at["k"], at["best"], at["chance"], null_mean, null_std), fontsize=8)
fig.colorbar(im, ax=ax)
fig.tight_layout()
fig.savefig(png, dpi=120, format="png")  # png: a temp name
)py";

void align_options(po::options_description& d) {
  d.add_options()
      ("files", po::value<std::vector<std::string>>(), "the two feature files A.h5 B.h5")
      ("metric", po::value<std::string>()->default_value("mutual_knn"),
       "mutual_knn | cycle_knn | lcs_knn | edit_distance_knn | cka | unbiased_cka | cknna | all")
      ("k", cli::number<int64_t>(cli::Range<int64_t>{1, 1 << 20})->default_value(10),
       "neighbours per input (also k < N)")
      ("null", cli::number<int64_t>(cli::Range<int64_t>{0, 1 << 20})->default_value(200),
       "permutations of B's rows")
      ("quantile", cli::number<double>(cli::Range<double>{0.0, 1.0, true})->default_value(0.95),
       "outlier clamp: each feature to this quantile of |x| (1 = none)")
      ("seed", cli::number<uint64_t>(cli::kSeedRange)->default_value(1),
       "Philox seed of the permutations")
      ("out,o", po::value<std::string>(), "HDF5 output file (never overwritten)")
      ("no-png", po::bool_switch(), "skip the heat maps")
      ("device", po::value<std::string>()->default_value("auto"), "auto | cpu | cuda | cuda:N");
}

struct FeatureFile {
  std::string path, model;
  std::vector<std::string> names;
  std::vector<Tensor> layers;  // raw (N, D_i) f32
  std::vector<int64_t> ids;
};

FeatureFile read_features(const std::string& path) {
  NAQS_REQUIRE(fs::exists(path), "'", path, "' does not exist");
  FeatureFile ff;
  ff.path = path;
  try {
    H5File f = H5File::open_read(path);
    NAQS_REQUIRE(f.exists("/features") && f.exists("/features/layer_0"), "'", path,
                 "' has no /features/layer_0 (write feature files with naqs features)");
    NAQS_REQUIRE(f.exists("/ids"), "'", path, "' has no /ids");
    ff.ids = f.read_int64s("/ids");
    if (f.has_attr("/", "model")) ff.model = std::get<std::string>(f.get_attr("/", "model"));
    for (int64_t l = 0; f.exists(cat("/features/layer_", l)); ++l) {
      const std::string ds = cat("/features/layer_", l);
      const std::vector<int64_t> dims = f.dims(ds);
      NAQS_REQUIRE(dims.size() == 2, "'", path, "':", ds, " is not (N, D)");
      ff.layers.push_back(Tensor::from_vector(f.read_floats(ds), {dims[0], dims[1]}));
      ff.names.push_back(f.has_attr(ds, "name") ? std::get<std::string>(f.get_attr(ds, "name"))
                                                : cat("layer_", l));
      NAQS_REQUIRE(dims[0] == static_cast<int64_t>(ff.ids.size()), "'", path, "':", ds, " has ",
                   dims[0], " rows and /ids ", ff.ids.size());
    }
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(cat("'", path, "' cannot be read as a feature file: ", e.what()));
  }
  return ff;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

int align_run(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  // ---- validate everything first ----
  const auto files = value_or<std::vector<std::string>>(vm, "files", {});
  NAQS_REQUIRE(files.size() == 2, "naqs align takes two feature files (A.h5 B.h5), got ",
               files.size());
  const std::vector<Metric> metrics = parse_metrics(vm["metric"].as<std::string>());
  const int64_t k = vm["k"].as<int64_t>(), n_null = vm["null"].as<int64_t>();
  const double quantile = vm["quantile"].as<double>();
  const uint64_t seed = vm["seed"].as<uint64_t>();
  NAQS_REQUIRE(vm.count("out"), "naqs align needs --out (the HDF5 file to write)");
  const std::string out = vm["out"].as<std::string>();
  NAQS_REQUIRE(!out.empty(), "--out is empty");
  const bool png = !vm["no-png"].as<bool>();
  std::vector<std::string> outputs{out};
  const fs::path stem = fs::path(out).parent_path() / fs::path(out).stem();
  if (png)
    for (Metric m : metrics) outputs.push_back(stem.string() + "_" + metric_name(m) + ".png");
  check_output_path("--out", out, /*must_not_exist=*/false);  // a writable directory
  for (const std::string& o : outputs)
    NAQS_REQUIRE(!path_present(o), "output file '", o, "' already exists; naqs never overwrites "
                 "results (choose another --out or move the old file away)");
  const Device device = resolve_device(vm["device"].as<std::string>());
  const FeatureFile fa = read_features(files[0]), fb = read_features(files[1]);
  const int64_t n = static_cast<int64_t>(fa.ids.size());
  NAQS_REQUIRE(fb.ids.size() == fa.ids.size(), "'", fa.path, "' has N = ", fa.ids.size(),
               " inputs and '", fb.path, "' N = ", fb.ids.size(), ": align needs the same inputs");
  for (int64_t i = 0; i < n; ++i)
    NAQS_REQUIRE(fa.ids[i] == fb.ids[i], "'", fa.path, "' and '", fb.path, "' differ in /ids at "
                 "row ", i, " (", fa.ids[i], " vs ", fb.ids[i], "): align needs the same inputs "
                 "in the same order");
  check_k(n, k);
  for (const FeatureFile* ff : {&fa, &fb})
    for (std::size_t l = 0; l < ff->layers.size(); ++l)
      check_finite(ff->layers[l], cat(ff->path, ":/features/layer_", l));
  const std::string python = png ? workflow::plot_python("naqs align's heat maps") : "";

  // ---- score ----
  bool knn = false;
  for (Metric m : metrics) knn = knn || needs_neighbours(m);
  auto layers_of = [&](const FeatureFile& ff) {
    std::vector<Layer> ls;
    for (const Tensor& x : ff.layers) ls.push_back(make_layer(preprocess(x, quantile, device),
                                                              knn ? k : 0));
    return ls;
  };
  const std::vector<Layer> la = layers_of(fa), lb = layers_of(fb);
  std::printf("# naqs align: N = %lld inputs, k = %lld, %zu x %zu layers, quantile %g, "
              "%lld permutations\n", static_cast<long long>(n), static_cast<long long>(k),
              la.size(), lb.size(), quantile, static_cast<long long>(n_null));
  std::printf("# %-18s %10s %8s %8s %10s %10s %10s\n", "metric", "best", "layer_a", "layer_b",
              "chance", "null_mean", "null_std");
  std::vector<PairMatrix> mats;
  std::vector<std::vector<double>> nulls;
  for (Metric m : metrics) {
    mats.push_back(score_matrix(m, la, lb));
    nulls.emplace_back();
  }
  for (int64_t p = 0; p < n_null; ++p) {
    const std::vector<int64_t> perm = permutation(n, seed, static_cast<uint64_t>(p));
    std::vector<Layer> cache(lb.size());  // permuted B layers, made when first needed
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      const PairMatrix& pm = mats[i];
      if (pm.best_a < 0) continue;
      Layer& pb = cache[pm.best_b];
      if (!pb.x.defined()) pb = permuted(lb[pm.best_b], perm);
      nulls[i].push_back(score(metrics[i], la[pm.best_a], pb));
    }
  }
  auto mean_std = [](const std::vector<double>& v) {
    double m = 0, s = 0;
    for (double x : v) m += x;
    m = v.empty() ? std::nan("") : m / double(v.size());
    for (double x : v) s += (x - m) * (x - m);
    return std::pair{m, v.size() > 1 ? std::sqrt(s / double(v.size() - 1)) : std::nan("")};
  };
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    const auto [m, s] = mean_std(nulls[i]);
    std::printf("  %-18s %10.6f %8lld %8lld %10.6f %10.6f %10.6f\n",
                metric_name(metrics[i]).c_str(), mats[i].best,
                static_cast<long long>(mats[i].best_a), static_cast<long long>(mats[i].best_b),
                chance(metrics[i], n, k), m, s);
  }

  // ---- write ----
  // Published whole and never over an existing file.
  write_new_atomically(out, [&](H5File& f) {
    write_provenance(f, ctx.command_line, ctx.config_text, device.str(), {});
    f.set_attr("/", "file_a", fa.path);
    f.set_attr("/", "file_b", fb.path);
    f.set_attr("/", "model_a", fa.model);
    f.set_attr("/", "model_b", fb.model);
    f.set_attr("/", "layer_names_a", joined(fa.names));
    f.set_attr("/", "layer_names_b", joined(fb.names));
    f.set_attr("/", "n", n);
    f.set_attr("/", "k", k);
    f.set_attr("/", "quantile", quantile);
    f.set_attr("/", "n_null", n_null);
    f.set_attr("/", "seed", static_cast<int64_t>(seed));
    std::vector<std::string> names;
    for (Metric m : metrics) names.push_back(metric_name(m));
    f.set_attr("/", "metrics", joined(names));
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      const PairMatrix& pm = mats[i];
      const std::string ds = "/alignment/" + metric_name(metrics[i]);
      f.write_dataset(ds, pm.s, {pm.la, pm.lb});
      f.set_attr(ds, "best", pm.best);
      f.set_attr(ds, "best_layer_a", pm.best_a);
      f.set_attr(ds, "best_layer_b", pm.best_b);
      f.set_attr(ds, "best_layer_a_name", pm.best_a >= 0 ? fa.names[pm.best_a] : "");
      f.set_attr(ds, "best_layer_b_name", pm.best_b >= 0 ? fb.names[pm.best_b] : "");
      f.set_attr(ds, "n", n);
      f.set_attr(ds, "k", k);
      f.set_attr(ds, "chance", chance(metrics[i], n, k));
      f.set_attr(ds, "quantile", quantile);
      f.set_attr(ds, "tie_rule", std::string("best = maximum over layer pairs, NaN skipped; ties "
                                             "to the lower layer of A, then of B"));
      const std::string nd = "/null/" + metric_name(metrics[i]);
      const auto [m, s] = mean_std(nulls[i]);
      f.write_dataset(nd, nulls[i], {static_cast<int64_t>(nulls[i].size())});
      f.set_attr(nd, "mean", m);
      f.set_attr(nd, "std", s);
      f.set_attr(nd, "layer_a", pm.best_a);
      f.set_attr(nd, "layer_b", pm.best_b);
      f.set_attr(nd, "seed", static_cast<int64_t>(seed));
      f.set_attr(nd, "method", std::string("B's rows permuted (Philox Fisher-Yates, stream = "
                                           "permutation index), score of the best layer pair"));
    }
    finish_provenance(f);
  });
  std::printf("# wrote %s\n", out.c_str());
  if (png) {
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      const std::string file = outputs[i + 1];
      write_by_command(
          {python, "-c", kHeatmapScript, out, metric_name(metrics[i]), kTargetArg, fa.path, fb.path},
          file, cat("heat-map script for ", metric_name(metrics[i])));
      std::printf("# wrote %s\n", file.c_str());
    }
  }
  return 0;
}

}  // namespace

NAQS_COMMAND("align", "representation alignment of two feature files (naqs features)",
             align_options, align_run, "files", false, 2);
