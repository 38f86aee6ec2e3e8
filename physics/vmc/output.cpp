// The VMC run's HDF5 output and console text; see output.hpp.
#include "physics/vmc/output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "host/core/error.hpp"
#include "host/dist/comm.hpp"
#include "physics/models/rbm.hpp"
#include "physics/models/transformer_wavefunction.hpp"
#include "physics/vmc/observable_table.hpp"

namespace naqs::vmc {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const std::vector<std::string> kTrainColumns = {
    "step",        "batch_size",  "lr",        "energy_mean",   "energy_err",
    "energy_var",  "energy_imag", "energy_rel_err", "grad_norm", "sr_iterations",
    "sr_residual", "seconds",     "acceptance", "energy_tau", "energy_r_hat"};

std::string fmt(double v, int prec = 8) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", prec, v);
  return buf;
}

}  // namespace

Output::Output(const VmcConfig& c, Trainer& t, int64_t first_step, bool reopen,
               const RunIdentity& identity)
    : c_(c) {
  if (c.output.empty()) return;
  if (!reopen) {
    // Created whole or not at all (temp file published without replacing anything), so a
    // run killed at any instant leaves no output or one that carries its identity.
    write_new_atomically(c.output, [&](H5File& f) {
      write_provenance(f, c.command_line, c.config_text, device_name(t.psi().device()),
                       {{"seed", static_cast<int64_t>(c.seed)},
                        {"mpi_ranks", static_cast<int64_t>(dist::world().size())},
                        {"settings", settings_text(c)}});
      write_run_identity(f, identity);
      write_static(f, t);
    });
  }
  file_ = std::make_unique<H5File>(H5File::open_rw(c.output));
  train_ = std::make_unique<H5Trace>(*file_, "/train", kTrainColumns);
  // Rows are appended before the checkpoint of their step is written, so an output of this
  // run holds at least first_step rows; fewer means it lost some: not continued with a gap.
  NAQS_REQUIRE(train_->rows() >= first_step, "--out '", c.output, "' holds ",
               train_->rows(), " training steps but the checkpoint is at step ", first_step,
               "; it cannot be continued without a gap (left as it is)");
  if (reopen) {
    file_->set_attr("/", "resumed_at_step", first_step);
    file_->set_attr("/", "resume_command_line", c.command_line);
  }
  train_->truncate_to(first_step);
  if (c.observe_every > 0) {
    observe_ = std::make_unique<H5Trace>(*file_, "/observables", observe_columns());
    // Rows of steps <= first_step are kept: the row of the checkpoint's own step was measured
    // before that checkpoint was written (also when a signal stopped the run). Row i belongs
    // to step observe_every (i + 1), so the kept rows are the longest prefix that says so: a
    // process killed inside a flush can leave a row whose extent reached the disk but whose
    // data did not (step reads as the fill value 0), and it must not survive as a duplicate.
    int64_t keep = 0;
    if (observe_->rows() > 0) {
      const std::vector<double> steps = file_->read_doubles("/observables/step");
      while (keep < static_cast<int64_t>(steps.size()) &&
             steps[keep] == static_cast<double>(c.observe_every * (keep + 1)) &&
             steps[keep] <= static_cast<double>(first_step))
        ++keep;
    }
    observe_->truncate_to(std::min(keep, observe_->rows()));
  }
  file_->flush();
}

void Output::append(const StepRecord& r, const ExactReference& exact) {
  if (!train_) return;
  const double rel =
      exact.energy ? std::abs(r.energy_mean - *exact.energy) / std::abs(*exact.energy) : kNaN;
  train_->append({static_cast<double>(r.step), static_cast<double>(r.batch_size), r.lr,
                  r.energy_mean, r.energy_err, r.energy_var, r.energy_imag, rel, r.grad_norm,
                  static_cast<double>(r.sr_iterations), r.sr_residual, r.seconds, r.acceptance,
                  r.energy_tau, r.energy_r_hat});
}

void Output::append_observables(int64_t step, const VmcObservables& o) {
  if (!observe_) return;
  observe_->append(observe_row(step, o));
}

