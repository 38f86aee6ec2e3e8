// The LM sweep tasks and report; see sweep.hpp.
#include "ml/transformer/sweep.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <variant>

#include "host/core/error.hpp"
#include "host/core/process.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"

namespace naqs::ml {
namespace {

namespace fs = std::filesystem;

const char* kVariantGrammar =
    "<mha|gqaG|mqa>[-claS][-dhD], e.g. mha, gqa2, mqa-dh16, mqa-cla2, mqa-cla2-dh16";

// "12" -> 12 (positive); otherwise -1
int64_t positive(const std::string& s) {
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), ::isdigit)) return -1;
  const int64_t v = std::stoll(s);
  return v >= 1 ? v : -1;
}

bool complete_output(const std::string& path) {
  if (!fs::exists(path)) return false;
  try {
    H5File f = H5File::open_read(path);
    return f.has_attr("/", "complete") &&
           std::get<int64_t>(f.get_attr("/", "complete")) == 1 && f.exists("/results/val_bpc");
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

TransformerConfig variant_config(const std::string& variant, const TransformerConfig& base) {
  auto bad = [&](const std::string& why) {
    return UsageError(cat("variant '", variant, "': ", why, " (grammar: ", kVariantGrammar, ")"));
  };
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dash = variant.find('-', start);
    parts.push_back(variant.substr(start, dash - start));
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  TransformerConfig c = base;
  c.kv_share = 1;
  int64_t groups = 0;  // 0 = mha
  const std::string& a = parts[0];
  if (a == "mha") {
    groups = 0;
  } else if (a == "mqa") {
    groups = 1;
  } else if (a.rfind("gqa", 0) == 0 && positive(a.substr(3)) > 0) {
    groups = positive(a.substr(3));
  } else {
    throw bad(cat("'", a, "' is not mha, gqaG or mqa"));
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p.rfind("cla", 0) == 0 && positive(p.substr(3)) > 0)
      c.kv_share = positive(p.substr(3));
    else if (p.rfind("dh", 0) == 0 && positive(p.substr(2)) > 0)
      c.head_dim = positive(p.substr(2));
    else
      throw bad(cat("'", p, "' is not claS or dhD"));
  }
  if (c.head_dim <= 0 || c.d_model % c.head_dim != 0)
    throw bad(cat("head dim ", c.head_dim, " does not divide d_model ", c.d_model));
  c.heads = c.d_model / c.head_dim;
  c.kv_heads = groups == 0 ? c.heads : groups;
  try {
    c.validate();
  } catch (const UsageError& e) {
    throw bad(e.what());
  }
  return c;
}

std::vector<LmSweepTask> lm_sweep_tasks(const std::string& dir,
                                        const std::vector<std::string>& variants,
                                        const std::vector<uint64_t>& seeds) {
  NAQS_REQUIRE(!variants.empty(), "--variants is empty (e.g. mha,mqa,mqa-cla2)");
  NAQS_REQUIRE(!seeds.empty(), "--seeds is empty (e.g. 1,2,3)");
  NAQS_REQUIRE(!dir.empty(), "naqs lm sweep needs --dir DIR (where the task files go)");
  std::vector<LmSweepTask> tasks;
  for (const std::string& v : variants)
    for (uint64_t s : seeds) {
      LmSweepTask t;
      t.variant = v;
      t.seed = s;
      t.output = (fs::path(dir) / cat(v, "_seed", s, ".h5")).string();
      t.checkpoint = t.output + ".ckpt";
      tasks.push_back(t);
    }
  return tasks;
}

std::string run_lm_sweep_task(const LmConfig& base, const LmSweepTask& task) {
  if (complete_output(task.output)) return "done";
  LmConfig c = base;
  c.model = variant_config(task.variant, base.model);
  c.seed = task.seed;
  c.variant = task.variant;
  c.output = task.output;
  c.checkpoint = task.checkpoint;
  // An unfinished task continues under the --resume rules of naqs lm train (plan_resume): from
  // its checkpoint when the identities match, or, without one, an output of these settings that
  // never wrote a checkpoint restarts from step 0; anything else is refused, left untouched.
  const bool found = fs::exists(c.checkpoint) || fs::exists(c.output);
  c.resume = found;
  fs::create_directories(fs::path(c.output).parent_path());
  const LmResult r = run_lm_train(c);
  if (r.interrupted) return "interrupted";
  return found ? "resumed" : "ran";
}

std::vector<LmReportRow> lm_report_rows(const std::string& dir) {
  if (!fs::is_directory(dir))
    throw UsageError(cat("naqs lm report: '", dir, "' is not a directory"));
  std::map<std::string, std::vector<std::string>> by_variant;
  std::vector<std::string> order;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".h5") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<LmReportRow> rows;
  std::map<std::string, size_t> index;
  std::map<std::string, std::vector<double>> bpc, err;
  for (const fs::path& p : files) {
    if (!complete_output(p.string())) continue;
    H5File f = H5File::open_read(p.string());
    if (!f.has_attr("/", "variant")) continue;
    const std::string v = std::get<std::string>(f.get_attr("/", "variant"));
    if (!index.count(v)) {
      index[v] = rows.size();
      LmReportRow r;
      r.variant = v;
      r.n_params = std::get<int64_t>(f.get_attr("/model", "n_params"));
      r.kv_bytes_per_token = std::get<int64_t>(f.get_attr("/model", "kv_bytes_per_token"));
      rows.push_back(r);
    }
    LmReportRow& r = rows[index[v]];
    bpc[v].push_back(f.read_doubles("/results/val_bpc")[0]);
    err[v].push_back(f.read_doubles("/results/val_bpc_err")[0]);
    r.train_seconds += std::get<double>(f.get_attr("/results", "train_seconds"));
  }
  if (rows.empty())
    throw UsageError(cat("naqs lm report: '", dir,
                         "' has no complete naqs lm sweep task files (*.h5 with a variant)"));
  for (LmReportRow& r : rows) {
    const std::vector<double>& b = bpc[r.variant];
    r.seeds = static_cast<int64_t>(b.size());
    double m = 0, e = 0;
    for (double x : b) m += x;
    m /= double(b.size());
    double v = 0;
    for (double x : b) v += (x - m) * (x - m);
    for (double x : err[r.variant]) e += x;
    r.bpc_mean = m;
    r.bpc_std = b.size() > 1 ? std::sqrt(v / double(b.size() - 1)) : 0.0;
    r.bpc_err_mean = e / double(b.size());
  }
  std::sort(rows.begin(), rows.end(), [](const LmReportRow& a, const LmReportRow& b) {
    return a.kv_bytes_per_token != b.kv_bytes_per_token
               ? a.kv_bytes_per_token > b.kv_bytes_per_token
               : a.bpc_mean < b.bpc_mean;
  });
  return rows;
}

