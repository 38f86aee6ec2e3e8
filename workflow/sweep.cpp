#include "workflow/sweep.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "host/core/error.hpp"
#include "host/core/stop_signal.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"
#include "physics/sampler/sampler.hpp"
#include "physics/vmc/checkpoint.hpp"
#include "physics/vmc/exact_reference.hpp"
#include "physics/vmc/observable_table.hpp"

namespace naqs::workflow {
namespace {

namespace fs = std::filesystem;

constexpr const char* kManifest = "sweep.h5";
// Groups of a VMC run's own output copied into the task file under /methods/<method>/.
const char* const kCopiedGroups[] = {"model", "train", "observables", "results"};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string fmt(double v, int prec = 10) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", prec, v);
  return buf;
}

std::string join_h(const std::vector<double>& h) {
  std::string s;
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (i) s += ',';
    s += fmt(h[i], 17);
  }
  return s;
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

fs::path task_path(const SweepSpec& spec, int64_t task) {
  return fs::path(spec.dir) / task_file_name(task, spec.h_values[task]);
}

fs::path work_dir(const SweepSpec& spec, int64_t task) {
  char name[32];
  std::snprintf(name, sizeof name, "task-%04lld", static_cast<long long>(task));
  return fs::path(spec.dir) / "work" / name;
}

int64_t warm_steps(const SweepSpec& spec) {
  return spec.warm_steps >= 0 ? spec.warm_steps : spec.base.steps;
}

const std::string& warm_batch(const SweepSpec& spec) {
  return spec.warm_batch.empty() ? spec.base.batch_schedule : spec.warm_batch;
}

// The VMC configuration of one method at one task (output paths and warm start set by caller).
vmc::VmcConfig method_config(const SweepSpec& spec, SweepMethod m, int64_t task) {
  vmc::VmcConfig c = spec.base;
  c.h = spec.h_values[task];
  c.seed = spec.base.seed + static_cast<uint64_t>(task);
  c.max_ed_sites = 0;  // the task computes the exact reference once for all methods
  switch (m) {
    case SweepMethod::naqs:  // the NAQS with exact autoregressive samples
      c.model = vmc::Ansatz::naqs;
      c.sampler.kind = vmc::SamplerKind::exact;
      break;
    case SweepMethod::mcmc:  // an RBM with Metropolis samples (the sweep's --alpha, --mc-*)
      c.model = vmc::Ansatz::rbm;
      c.sampler.kind = vmc::SamplerKind::metropolis;
      break;
    case SweepMethod::ed:
      NAQS_CHECK(false, "method_config: ed is not a VMC method");
  }
  return c;
}

std::string system_text(const vmc::VmcConfig& c) {
  return cat(cli::name_of(c.hamiltonian), " ", cli::name_of(c.lattice), " ", c.length_x, "x",
             c.length_y, " ", cli::Codec<vmc::Boundaries>::text(c.boundary), ", J = ", c.J,
             ", hz = ", c.hz);
}

void write_system(H5File& f, const SweepSpec& spec, const std::optional<double>& h) {
  const vmc::VmcConfig& c = spec.base;
  f.create_group("/system");
  f.set_attr("/system", "model", std::string(cli::name_of(c.hamiltonian)));
  f.set_attr("/system", "lattice", std::string(cli::name_of(c.lattice)));
  f.set_attr("/system", "Lx", int64_t{c.length_x});
  f.set_attr("/system", "Ly", int64_t{c.length_y});
  f.set_attr("/system", "n_sites", int64_t{c.length_x} * c.length_y);
  f.set_attr("/system", "boundary", cli::Codec<vmc::Boundaries>::text(c.boundary));
  f.set_attr("/system", "J", c.J);
  f.set_attr("/system", "hz", c.hz);
  if (h) f.set_attr("/system", "h", *h);
  f.set_attr("/system", "hamiltonian",
             std::string("H = -J sum_<ij> Z_i Z_j - h sum_i X_i - hz sum_i Z_i"));
  f.set_attr("/system", "units", std::string("Pauli"));
}

// Reads the sweep fingerprint of a task file or manifest; "" plus a reason when the file is
// not a complete naqs sweep file.
struct FileCheck {
  bool ok = false;
  std::string fingerprint_text, reason;
};

FileCheck check_sweep_file(const std::string& path) {
  FileCheck r;
  try {
    H5File f = H5File::open_read(path);
    if (!f.has_attr("/", "complete") || std::get<int64_t>(f.get_attr("/", "complete")) != 1) {
      r.reason = "not complete (complete != 1)";
      return r;
    }
    if (!f.exists("/sweep/fingerprint_text")) {
      r.reason = "not a naqs sweep file (no /sweep/fingerprint_text)";
      return r;
    }
    r.fingerprint_text = f.read_string("/sweep/fingerprint_text");
    r.ok = true;
  } catch (const std::exception& e) {
    r.reason = cat("unreadable (", e.what(), ")");
  }
  return r;
}

// A method's accumulated seconds over the attempts of a task: one number in a text file of the
// task's work directory, replaced atomically (0 when absent or unreadable).
double read_seconds(const fs::path& p) {
  std::ifstream in(p);
  double v = 0;
  return in >> v && std::isfinite(v) && v >= 0 ? v : 0;
}

void write_seconds(const fs::path& p, double v) {
  write_text_atomically(p.string(), fmt(v, 17) + "\n", /*replace=*/true);
}

void put_scalar(H5File& f, const std::string& name, double v) {
  f.write_dataset(name, std::vector<double>{v}, {});
}

// The sweep's observables (observable_table rows marked `sweep`), in table order.
std::vector<const vmc::ObservableRow*> sweep_rows() {
  std::vector<const vmc::ObservableRow*> rows;
  for (const vmc::ObservableRow& r : vmc::observable_table())
    if (r.sweep) rows.push_back(&r);
  return rows;
}

double rel_err(double v, double exact) {
  return std::abs(v - exact) / std::max(std::abs(exact), 1e-300);
}

}  // namespace