void Output::finish(Trainer& t, const VmcObservables& o, const ExactReference& exact) {
  if (!file_) return;
  H5File& f = *file_;
  const Tensor p = t.psi().params().flat();
  f.write_dataset("/model/parameters", to_host_f64(p), {p.numel()});
  f.create_group("/results");
  f.set_attr("/results", "units", std::string("Pauli"));
  f.set_attr("/results", "n_samples", o.n_samples);
  const int n = t.psi().n_sites();
  for (const ObservableRow& row : observable_table()) {
    const std::string name = row.name;
    const Estimate& e = o.*row.estimate;
    f.write_dataset("/results/" + name + "_mean", std::vector<double>{e.mean}, {});
    f.set_attr("/results/" + name + "_mean", "unit", std::string(row.unit));
    f.write_dataset("/results/" + name + "_err", std::vector<double>{e.err}, {});
    if (const std::optional<double> ex = row.exact_value(exact, n)) {
      f.write_dataset("/exact/" + name, std::vector<double>{*ex}, {});
      f.write_dataset("/results/" + name + "_rel_err",
                      std::vector<double>{std::abs(e.mean - *ex) / std::abs(*ex)}, {});
    }
  }
  std::vector<double> zm, ze;
  for (const Estimate& e : o.zz_corr) {
    zm.push_back(e.mean);
    ze.push_back(e.err);
  }
  f.write_dataset("/results/zz_corr_mean", zm, {static_cast<int64_t>(zm.size())});
  f.write_dataset("/results/zz_corr_err", ze, {static_cast<int64_t>(ze.size())});
  f.set_attr("/results", "sampler", o.sampler);
  f.set_attr("/results", "n_chains", o.n_chains);
  for (const auto& [name, d] : o.diagnostics) {
    f.write_dataset("/results/" + name + "_tau", std::vector<double>{d.tau}, {});
    f.write_dataset("/results/" + name + "_r_hat", std::vector<double>{d.r_hat}, {});
    f.write_dataset("/results/" + name + "_ess", std::vector<double>{d.ess}, {});
  }
  if (o.n_chains > 0) {
    f.write_dataset("/results/acceptance", std::vector<double>{o.acceptance}, {});
    std::string text;
    for (const std::string& w : o.warnings) text += w + "\n";
    f.write_string("/results/warnings", text);
    f.set_attr("/results", "n_warnings", static_cast<int64_t>(o.warnings.size()));
  }
  if (exact.any()) {
    f.create_group("/exact");
    f.set_attr("/exact", "method", exact.method);
    f.set_attr("/exact", "units", std::string("Pauli"));
    if (!exact.ed_sector.empty()) f.set_attr("/exact", "ed_sector", exact.ed_sector);
    if (!exact.zz_corr.empty())
      f.write_dataset("/exact/zz_corr", exact.zz_corr,
                      {static_cast<int64_t>(exact.zz_corr.size())});
  }
  finish_provenance(f);
}

void Output::flush() {
  if (file_) file_->flush();
}

