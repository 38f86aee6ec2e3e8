// The fuzz tier (issue 21, ctest label `fuzz`): generated bad command lines, INI files and
// corrupted HDF5 files (truncated, random bytes, foreign files, swapped or reshaped datasets,
// another run's identity) fed to every command. Each case must end with exit status 1 or 2,
// exactly one line on stderr without a source location, stack trace or Python traceback, no
// file in its directory changed (hashes before/after) and no file added (no temp file left).
// Commands: vmc, ed (and ed --sample), sweep, breakdown, demo, collect, report, info, lm train |
// eval | sample | sweep | report, features (--checkpoint and --model), align.
// 240 cases from a fixed seed (NAQS_FUZZ_SEED overrides, NAQS_FUZZ_CASES the count); ~20-60 s.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "host/io/hdf5.hpp"
#include "tests/support/cli_run.hpp"

namespace naqs {
namespace {

namespace fs = std::filesystem;
using Args = std::vector<std::string>;

// Values that no numeric option accepts.
// Bad for every numeric option, integer or real: the huge integers overflow int64, uint64 and
// double alike (a 20-digit integer is a fine double for a real option; the exact integer limits
// are tested in tests/unit/test_number.cpp).
const std::vector<std::string> kBadNumbers = {
    "abc", "nan", "inf", "-inf", "1e999", "1" + std::string(400, '0'), "0x10", "1.5.5", "3 ",
    " 3", "", "+-1", "1;2", "1e", "--", "\x01\x02", "1,,2", "NaN", "Infinity",
    "-1" + std::string(400, '0')};

struct CommandSpec {
  std::string name;
  Args base;                          // a cheap valid invocation (outputs inside the case dir)
  std::vector<std::string> numeric;   // numeric options
};

// A tiny naqs lm model on the synthetic corpus (seconds), plus `extra` (action first).
Args lm_args(const Args& extra) {
  Args a = {"lm"};
  a.insert(a.end(), extra.begin(), extra.end());
  a.insert(a.end(), {"--corpus", "synthetic:4", "--d-model", "16", "--layers", "2", "--heads",
                     "2", "--kv-heads", "1", "--head-dim", "8", "--kv-share", "2", "--context",
                     "16", "--batch", "4", "--steps", "2", "--warmup", "1", "--eval-windows",
                     "4", "--sample-tokens", "0", "--quiet"});
  return a;
}

std::vector<CommandSpec> commands() {
  return {
      {"vmc",
       {"vmc", "--L", "4", "--width", "2", "--depth", "1", "--steps", "2", "--batch", "16",
        "--obs-samples", "16", "--ed-max-sites", "0", "--quiet", "-o", "out.h5"},
       {"L", "Ly", "width", "depth", "kernel", "steps", "minibatch", "lr", "seed", "mc-chains",
        "obs-samples", "memory-cap-mb", "diag-shift", "J", "h", "beta1", "cg-iters",
        "checkpoint-every", "observe-every", "ed-max-sites", "init-scale", "alpha", "delta",
        "weight-decay", "grad-clip"}},
      {"ed", {"ed", "--L", "4", "--out", "ed_out.h5"}, {"L", "J", "hz", "delta", "tol", "max-iterations"}},
      {"sweep",
       {"sweep", "--methods", "ed", "--L", "4", "--h", "0.5,1", "--out", "sw_new", "--no-report",
        "--quiet"},
       {"L", "steps", "warm-steps", "seed", "width", "mc-chains"}},
      {"breakdown", {"breakdown", "--L", "4", "--quiet", "--out", "bd"},
       {"L", "chains", "samples", "seed", "naqs-width", "rbm-alpha", "global-flip"}},
      {"demo", {"demo", "--sites", "4", "--device", "cpu", "--out", "demo.h5"},
       {"sites", "width", "seed"}},
      {"collect", {"collect", "sweep"}, {}},
      {"report", {"report", "sweep/collected.h5", "--out", "rep"}, {}},
      {"info", {"info"}, {}},
      {"lm train",
       lm_args({"train", "-o", "lm_out.h5"}),
       {"d-model", "layers", "heads", "kv-heads", "head-dim", "kv-share", "context",
        "ffn-hidden", "batch", "steps", "lr", "warmup", "final-lr-fraction", "weight-decay",
        "clip", "seed", "eval-windows", "checkpoint-every", "sample-tokens"}},
      {"lm eval", lm_args({"eval", "--model", "lm.h5", "-o", "lm_eval.h5"}),
       {"eval-windows", "batch", "seed"}},
      {"lm sample", {"lm", "sample", "--model", "lm.h5", "--tokens", "4", "-o", "lm_s.h5"},
       {"tokens", "temperature", "seed"}},
      {"lm sweep", lm_args({"sweep", "--dir", "lm_sweep", "--variants", "mha", "--seeds", "1"}),
       {"seeds", "task", "steps", "lr"}},
      {"lm report", {"lm", "report", "lm_sweep_done"}, {}},
      {"features",
       {"features", "--checkpoint", "run.h5.ckpt", "--inputs", "ed_sample.h5", "--out",
        "feat_out.h5"},
       {"batch"}},
      {"features --model",
       {"features", "--model", "lm.h5", "--windows", "8", "--out", "feat_lm_out.h5"},
       {"batch", "windows", "context", "seed"}},
      {"align", {"align", "feat_a.h5", "feat_b.h5", "--out", "align_out.h5", "--no-png"},
       {"k", "null", "quantile", "seed"}},
      {"ed --sample", {"ed", "--L", "4", "--sample", "32", "--out", "eds_out.h5"},
       {"sample", "seed"}},
      {"diffusion toy",
       {"diffusion", "toy", "--train-steps", "3", "--batch", "8", "--hidden", "4", "--depth",
        "1", "--samples", "10", "--sampler-steps", "1,2", "--no-png", "-o", "dt_out.h5"},
       {"train-steps", "batch", "hidden", "depth", "lr", "seed", "samples", "modes", "radius",
        "mode-std", "sigma-min", "sigma-max", "rho", "p-mean", "p-std"}},
      {"diffusion data",
       {"diffusion", "data", "--episodes", "4", "--episode-steps", "6", "--size", "16",
        "--test-episodes", "1", "-o", "dd_out.h5"},
       {"episodes", "episode-steps", "size", "test-episodes", "epsilon", "seed"}},
      {"diffusion train",
       {"diffusion", "train", "--data", "ball.h5", "--context", "2", "--channels", "4,8",
        "--groups", "2", "--cond-dim", "4", "--action-dim", "2", "--batch", "2", "--train-steps",
        "2", "-o", "dtr_out.h5"},
       {"context", "groups", "cond-dim", "action-dim", "batch", "train-steps", "lr", "seed",
        "weight-decay", "checkpoint-every"}},
      {"diffusion rollout",
       {"diffusion", "rollout", "--data", "ball.h5", "--checkpoint", "world.h5", "--horizon", "2",
        "--steps", "1", "--no-png", "-o", "dro_out.h5"},
       {"horizon", "steps", "episodes", "seed"}},
  };
}

// Commands whose options an INI file may set (the others take none or are listed above).
bool takes_ini(const CommandSpec& c) { return !c.numeric.empty(); }

class Fuzz : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (testing::naqs_exe().empty()) return;
    root_ = fs::temp_directory_path() / ("naqs_fuzz_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "fixtures");
    fs::create_directories(root_ / "logs");
    const std::string fx = (root_ / "fixtures").string();
    auto must = [&](const Args& a) {
      const testing::ExeRun r = testing::run_naqs_args(a, (root_ / "logs").string(), fx);
      if (r.rc != 0) std::fprintf(stderr, "fuzz fixture failed: %s\n", r.err.c_str());
    };
    // A finished tiny VMC run (output + checkpoint), another run's checkpoint, an ED result, a
    // collected sweep.
    must({"vmc", "--L", "4", "--width", "2", "--depth", "1", "--steps", "2", "--batch", "16",
          "--obs-samples", "16", "--ed-max-sites", "0", "--quiet", "-o", "run.h5"});
    must({"vmc", "--L", "4", "--width", "2", "--depth", "1", "--steps", "2", "--batch", "16",
          "--obs-samples", "16", "--ed-max-sites", "0", "--quiet", "-o", "other.h5"});
    must({"ed", "--L", "4", "--out", "ed.h5"});
    must({"sweep", "--methods", "ed", "--L", "4", "--h", "0.5,1", "--out", "sweep", "--quiet"});
    // A finished naqs lm run and another one, a finished lm sweep (its report never
    // overwritten), ed --sample configurations, the features of two checkpoints.
    must(lm_args({"train", "-o", "lm.h5"}));
    must(lm_args({"train", "-o", "lm_other.h5"}));
    must(lm_args({"sweep", "--dir", "lm_sweep_done", "--variants", "mha", "--seeds", "1"}));
    std::ofstream(root_ / "fixtures/lm_sweep_done/lm_report.md") << "an earlier report\n";
    must({"ed", "--L", "4", "--sample", "64", "--out", "ed_sample.h5"});
    must({"features", "--checkpoint", "run.h5.ckpt", "--inputs", "ed_sample.h5", "--out",
          "feat_a.h5"});
    must({"features", "--checkpoint", "other.h5.ckpt", "--inputs", "ed_sample.h5", "--out",
          "feat_b.h5"});
    // A tiny episodes file and a world model trained on it.
    must({"diffusion", "data", "--episodes", "4", "--episode-steps", "6", "--size", "16",
          "--test-episodes", "1", "-o", "ball.h5"});
    must({"diffusion", "train", "--data", "ball.h5", "--context", "2", "--channels", "4,8",
          "--groups", "2", "--cond-dim", "4", "--action-dim", "2", "--batch", "2",
          "--train-steps", "2", "-o", "world.h5"});
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }
  static fs::path root_;
};
fs::path Fuzz::root_;

std::string pick(std::mt19937_64& rng, const std::vector<std::string>& v) {
  return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
}

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

void copy_tree(const fs::path& from, const fs::path& to) {
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
}

// Turns `file` (an HDF5 file in the case dir) into a bad one; returns what was done.
std::string corrupt(std::mt19937_64& rng, const fs::path& file, const fs::path& fixtures) {
  const auto size = fs::file_size(file);
  switch (std::uniform_int_distribution<int>(0, 5)(rng)) {
    case 0: {  // truncated anywhere
      const auto n = std::uniform_int_distribution<uintmax_t>(0, size - 1)(rng);
      fs::resize_file(file, n);
      return "truncated to " + std::to_string(n);
    }
    case 1:  // random bytes
      std::ofstream(file, std::ios::binary | std::ios::trunc) << random_bytes(rng, size);
      return "random bytes";
    case 2: {  // the HDF5 signature destroyed
      std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
      f.seekp(0);
      f << random_bytes(rng, 8);
      return "signature overwritten";
    }
    case 3: {  // a foreign file: another kind of naqs result in its place
      const std::string foreign = pick(rng, {"ed.h5", "sweep/collected.h5", "sweep/sweep.h5"});
      if (fs::path(foreign).filename() == file.filename()) {
        fs::resize_file(file, size / 2);
        return "truncated to half";
      }
      fs::copy_file(fixtures / foreign, file, fs::copy_options::overwrite_existing);
      return "replaced by " + foreign;
    }
    case 4: {  // every dataset of the file replaced by one of another shape
      H5File f = H5File::open_rw(file.string());
      int n = 0;
      for (const char* d : {"/params", "/model/params", "/features/layer_0", "/ids",
                            "/samples/sigma", "/samples/ids", "/table/value", "/table/h",
                            "/sweep/h", "/train/step",
                            "/model/parameters", "/ed/energy", "/table/present"})
        if (f.exists(d)) {
          f.write_dataset(d, std::vector<double>{1, 2, 3}, {3});
          ++n;
        }
      for (const char* d : {"/fingerprint_text", "/sweep/fingerprint_text", "/layout",
                            "/model/layout",
                            "/collect/missing", "/sweep/files"})
        if (f.exists(d)) {
          f.write_dataset(d, std::vector<double>{7}, {1});  // a number where text was
          ++n;
        }
      if (n == 0) {
        f.close();
        fs::resize_file(file, size / 3);
        return "truncated to a third";
      }
      return "datasets reshaped";
    }
    default: {  // the identity of another run
      H5File f = H5File::open_rw(file.string());
      if (f.has_attr("/", "run_id")) {
        f.set_attr("/", "run_id", std::string("0123456789abcdef0123456789abcdef"));
        return "another run id";
      }
      f.close();
      std::ofstream(file, std::ios::binary | std::ios::trunc) << "";
      return "emptied";
    }
  }
}

struct Case {
  std::string what;
  Args args;
};

// corrupt(), but never only a changed run id: commands that read a file without continuing it
// (eval, sample, features, align) rightly ignore the run identity.
std::string damage(std::mt19937_64& rng, const fs::path& file, const fs::path& fixtures) {
  std::string how;
  do {
    how = corrupt(rng, file, fixtures);
  } while (how == "another run id");
  return how;
}

Case make_case(std::mt19937_64& rng, int index, const fs::path& dir, const fs::path& fixtures) {
  const std::vector<CommandSpec> cmds = commands();
  const int kind = index % 5;
  // the inputs the new commands' base invocations read (never written by them)
  for (const char* f : {"lm.h5", "run.h5.ckpt", "other.h5.ckpt", "ed_sample.h5", "feat_a.h5",
                        "feat_b.h5"})
    if (fs::exists(fixtures / f) && !fs::exists(dir / f)) fs::copy_file(fixtures / f, dir / f);
  if (fs::exists(fixtures / "lm_sweep_done") && !fs::exists(dir / "lm_sweep_done"))
    copy_tree(fixtures / "lm_sweep_done", dir / "lm_sweep_done");
  if (kind <= 1) {  // a bad command line
    const CommandSpec& c = cmds[std::uniform_int_distribution<std::size_t>(0, cmds.size() - 1)(rng)];
    Args a = c.base;
    const int how = std::uniform_int_distribution<int>(0, 4)(rng);
    if (how <= 1 && !c.numeric.empty()) {
      const std::string opt = pick(rng, c.numeric), v = pick(rng, kBadNumbers);
      // replace the value when the option is in the base, else add it
      bool done = false;
      for (std::size_t i = 0; i + 1 < a.size(); ++i)
        if (a[i] == "--" + opt) {
          a[i + 1] = v;
          done = true;
        }
      if (!done) {
        a.push_back("--" + opt);
        a.push_back(v);
      }
      return {c.name + " --" + opt + " '" + v + "'", a};
    }
    if (how == 2) {
      a.push_back("--no-such-option-" + std::to_string(rng() % 1000));
      return {c.name + " unknown option", a};
    }
    if (how == 3 && c.name != "info") {
      const std::string opt = c.numeric.empty() ? "output" : pick(rng, c.numeric);
      a.push_back("--" + opt);  // value missing
      return {c.name + " --" + opt + " without a value", a};
    }
    a.insert(a.begin() + 1, random_bytes(rng, 6));  // a stray bare argument / garbage
    return {c.name + " garbage argument", a};
  }
  if (kind == 2) {  // a bad INI file
    std::vector<CommandSpec> with_ini;
    for (const CommandSpec& x : cmds)
      if (takes_ini(x)) with_ini.push_back(x);
    const CommandSpec& c =
        with_ini[std::uniform_int_distribution<std::size_t>(0, with_ini.size() - 1)(rng)];
    std::string ini;
    const int how = std::uniform_int_distribution<int>(0, 4)(rng);
    std::string v = pick(rng, kBadNumbers);
    // INI values are trimmed: blanks around a number are no error there.
    if (v.find_first_not_of(' ') != std::string::npos) v = v.substr(v.find_first_not_of(' '));
    while (!v.empty() && v.back() == ' ') v.pop_back();
    if (v == "3") v = "3x";
    if (how == 0 && !c.numeric.empty()) ini = pick(rng, c.numeric) + " = " + v + "\n";
    else if (how == 1) ini = "no_such_key = 1\n";
    else if (how == 2) ini = random_bytes(rng, 64);
    else if (how == 3) ini = "[section\nwidth 4\n";
    else ini = "= 5\n";
    std::ofstream(dir / "bad.ini", std::ios::binary) << ini;
    Args a = c.base;
    if (how == 4 && rng() % 2) {
      fs::create_directories(dir / "cfgdir");
      a.insert(a.end(), {"--config", "cfgdir"});
      return {c.name + " --config DIR", a};
    }
    a.insert(a.end(), {"--config", "bad.ini"});
    std::string shown;  // the file in the failure message, control bytes as <decimal>
    for (unsigned char ch : ini)
      shown += ch >= 0x20 && ch < 0x7f ? std::string(1, char(ch))
                                       : "<" + std::to_string(int(ch)) + ">";
    return {c.name + " INI kind " + std::to_string(how) + " '" + shown + "'", a};
  }
  // corrupted HDF5 inputs
  const int target = std::uniform_int_distribution<int>(0, 9)(rng);
  if (target == 5 || target == 6) {  // lm train --resume with a bad checkpoint or output
    for (const char* f : {"lm.h5", "lm.h5.ckpt"})
      fs::copy_file(fixtures / f, dir / f, fs::copy_options::overwrite_existing);
    if (target == 6)  // another run's checkpoint in its place
      fs::copy_file(fixtures / "lm_other.h5.ckpt", dir / "lm.h5.ckpt",
                    fs::copy_options::overwrite_existing);
    const fs::path victim = dir / (rng() % 2 ? "lm.h5.ckpt" : "lm.h5");
    // The fixture run is finished: resumed with its own checkpoint, its output is left untouched
    // (not read beyond its identity), so reshaped datasets there are no error to find.
    std::string how;
    do {
      how = corrupt(rng, victim, fixtures);
    } while (target == 5 && victim.filename() == "lm.h5" && how == "datasets reshaped");
    Args a = lm_args({"train", "-o", "lm.h5", "--resume"});
    return {"lm train --resume, " + victim.filename().string() + " " + how, a};
  }
  if (target == 7) {  // lm eval / sample of a bad model
    const std::string how = damage(rng, dir / "lm.h5", fixtures);
    if (rng() % 2) return {"lm eval, model " + how, lm_args({"eval", "--model", "lm.h5"})};
    return {"lm sample, model " + how, {"lm", "sample", "--model", "lm.h5", "--tokens", "4"}};
  }
  if (target == 8) {  // features of a bad checkpoint, bad inputs or a bad language model
    if (rng() % 3 == 0) {
      const std::string how = damage(rng, dir / "lm.h5", fixtures);
      return {"features --model, lm.h5 " + how,
              {"features", "--model", "lm.h5", "--windows", "8", "--out", "feat_lm_out.h5"}};
    }
    const std::string victim = rng() % 2 ? "run.h5.ckpt" : "ed_sample.h5";
    const std::string how = damage(rng, dir / victim, fixtures);
    return {"features, " + victim + " " + how,
            {"features", "--checkpoint", "run.h5.ckpt", "--inputs", "ed_sample.h5", "--out",
             "feat_out.h5"}};
  }
  if (target == 9) {  // align of a bad feature file
    const std::string victim = rng() % 2 ? "feat_a.h5" : "feat_b.h5";
    const std::string how = damage(rng, dir / victim, fixtures);
    return {"align, " + victim + " " + how,
            {"align", "feat_a.h5", "feat_b.h5", "--out", "align_out.h5", "--no-png"}};
  }
  if (target <= 1) {  // vmc --resume with a bad checkpoint or a bad output
    fs::copy_file(fixtures / "run.h5", dir / "run.h5");
    fs::copy_file(fixtures / (target == 0 ? "run.h5.ckpt" : "other.h5.ckpt"), dir / "run.h5.ckpt",
                  fs::copy_options::overwrite_existing);
    const fs::path victim = dir / (rng() % 2 ? "run.h5.ckpt" : "run.h5");
    const std::string how = corrupt(rng, victim, fixtures);
    Args a = {"vmc", "--L", "4", "--width", "2", "--depth", "1", "--steps", "3", "--batch", "16",
              "--obs-samples", "16", "--ed-max-sites", "0", "--quiet", "-o", "run.h5", "--resume"};
    return {"vmc --resume, " + victim.filename().string() + " " + how, a};
  }
  copy_tree(fixtures / "sweep", dir / "sweep");
  if (target == 2) {
    const std::string how = corrupt(rng, dir / "sweep/sweep.h5", fixtures);
    return {"collect, manifest " + how, {"collect", "sweep", "-o", "table.h5"}};
  }
  if (target == 3) {
    const std::string how = corrupt(rng, dir / "sweep/sweep.h5", fixtures);
    return {"sweep, manifest " + how,
            {"sweep", "--methods", "ed", "--L", "4", "--h", "0.5,1", "--out", "sweep", "--quiet"}};
  }
  const std::string how = corrupt(rng, dir / "sweep/collected.h5", fixtures);
  return {"report, table " + how, {"report", "sweep/collected.h5", "--out", "rep"}};
}

TEST_F(Fuzz, EveryBadInputIsOneLineExit1Or2AndChangesNothing) {
  if (testing::naqs_exe().empty()) GTEST_SKIP() << "NAQS_EXE not set";
  ASSERT_TRUE(fs::exists(root_ / "fixtures/run.h5.ckpt")) << "fixtures missing";
  ASSERT_TRUE(fs::exists(root_ / "fixtures/sweep/collected.h5")) << "fixtures missing";
  for (const char* f : {"lm.h5.ckpt", "lm_other.h5.ckpt", "feat_a.h5", "feat_b.h5",
                        "lm_sweep_done/mha_seed1.h5"})
    ASSERT_TRUE(fs::exists(root_ / "fixtures" / f)) << "fixture " << f << " missing";
  const char* seed_env = std::getenv("NAQS_FUZZ_SEED");
  const char* cases_env = std::getenv("NAQS_FUZZ_CASES");
  const uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : 21;
  const int n_cases = cases_env ? std::atoi(cases_env) : 240;
  std::mt19937_64 rng(seed);
  int failures = 0;
  for (int i = 0; i < n_cases; ++i) {
    const fs::path dir = root_ / ("case" + std::to_string(i));
    fs::create_directories(dir);
    const Case c = make_case(rng, i, dir, root_ / "fixtures");
    const auto before = testing::tree_hashes(dir.string());
    const testing::ExeRun r = testing::run_naqs_args(c.args, (root_ / "logs").string(), dir.string());
    const auto after = testing::tree_hashes(dir.string());
    std::string problem;
    if (r.rc != 1 && r.rc != 2) problem = "exit status " + std::to_string(r.rc);
    else if (testing::count_lines(r.err) != 1) problem = "stderr has " + std::to_string(testing::count_lines(r.err)) + " lines";
    else if (r.err.find(".cpp:") != std::string::npos || r.err.find(".hpp:") != std::string::npos ||
             r.err.find(".cu:") != std::string::npos || r.err.find("Traceback") != std::string::npos ||
             r.err.find("terminate called") != std::string::npos)
      problem = "a source location or trace on stderr";
    else if (before != after) problem = "files changed or added (" + std::to_string(before.size()) + " -> " + std::to_string(after.size()) + ")";
    if (!problem.empty()) {
      ++failures;
      ADD_FAILURE() << "case " << i << " (" << c.what << "): " << problem << "\nstderr: " << r.err
                    << "stdout: " << r.out.substr(0, 400);
    } else {
      fs::remove_all(dir);
    }
    if (failures >= 10) break;
  }
  std::printf("fuzz: %d cases, seed %llu, %d failures\n", n_cases,
              static_cast<unsigned long long>(seed), failures);
}

}  // namespace
}  // namespace naqs