// ---- methods -----------------------------------------------------------------------------------

const char* method_name(SweepMethod m) {
  switch (m) {
    case SweepMethod::naqs: return "naqs";
    case SweepMethod::mcmc: return "mcmc";
    case SweepMethod::ed: return "ed";
  }
  return "?";
}

bool is_vmc_method(SweepMethod m) { return m != SweepMethod::ed; }

std::vector<SweepMethod> parse_methods(const std::string& text) {
  std::vector<SweepMethod> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    SweepMethod m;
    if (item == "naqs") m = SweepMethod::naqs;
    else if (item == "mcmc") m = SweepMethod::mcmc;
    else if (item == "ed") m = SweepMethod::ed;
    else
      throw UsageError(cat("--methods: unknown method '", item, "' in '", text,
                           "' (allowed: naqs, mcmc, ed, comma-separated)"));
    for (SweepMethod x : out)
      NAQS_REQUIRE(x != m, "--methods: '", item, "' appears twice in '", text, "'");
    out.push_back(m);
  }
  NAQS_REQUIRE(!out.empty() && text.back() != ',', "--methods: '", text,
               "' is not a comma-separated list of naqs, mcmc, ed");
  return out;
}

std::string join_methods(const std::vector<SweepMethod>& methods) {
  std::string s;
  for (std::size_t i = 0; i < methods.size(); ++i) {
    if (i) s += ',';
    s += method_name(methods[i]);
  }
  return s;
}

const std::vector<std::string>& sweep_observables() {
  static const std::vector<std::string> q = [] {
    std::vector<std::string> names;
    for (const vmc::ObservableRow* r : sweep_rows()) names.push_back(r->name);
    return names;
  }();
  return q;
}

// ---- spec -------------------------------------------------------------------------------------