void Output::write_static(H5File& f, Trainer& t) {
  const Hamiltonian& H = t.hamiltonian();
  f.create_group("/system");
  f.set_attr("/system", "model", std::string(cli::name_of(c_.hamiltonian)));
  f.set_attr("/system", "lattice", H.lattice().str());
  f.set_attr("/system", "n_sites", static_cast<int64_t>(H.n_sites()));
  f.set_attr("/system", "J", c_.J);
  f.set_attr("/system", "h", c_.h);
  f.set_attr("/system", "hz", c_.hz);
  f.set_attr("/system", "delta", c_.delta);
  f.set_attr("/system", "boundary", cli::Codec<Boundaries>::text(c_.boundary));
  f.set_attr("/system", "marshall", int64_t{c_.marshall ? 1 : 0});
  if (c_.magnetisation) f.set_attr("/system", "magnetisation", *c_.magnetisation);
  f.set_attr("/system", "hamiltonian", H.str());
  f.set_attr("/system", "units", std::string("Pauli"));
  f.create_group("/model");
  if (c_.model == Ansatz::rbm) {
    const auto& rbm = dynamic_cast<const Rbm&>(t.psi());
    f.set_attr("/model", "architecture", std::string("rbm"));
    f.set_attr("/model", "alpha", c_.alpha);
    f.set_attr("/model", "n_hidden", rbm.n_hidden());
  } else {
    f.set_attr("/model", "architecture", cat("naqs_", cli::name_of(c_.network)));
    if (!c_.preset.empty()) f.set_attr("/model", "preset", c_.preset);
    f.set_attr("/model", "width", static_cast<int64_t>(c_.width));
    f.set_attr("/model", "depth", static_cast<int64_t>(c_.depth));
    if (const auto* tw = dynamic_cast<const TransformerWavefunction*>(&t.psi())) {
      f.set_attr("/model", "heads", static_cast<int64_t>(c_.heads));
      f.set_attr("/model", "kv_heads", static_cast<int64_t>(c_.kv_heads));
      f.set_attr("/model", "kv_share", static_cast<int64_t>(c_.kv_share));
      f.set_attr("/model", "kv_bytes_per_sample", tw->kv_bytes_per_sample());
    } else {
      f.set_attr("/model", "kernel", static_cast<int64_t>(c_.kernel));
      if (c_.network == Network::conv1d)
        f.set_attr("/model", "dilations", cli::join_ints(c_.dilations));
      f.set_attr("/model", "activation", std::string(cli::name_of(c_.activation)));
    }
  }
  f.set_attr("/model", "phase", std::string(cli::name_of(c_.phase)));
  if (c_.model == Ansatz::rbm || c_.network != Network::transformer)
    f.set_attr("/model", "init_scale", c_.init_scale);
  f.set_attr("/model", "dtype", std::string(cli::name_of(c_.dtype)));
  f.set_attr("/model", "n_params", t.psi().params().size());
  f.write_string("/model/layout", t.psi().params().layout_text());
  f.create_group("/sampler");
  f.set_attr("/sampler", "kind", std::string(t.sampler().kind()));
  f.set_attr("/sampler", "description", t.sampler().str());
  if (const auto* m = dynamic_cast<const MetropolisVmcSampler*>(&t.sampler())) {
    const MetropolisConfig& mc = m->chains().config();
    f.set_attr("/sampler", "rule", std::string(move_rule_name(mc.rule)));
    f.set_attr("/sampler", "n_chains", m->n_chains());
    f.set_attr("/sampler", "burn_in_sweeps", mc.n_burn_in_sweeps);
    f.set_attr("/sampler", "sweeps_between", mc.n_sweeps_between);
    f.set_attr("/sampler", "p_global", mc.p_global);
    f.set_attr("/sampler", "seed", static_cast<int64_t>(mc.seed));
  }
  f.create_group("/train");
  f.set_attr("/train", "optimizer",
             cat(t.optimizer().str(), " (", cli::name_of(c_.optimizer), ")"));
  f.set_attr("/train", "lr_schedule", c_.lr_schedule);
  f.set_attr("/train", "batch_schedule", t.schedule().str());
  f.set_attr("/train", "units", std::string("Pauli"));
}

std::string model_description(const VmcConfig& c) {
  if (c.model == Ansatz::rbm)
    return cat("rbm alpha ", c.alpha, " (", cli::name_of(c.phase), " parameters)");
  return cat("naqs_", cli::name_of(c.network),
             c.preset.empty() ? std::string() : cat(" (preset ", c.preset, ")"), " width ",
             c.width, " depth ", c.depth,
             c.network == Network::transformer
                 ? cat(" heads ", c.heads, " kv_heads ", c.kv_heads, " kv_share ", c.kv_share)
                 : std::string());
}