std::vector<std::string> make_lm_report(const std::string& dir, const std::string& python) {
  const std::vector<LmReportRow> rows = lm_report_rows(dir);
  const std::string md = (fs::path(dir) / "lm_report.md").string();
  const std::string csv = (fs::path(dir) / "lm_report.csv").string();
  const std::string png = (fs::path(dir) / "lm_pareto.png").string();
  // Never over an earlier report (naqs never overwrites results): all three checked before
  // anything is written; each is published whole (temp file, then renamed without replacing).
  for (const std::string& f : {md, csv, png})
    NAQS_REQUIRE(!path_present(f), "'", f, "' already exists; naqs never overwrites results "
                 "(move the old report away to make a new one)");
  for (const std::string& f : {md, csv, png}) remove_stale_temps(f);
  std::ostringstream m, c;
  m << "| variant | params | KV bytes/token | seeds | val bpc (mean ± std over seeds) | "
       "mean per-run error | train s (all seeds) |\n|---|---:|---:|---:|---|---:|---:|\n";
  c << "variant,n_params,kv_bytes_per_token,seeds,bpc_mean,bpc_std,bpc_err_mean,train_seconds\n";
  for (const LmReportRow& r : rows) {
    char line[512];
    std::snprintf(line, sizeof line, "| %s | %lld | %lld | %lld | %.4f ± %.4f | %.4f | %.0f |\n",
                  r.variant.c_str(), static_cast<long long>(r.n_params),
                  static_cast<long long>(r.kv_bytes_per_token), static_cast<long long>(r.seeds),
                  r.bpc_mean, r.bpc_std, r.bpc_err_mean, r.train_seconds);
    m << line;
    std::snprintf(line, sizeof line, "%s,%lld,%lld,%lld,%.6f,%.6f,%.6f,%.1f\n",
                  r.variant.c_str(), static_cast<long long>(r.n_params),
                  static_cast<long long>(r.kv_bytes_per_token), static_cast<long long>(r.seeds),
                  r.bpc_mean, r.bpc_std, r.bpc_err_mean, r.train_seconds);
    c << line;
  }
  write_text_atomically(md, m.str(), /*replace=*/false);
  write_text_atomically(csv, c.str(), /*replace=*/false);
  const std::string py = python.empty() ? (fs::exists("/usr/bin/python3") ? "/usr/bin/python3"
                                                                           : "python3")
                                        : python;
  write_by_command({py, "-c", lm_report_script_text(), csv, kTargetArg}, png, "Pareto plot script",
                   cat("; it needs numpy and matplotlib (Debian: python3-numpy python3-matplotlib); "
                       "the tables '", md, "' and '", csv, "' are written"));
  return {md, csv, png};
}

}  // namespace naqs::ml