void validate_spec(const SweepSpec& spec) {
  const vmc::VmcConfig& c = spec.base;
  NAQS_REQUIRE(c.hamiltonian == Model::tfim, "naqs sweep sweeps the transverse field h of the "
               "TFIM; hamiltonian '", cli::name_of(c.hamiltonian), "' has no h");
  NAQS_REQUIRE(!spec.h_values.empty(), "--h: no field values");
  for (double h : spec.h_values) NAQS_REQUIRE(std::isfinite(h), "--h: non-finite value");
  NAQS_REQUIRE(!spec.methods.empty(), "--methods: no methods");
  NAQS_REQUIRE(!spec.dir.empty(), "--out: the sweep directory is empty");
  NAQS_REQUIRE(spec.warm_steps >= -1, "--warm-steps must be >= 0, got ", spec.warm_steps);
  NAQS_REQUIRE(c.steps >= 0, "--steps must be >= 0, got ", c.steps);
  NAQS_REQUIRE(c.obs_samples >= 2, "--obs-samples must be >= 2, got ", c.obs_samples);
  NAQS_REQUIRE(spec.ed_max_sites >= 0, "--ed-max-sites must be >= 0");
  const int n = c.length_x * c.length_y;
  bool any_vmc = false;
  for (SweepMethod m : spec.methods) {
    if (m == SweepMethod::ed)
      NAQS_REQUIRE(n <= spec.ed_max_sites, "--methods ed: ", n, " sites is more than "
                   "--ed-max-sites ", spec.ed_max_sites, " (raise it, or drop ed)");
    any_vmc = any_vmc || is_vmc_method(m);
  }
  vmc::VmcConfig probe = c;
  probe.h = spec.h_values.front();
  vmc::make_hamiltonian(probe);  // lattice and couplings (UsageError)
  if (any_vmc) {
    vmc::BatchSchedule::parse(c.batch_schedule);
    vmc::BatchSchedule::parse(warm_batch(spec));
    nn::LrSchedule::parse(c.lr_schedule, c.lr, c.steps);
    NAQS_REQUIRE(c.minibatch >= 1, "--minibatch must be >= 1, got ", c.minibatch);
    if (!vmc::is_sr(c.optimizer))  // beta1, beta2, eps, momentum, weight decay
      nn::make_optimizer(cli::name_of(c.optimizer), c.adam, c.momentum, c.weight_decay);
    // Everything the driver checks when it starts, for each VMC method (sample counts against
    // the Metropolis chains included), before the sweep creates any file.
    for (SweepMethod m : spec.methods) {
      if (!is_vmc_method(m)) continue;
      const vmc::VmcConfig mc = method_config(spec, m, 0);
      const Hamiltonian H = vmc::make_hamiltonian(mc);
      const std::unique_ptr<Wavefunction> psi = vmc::make_wavefunction(mc);  // sizes, dtype, device
      const std::unique_ptr<vmc::VmcSampler> sampler =
          vmc::make_sampler(mc.sampler, *psi, H, vmc::make_hilbert(mc));
      for (const vmc::BatchStage& st : vmc::BatchSchedule::parse(mc.batch_schedule).stages)
        sampler->check_sample_count(st.batch_size, cat("--batch size ", st.batch_size));
      for (const vmc::BatchStage& st : vmc::BatchSchedule::parse(warm_batch(spec)).stages)
        sampler->check_sample_count(st.batch_size, cat("--warm-batch size ", st.batch_size));
      sampler->check_sample_count(mc.obs_samples, "--obs-samples");
    }
  }
}

int64_t n_tasks(const SweepSpec& spec) { return static_cast<int64_t>(spec.h_values.size()); }

std::string task_file_name(int64_t task, double h) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "task-%04lld_h%.10g.h5", static_cast<long long>(task), h);
  return buf;
}

std::string sweep_fingerprint_text(const SweepSpec& spec) {
  vmc::VmcConfig c = spec.base;
  c.h = 0;  // per task
  c.init_parameters.clear();
  std::ostringstream o;
  o << "sweep_version = 2\nh_values = " << join_h(spec.h_values)
    << "\nmethods = " << join_methods(spec.methods) << "\nwarm_start = " << spec.warm_start
    << "\nwarm_steps = " << warm_steps(spec) << "\nwarm_batch = " << warm_batch(spec)
    << "\ned_max_sites = " << spec.ed_max_sites
    << "\nobs_samples = " << c.obs_samples << "\nobserve_every = " << c.observe_every
    << "\nobserve_samples = " << c.observe_samples << "\n"
    << vmc::fingerprint_text(c);
  // Each VMC method's own settings (model and sampler lines), keys prefixed "<method>.".
  for (SweepMethod m : spec.methods) {
    if (!is_vmc_method(m)) continue;
    vmc::VmcConfig mc = method_config(spec, m, 0);
    mc.h = 0;
    mc.seed = spec.base.seed;
    std::stringstream lines(vmc::fingerprint_text(mc));
    for (std::string line; std::getline(lines, line);) o << method_name(m) << "." << line << "\n";
  }
  return o.str();
}