std::vector<std::string> run_header(const VmcConfig& c, Trainer& t, const ExactReference& exact,
                                    const dist::Communicator& comm) {
  std::vector<std::string> lines;
  if (exact.energy)
    lines.push_back(cat("vmc: exact energy ", fmt(*exact.energy, 12), " (", exact.method,
                        ", Pauli units)"));
  lines.push_back(cat("vmc: ", t.hamiltonian().str(), "; ", model_description(c), ", ",
                      t.psi().params().size(), " parameters (", cli::name_of(c.dtype), ", ",
                      device_name(t.psi().device()), "); ", cli::name_of(c.optimizer), " lr ",
                      c.lr, " (", c.lr_schedule, "), batch ", t.schedule().str(), ", ",
                      c.steps, " steps; ", t.sampler().str(),
                      comm.size() > 1 ? cat("; ", comm.description()) : ""));
  return lines;
}

std::string progress_fields(const StepRecord& r, const ExactReference& exact) {
  std::string s = cat("E = ", fmt(r.energy_mean, 8), " ± ", fmt(r.energy_err, 2), "  var ",
                      fmt(r.energy_var, 3));
  if (exact.energy)
    s += cat("  rel ", fmt(std::abs(r.energy_mean - *exact.energy) / std::abs(*exact.energy), 2));
  if (!std::isnan(r.acceptance)) s += cat("  acc ", fmt(r.acceptance, 2));
  s += cat("  ", fmt(r.batch_size / std::max(r.seconds, 1e-9), 3), " samples/s");
  return s;
}

std::string observables_table(const VmcObservables& o, const ExactReference& exact, int n_sites) {
  std::string t = cat("observables from ", o.n_samples, " ", o.sampler, " samples",
                      o.n_chains > 0 ? cat(" (", o.n_chains, " chains, acceptance ",
                                           fmt(o.acceptance, 3), ")")
                                     : std::string(),
                      " (Pauli units; S.S units are 1/4 of the Heisenberg energies)\n");
  char line[256];
  std::snprintf(line, sizeof line, "  %-14s %-30s %-18s %-10s %s\n", "observable", "VMC",
                "exact", "rel.err", "(VMC-exact)/err");
  t += line;
  auto row = [&](const char* name, const Estimate& e, const std::optional<double>& ex) {
    const std::string v = cat(fmt(e.mean, 10), " ± ", fmt(e.err, 2));
    if (ex) {
      const double rel = std::abs(e.mean - *ex) / std::max(std::abs(*ex), 1e-300);
      const double dev = e.err > 0 ? (e.mean - *ex) / e.err : kNaN;
      std::snprintf(line, sizeof line, "  %-14s %-30s %-18.12g %-10.2e %+.2f\n", name, v.c_str(),
                    *ex, rel, dev);
    } else {
      std::snprintf(line, sizeof line, "  %-14s %-30s %-18s\n", name, v.c_str(), "-");
    }
    t += line;
  };
  for (const ObservableRow& r : observable_table())
    row(r.label, o.*r.estimate, r.exact_value(exact, n_sites));
  const std::size_t n_show = std::min<std::size_t>(o.zz_corr.size(), 4);
  for (std::size_t r = 1; r <= n_show && r < o.zz_corr.size(); ++r) {
    const std::string name = cat("<Z_0 Z_", r, ">");
    row(name.c_str(), o.zz_corr[r],
        r < exact.zz_corr.size() ? std::optional<double>(exact.zz_corr[r]) : std::nullopt);
  }
  if (!exact.method.empty()) t += cat("  exact values by ", exact.method, "\n");
  if (!o.diagnostics.empty()) {
    std::snprintf(line, sizeof line, "  %-14s %-10s %-10s %-10s\n", "MCMC", "tau_int", "R-hat",
                  "ESS");
    t += line;
    for (const auto& [name, d] : o.diagnostics) {
      std::snprintf(line, sizeof line, "  %-14s %-10.3g %-10.4g %-10.4g%s\n", name.c_str(), d.tau,
                    d.r_hat, d.ess, chains_suspicious(d, kMinEss) ? "  <- warning" : "");
      t += line;
    }
  }
  return t;
}

}  // namespace naqs::vmc