const char* task_state_name(TaskState s) {
  switch (s) {
    case TaskState::complete: return "complete";
    case TaskState::partial: return "partial";
    case TaskState::missing: return "missing";
  }
  return "?";
}

std::vector<TaskInfo> list_tasks(const SweepSpec& spec) {
  std::vector<TaskInfo> out;
  for (int64_t k = 0; k < n_tasks(spec); ++k) {
    TaskInfo t;
    t.index = k;
    t.h = spec.h_values[k];
    t.file = task_file_name(k, t.h);
    if (fs::exists(task_path(spec, k))) t.state = TaskState::complete;
    else if (fs::exists(work_dir(spec, k))) t.state = TaskState::partial;
    out.push_back(t);
  }
  return out;
}

// ---- directory and manifest ---------------------------------------------------------------------

void prepare_sweep_dir(const SweepSpec& spec) {
  validate_spec(spec);
  const fs::path dir(spec.dir);
  NAQS_REQUIRE(!fs::exists(dir) || fs::is_directory(dir), "--out '", spec.dir,
               "' exists and is not a directory");
  std::error_code ec;
  fs::create_directories(dir, ec);
  NAQS_REQUIRE(!ec, "cannot create the sweep directory '", spec.dir, "': ", ec.message());
  const std::string manifest = (dir / kManifest).string();
  const std::string text = sweep_fingerprint_text(spec);
  auto check_existing = [&] {
    const FileCheck chk = check_sweep_file(manifest);
    NAQS_REQUIRE(chk.ok, "'", manifest, "' is ", chk.reason,
                 "; move it away, or choose another --out");
    NAQS_REQUIRE(chk.fingerprint_text == text, "'", spec.dir,
                 "' holds a sweep with other settings (",
                 describe_fingerprint_difference(chk.fingerprint_text, text),
                 "); choose another --out, or repeat that sweep's options");
  };
  if (path_present(manifest)) {
    check_existing();
    return;
  }
  std::vector<std::string> files;
  for (int64_t k = 0; k < n_tasks(spec); ++k) files.push_back(task_file_name(k, spec.h_values[k]));
  try {
    // Never replaced: array tasks starting together race to write it; one wins, the others
    // check the winner's settings.
    write_new_atomically(manifest, [&](H5File& f) {
      write_provenance(f, spec.command_line, spec.config_text,
                       resolve_device(spec.base.device).str(),
                       {{"seed", static_cast<int64_t>(spec.base.seed)}});
      f.create_group("/sweep");
      f.set_attr("/sweep", "n_tasks", n_tasks(spec));
      f.set_attr("/sweep", "methods", join_methods(spec.methods));
      f.set_attr("/sweep", "fingerprint", fingerprint_hash(text));
      f.write_string("/sweep/fingerprint_text", text);
      f.write_dataset("/sweep/h", spec.h_values, {n_tasks(spec)});
      f.write_string("/sweep/files", join_lines(files));
      write_system(f, spec, std::nullopt);
      finish_provenance(f);
    });
  } catch (const UsageError&) {
    if (!path_present(manifest)) throw;
    check_existing();
  }
}

// ---- one task
// ------------------------------------------------------------------------------------

TaskResult run_sweep_task(const SweepSpec& spec, int64_t task, const std::string& warm_from,
                          const Console& console) {
  const double t0 = now_s();
  NAQS_REQUIRE(task >= 0 && task < n_tasks(spec), "task ", task, " does not exist: this sweep has ",
               n_tasks(spec), " tasks (0 to ", n_tasks(spec) - 1, ")");
  TaskResult result;
  result.path = task_path(spec, task).string();
  const double h = spec.h_values[task];
  const std::string fp_text = sweep_fingerprint_text(spec);
  auto say = [&](const std::string& s) { console.say(s); };

  if (fs::exists(result.path)) {
    const FileCheck chk = check_sweep_file(result.path);
    NAQS_REQUIRE(chk.ok, "task file '", result.path, "' exists but is ", chk.reason,
                 "; it is never overwritten: move it away to run task ", task, " again");
    NAQS_REQUIRE(chk.fingerprint_text == fp_text, "task file '", result.path,
                 "' belongs to a sweep with other settings (",
                 describe_fingerprint_difference(chk.fingerprint_text, fp_text), ")");
    result.outcome = TaskOutcome::skipped;
    say(cat("sweep: task ", task, " (h = ", fmt(h), ") already complete: ", result.path));
    return result;
  }

  vmc::VmcConfig sys = spec.base;
  sys.h = h;
  const Hamiltonian H = vmc::make_hamiltonian(sys);
  const int n_sites = H.n_sites();
  say(cat("sweep: task ", task, " of ", n_tasks(spec), ", h = ", fmt(h), " (", system_text(sys),
          "), methods ", join_methods(spec.methods),
          warm_from.empty() ? std::string() : cat(", warm start from ", warm_from)));
  const vmc::ExactReference exact = vmc::exact_reference(H, spec.ed_max_sites, Device::cpu());

  const fs::path work = work_dir(spec, task);
  fs::create_directories(work);
  struct MethodRun {
    SweepMethod method;
    std::string output;
    double seconds = 0;
    int64_t steps = 0;
    uint64_t seed = 0;
  };
  std::vector<MethodRun> runs;
  for (SweepMethod m : spec.methods) {
    if (stop_requested()) {
      result.outcome = TaskOutcome::interrupted;
      return result;
    }
    MethodRun run{m, "", 0, 0, 0};
    if (!is_vmc_method(m)) {
      runs.push_back(run);
      continue;
    }
    vmc::VmcConfig c = method_config(spec, m, task);
    c.output = (work / (std::string(method_name(m)) + ".h5")).string();
    c.checkpoint = (work / (std::string(method_name(m)) + ".ckpt")).string();
    c.command_line = spec.command_line;
    c.config_text = spec.config_text;
    if (!warm_from.empty()) {
      H5File w = H5File::open_read(warm_from);
      c.init_parameters = w.read_doubles(cat("/methods/", method_name(m), "/model/parameters"));
      c.steps = warm_steps(spec);
      c.batch_schedule = warm_batch(spec);
    }
    run.output = c.output;
    run.steps = c.steps;
    run.seed = c.seed;
    // Seconds spent on this method by earlier attempts of the task (killed or stopped).
    const fs::path seconds_file = work / (std::string(method_name(m)) + ".seconds");
    run.seconds = read_seconds(seconds_file);
    // A run that finished in an earlier attempt of this task (killed before the task file).
    const bool finished = fs::exists(c.output) && [&] {
      try {
        H5File f = H5File::open_read(c.output);
        return std::get<int64_t>(f.get_attr("/", "complete")) == 1 && f.exists("/results");
      } catch (const std::exception&) {
        return false;
      }
    }();
    if (!finished) {
      // A run killed before its first checkpoint leaves an output without one: start afresh.
      if (!fs::exists(c.checkpoint) && fs::exists(c.output)) fs::remove(c.output);
      c.resume = fs::exists(c.checkpoint);
      const double tm = now_s();
      const vmc::VmcResult r = vmc::run_vmc(c, console);
      run.seconds += now_s() - tm;
      write_seconds(seconds_file, run.seconds);
      if (r.interrupted) {
        say(cat("sweep: task ", task, " stopped by signal ", r.stop_signal, " during ",
                method_name(m), "; checkpoint '", c.checkpoint, "' (run the task again to resume)"));
        result.outcome = TaskOutcome::interrupted;
        return result;
      }
    }
    runs.push_back(run);
  }
  if (stop_requested()) {
    result.outcome = TaskOutcome::interrupted;
    return result;
  }

  // The task file, atomically and never replacing one: it exists only when complete, and of two
  // processes running the same task only the first to finish writes it.
  std::string summary;
  write_new_atomically(result.path, [&](H5File& f) {
    write_provenance(f, spec.command_line, spec.config_text,
                     resolve_device(spec.base.device).str(),
                     {{"seed", static_cast<int64_t>(spec.base.seed + static_cast<uint64_t>(task))}});
    f.create_group("/sweep");
    f.set_attr("/sweep", "task", task);
    f.set_attr("/sweep", "n_tasks", n_tasks(spec));
    f.set_attr("/sweep", "h", h);
    f.set_attr("/sweep", "methods", join_methods(spec.methods));
    f.set_attr("/sweep", "fingerprint", fingerprint_hash(fp_text));
    f.set_attr("/sweep", "warm_start_from",
               warm_from.empty() ? std::string() : fs::path(warm_from).filename().string());
    f.write_string("/sweep/fingerprint_text", fp_text);
    write_system(f, spec, h);
    f.create_group("/exact");
    f.set_attr("/exact", "method", exact.method.empty() ? std::string("none") : exact.method);
    f.set_attr("/exact", "units", std::string("Pauli"));
    if (!exact.ed_sector.empty()) f.set_attr("/exact", "ed_sector", exact.ed_sector);
    for (const vmc::ObservableRow* q : sweep_rows())
      if (auto v = q->exact_value(exact, n_sites)) put_scalar(f, cat("/exact/", q->name), *v);
    for (const MethodRun& run : runs) {
      const std::string g = cat("/methods/", method_name(run.method));
      f.create_group(g);
      if (run.method == SweepMethod::ed) {
        f.set_attr(g, "kind", cat("exact reference (", exact.method, ")"));
        f.create_group(g + "/results");
        f.set_attr(g + "/results", "units", std::string("Pauli"));
        for (const vmc::ObservableRow* q : sweep_rows()) {
          const auto v = q->exact_value(exact, n_sites);
          if (!v) continue;
          put_scalar(f, cat(g, "/results/", q->name, "_mean"), *v);
          put_scalar(f, cat(g, "/results/", q->name, "_err"), 0.0);
          put_scalar(f, cat(g, "/results/", q->name, "_rel_err"), 0.0);
        }
        f.set_attr(g, "seconds", exact.seconds);
        summary += cat("  ed E = ", fmt(exact.energy.value_or(NAN)));
        continue;
      }
      const H5File src = H5File::open_read(run.output);
      f.set_attr(g, "kind", cat("vmc ", src.has_attr("/model", "architecture")
                                            ? std::get<std::string>(
                                                  src.get_attr("/model", "architecture"))
                                            : std::string("?")));
      f.set_attr(g, "seconds", run.seconds);
      f.set_attr(g, "steps", run.steps);
      f.set_attr(g, "seed", static_cast<int64_t>(run.seed));
      for (const char* name : kCopiedGroups)
        if (src.exists(cat("/", name))) src.copy_object(cat("/", name), f, cat(g, "/", name));
      // Relative errors against this task's exact reference (ED and closed form).
      for (const vmc::ObservableRow* q : sweep_rows()) {
        const auto ex = q->exact_value(exact, n_sites);
        const std::string mean = cat(g, "/results/", q->name, "_mean");
        if (ex && f.exists(mean))
          put_scalar(f, cat(g, "/results/", q->name, "_rel_err"),
                     rel_err(f.read_doubles(mean)[0], *ex));
      }
      const double e = f.read_doubles(g + "/results/energy_mean")[0];
      const double err = f.read_doubles(g + "/results/energy_err")[0];
      summary += cat("  ", method_name(run.method), " E = ", fmt(e), " ± ", fmt(err, 2));
      if (exact.energy) summary += cat(" (rel. err ", fmt(rel_err(e, *exact.energy), 2), ")");
    }
    finish_provenance(f);
  });
  std::error_code ec;
  fs::remove_all(work, ec);  // the task file holds everything; a leftover is harmless
  fs::remove(work.parent_path(), ec);  // only if empty (other tasks may be running)
  result.seconds = now_s() - t0;
  say(cat("sweep: task ", task, " h = ", fmt(h), " done in ", fmt(result.seconds, 3), " s:",
          summary, " -> ", result.path));
  return result;
}

// ---- all tasks
// -----------------------------------------------------------------------------------

SweepRunSummary run_sweep_local(const SweepSpec& spec, const Console& console) {
  const double t0 = now_s();
  prepare_sweep_dir(spec);
  StopSignalGuard signals;
  SweepRunSummary s;
  std::string previous;
  for (int64_t k = 0; k < n_tasks(spec); ++k) {
    if (stop_requested()) {
      s.interrupted = true;
      break;
    }
    const std::string warm = spec.warm_start && !previous.empty() ? previous : std::string();
    const TaskResult r = run_sweep_task(spec, k, warm, console);
    if (r.outcome == TaskOutcome::interrupted) {
      s.interrupted = true;
      break;
    }
    (r.outcome == TaskOutcome::ran ? s.ran : s.skipped) += 1;
    previous = r.path;
  }
  s.seconds = now_s() - t0;
  return s;
}

}  // namespace naqs::workflow
