// The MCMC breakdown study: see breakdown.hpp.
#include "validation/breakdown/breakdown.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <variant>

#include "host/cli/number.hpp"
#include "host/core/error.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"
#include "physics/vmc/driver.hpp"

namespace naqs::breakdown {
namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Forwards to a sampler and adds up the seconds spent drawing (the sampler's own cost).
class TimedSampler final : public vmc::VmcSampler {
 public:
  explicit TimedSampler(std::unique_ptr<vmc::VmcSampler> inner)
      : VmcSampler(inner->comm()), inner_(std::move(inner)) {}
  const char* kind() const override { return inner_->kind(); }
  int64_t n_chains() const override { return inner_->n_chains(); }
  void check_sample_count(int64_t n, const std::string& what) const override {
    inner_->check_sample_count(n, what);
  }
  dist::SampleSplit split(int64_t n) const override { return inner_->split(n); }
  void draw(int64_t n, uint64_t stream, int64_t minibatch, vmc::SampleSet& out) override {
    const double t0 = now_s();
    inner_->draw(n, stream, minibatch, out);
    seconds_ += now_s() - t0;
  }
  std::string str() const override { return inner_->str(); }
  double seconds() const { return seconds_; }

 private:
  std::unique_ptr<vmc::VmcSampler> inner_;
  double seconds_ = 0;
};

const std::vector<std::string> kQuantities = {"energy", "mz", "abs_mz", "mz2"};
const std::vector<std::string> kMethods = {"naqs_exact", "naqs_metropolis", "naqs_metropolis_gf",
                                           "rbm_metropolis"};

// Columns of one method over the fields: name -> values (one per h).
using Columns = std::map<std::string, std::vector<double>>;

struct MethodResult {
  Columns columns;
  std::string description, warnings;
};

void record(MethodResult& m, const vmc::VmcObservables& o, double seconds, double h) {
  const std::map<std::string, vmc::Estimate> est = {
      {"energy", o.energy}, {"mz", o.mz}, {"abs_mz", o.abs_mz}, {"mz2", o.mz2}};
  for (const std::string& q : kQuantities) {
    double tau = 1, r_hat = kNaN, ess = static_cast<double>(o.n_samples);  // i.i.d. samples
    for (const auto& [name, d] : o.diagnostics)
      if (name == q) {
        tau = d.tau;
        r_hat = d.r_hat;
        ess = d.ess;
      }
    m.columns[q + "_mean"].push_back(est.at(q).mean);
    m.columns[q + "_err"].push_back(est.at(q).err);
    m.columns[q + "_tau"].push_back(tau);
    m.columns[q + "_r_hat"].push_back(r_hat);
    m.columns[q + "_ess"].push_back(ess);
    m.columns[q + "_ess_per_s"].push_back(ess / std::max(seconds, 1e-9));
  }
  m.columns["acceptance"].push_back(o.n_chains > 0 ? o.acceptance : kNaN);
  m.columns["sample_seconds"].push_back(seconds);
  m.columns["n_warnings"].push_back(static_cast<double>(o.warnings.size()));
  for (const std::string& w : o.warnings) m.warnings += cat("h = ", h, ": ", w, "\n");
}

std::string h_tag(double h) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", h);
  return buf;
}

// Copies the final /model/parameters of a run file into psi (f64 models).
void load_parameters(Wavefunction& psi, const std::string& path) {
  const std::vector<double> p = H5File::open_read(path).read_doubles("/model/parameters");
  Tensor flat = psi.params().flat();
  NAQS_CHECK(static_cast<int64_t>(p.size()) == flat.numel(), "breakdown: ", path, " holds ",
             p.size(), " parameters, the model has ", flat.numel());
  flat.copy_from(Tensor::from_vector(p, flat.shape()));
}

// Trains with run_vmc (output file c.output, no checkpoint; its warnings to `console`) and returns
// the wavefunction with the final parameters read back from that file.
std::unique_ptr<Wavefunction> train(const vmc::VmcConfig& c, const Console& console) {
  vmc::run_vmc(c, console.warnings_only());
  auto psi = vmc::make_wavefunction(c);
  load_parameters(*psi, c.output);
  return psi;
}

}  // namespace

std::unique_ptr<AutoregressiveWavefunction> load_naqs_run(const std::string& path,
                                                          double& h_out) {
  const H5File f = H5File::open_read(path);
  auto attr = [&](const char* obj, const char* name) { return f.get_attr(obj, name); };
  auto text = [&](const char* obj, const char* name) {
    return std::get<std::string>(attr(obj, name));
  };
  auto integer = [&](const char* obj, const char* name) {
    return static_cast<int>(std::get<int64_t>(attr(obj, name)));
  };
  NAQS_REQUIRE(text("/model", "architecture") == "naqs_conv1d", "'", path,
               "' does not hold a naqs_conv1d model");
  vmc::VmcConfig c;
  c.length_x = integer("/system", "n_sites");
  c.width = integer("/model", "width");
  c.depth = integer("/model", "depth");
  c.kernel = integer("/model", "kernel");
  c.dilations.clear();
  const std::string dil = text("/model", "dilations");
  for (std::size_t a = 0; a < dil.size();) {
    const std::size_t b = std::min(dil.find(',', a), dil.size());
    c.dilations.push_back(cli::parse_checked<int>(dil.substr(a, b - a), cat("'", path, "' /model dilations"), cli::Range<int>{1, 1 << 20}));
    a = b + 1;
  }
  const std::string where = cat("'", path, "' /model ");
  c.activation = cli::parse_choice<Activation>(text("/model", "activation"), where + "activation");
  c.phase = cli::parse_choice<PhaseMode>(text("/model", "phase"), where + "phase");
  c.dtype = cli::parse_choice<DType>(text("/model", "dtype"), where + "dtype");
  h_out = std::get<double>(attr("/system", "h"));
  auto psi = vmc::make_naqs(c);
  load_parameters(*psi, path);
  return psi;
}

std::string run_breakdown(const BreakdownConfig& bc, const Console& console) {
  NAQS_REQUIRE(bc.n_sites >= 4 && bc.n_sites <= 24, "breakdown: n_sites must be in [4, 24] (ED "
               "reference), got ", bc.n_sites);
  NAQS_REQUIRE(!bc.fields.empty(), "breakdown: no fields given");
  // Everything the runs below would refuse, refused before the first of them trains.
  NAQS_REQUIRE(bc.n_chains >= 1, "breakdown: --chains must be >= 1, got ", bc.n_chains);
  NAQS_REQUIRE(bc.n_samples >= 2 && bc.n_samples % bc.n_chains == 0, "breakdown: --samples (",
               bc.n_samples, ") must be a multiple of the ", bc.n_chains, " chains (--chains)");
  NAQS_REQUIRE(bc.rbm_batch >= bc.n_chains && bc.rbm_batch % bc.n_chains == 0,
               "breakdown: --rbm-batch (", bc.rbm_batch, ") must be a multiple of the ",
               bc.n_chains, " chains (--chains)");
  NAQS_REQUIRE(bc.naqs_batch >= 1, "breakdown: --naqs-batch must be >= 1");
  NAQS_REQUIRE(bc.burn_in >= 0, "breakdown: --burn-in must be >= 0");
  NAQS_REQUIRE(bc.p_global >= 0 && bc.p_global <= 1, "breakdown: --global-flip must be in [0, 1]");
  const fs::path dir(bc.out_dir);
  const std::string out = (dir / "breakdown.h5").string();
  NAQS_REQUIRE(!path_present(out), "breakdown: '", out,
               "' exists; choose another --out (results are never overwritten)");
  std::error_code ec;
  fs::create_directories(dir, ec);
  NAQS_REQUIRE(!ec, "breakdown: cannot create --out '", bc.out_dir, "': ", ec.message());
  check_output_path("--out", out, /*must_not_exist=*/true);
  auto say = [&](const std::string& s) { console.say(s); };

  vmc::VmcConfig base;
  base.length_x = bc.n_sites;
  base.J = bc.J;
  base.optimizer = vmc::OptimizerKind::sr;
  base.lr = 0.05;
  base.obs_samples = 1024;
  base.max_ed_sites = 0;  // ED once per h below
  base.checkpoint_every = 0;
  base.seed = bc.seed;
  base.quiet = true;  // recorded in the runs' settings (their lines are not shown)
  base.command_line = bc.command_line;
  base.config_text = bc.config_text;

  std::map<std::string, MethodResult> results;
  Columns exact;
  std::vector<std::string> run_files;
  say(cat("breakdown: periodic TFIM chain N = ", bc.n_sites, ", J = ", bc.J, ", ", bc.n_samples,
          " samples per method; Metropolis ", bc.n_chains, " chains, ", bc.burn_in,
          " burn-in sweeps; global-flip probability ", bc.p_global, " (naqs_metropolis_gf)"));
  say("#   h  method               <m_z>               <|m_z|> (ED)                 "
      "<m_z^2> (ED)                 E rel.err  R-hat(m_z)  tau(|m_z|)  ESS/s(|m_z|)  acc");
  for (const double h : bc.fields) {
    vmc::VmcConfig c = base;
    c.h = h;
    const Hamiltonian H = vmc::make_hamiltonian(c);
    const vmc::ExactReference ref = vmc::exact_reference(H, bc.n_sites, Device::cpu());
    exact["energy"].push_back(ref.energy.value_or(kNaN));
    exact["abs_mz"].push_back(ref.abs_mz.value_or(kNaN));
    exact["mz2"].push_back(ref.mz2.value_or(kNaN));
    exact["mz"].push_back(0.0);  // spin-flip symmetry (hz = 0)

    vmc::VmcConfig cn = c;
    cn.model = vmc::Ansatz::naqs;
    cn.width = bc.naqs_width;
    cn.depth = bc.naqs_depth;
    cn.steps = bc.naqs_steps;
    cn.batch_schedule = std::to_string(bc.naqs_batch);
    cn.output = (dir / ("naqs_h" + h_tag(h) + ".h5")).string();
    vmc::VmcConfig cr = c;
    cr.model = vmc::Ansatz::rbm;
    cr.alpha = bc.rbm_alpha;
    cr.init_scale = 0.01;
    cr.sampler.kind = vmc::SamplerKind::metropolis;
    cr.sampler.n_chains = bc.n_chains;
    cr.steps = bc.rbm_steps;
    cr.batch_schedule = std::to_string(bc.rbm_batch);
    cr.output = (dir / ("rbm_h" + h_tag(h) + ".h5")).string();
    run_files.push_back(cn.output);
    run_files.push_back(cr.output);
    const auto naqs = train(cn, console);
    const auto rbm = train(cr, console);

    vmc::ObservableOptions oo;
    oo.n_samples = bc.n_samples;
    oo.batch_size = 1024;
    oo.stream = vmc::kObservableStream;
    vmc::SamplerSettings ms;
    ms.kind = vmc::SamplerKind::metropolis;
    ms.n_chains = bc.n_chains;
    ms.burn_in = bc.burn_in;
    ms.seed = bc.seed;
    for (const std::string& method : kMethods) {
      Wavefunction& psi = method == "rbm_metropolis" ? *rbm : *naqs;
      vmc::SamplerSettings s = ms;
      if (method == "naqs_exact") s.kind = vmc::SamplerKind::exact;
      if (method == "naqs_metropolis_gf") s.p_global = bc.p_global;
      TimedSampler sampler(vmc::make_sampler(s, psi, H, SpinHilbert::full(H.n_sites())));
      const vmc::VmcObservables o = vmc::measure_observables(psi, H, sampler, oo);
      MethodResult& m = results[method];
      m.description = sampler.str();
      record(m, o, sampler.seconds(), h);
      const double e_rel = ref.energy ? std::abs(o.energy.mean - *ref.energy) / std::abs(*ref.energy)
                                      : kNaN;
      char line[400];
      std::snprintf(line, sizeof line,
                    "%5.2f  %-18s %+8.5f ± %-8.2g %8.5f ± %-8.2g (%.5f) %8.5f ± %-8.2g (%.5f) "
                    "%-9.2e  %-10.3g  %-10.3g  %-12.4g  %.3f",
                    h, method.c_str(), o.mz.mean, o.mz.err, o.abs_mz.mean, o.abs_mz.err,
                    ref.abs_mz.value_or(kNaN), o.mz2.mean, o.mz2.err, ref.mz2.value_or(kNaN),
                    e_rel, m.columns["mz_r_hat"].back(), m.columns["abs_mz_tau"].back(),
                    m.columns["abs_mz_ess_per_s"].back(), m.columns["acceptance"].back());
      say(line);
    }
  }

  H5File f = H5File::create_exclusive(out);
  write_provenance(f, bc.command_line, bc.config_text, "cpu",
                   {{"seed", static_cast<int64_t>(bc.seed)}});
  f.create_group("/system");
  f.set_attr("/system", "model", std::string("tfim"));
  f.set_attr("/system", "lattice", cat("chain L=", bc.n_sites, " pbc"));
  f.set_attr("/system", "n_sites", static_cast<int64_t>(bc.n_sites));
  f.set_attr("/system", "J", bc.J);
  f.set_attr("/system", "hz", 0.0);
  f.set_attr("/system", "units", std::string("Pauli"));
  f.create_group("/breakdown");
  f.set_attr("/breakdown", "naqs", cat("naqs_conv1d width ", bc.naqs_width, " depth ",
                                       bc.naqs_depth, ", SR, ", bc.naqs_steps, " steps x ",
                                       bc.naqs_batch, " exact samples"));
  f.set_attr("/breakdown", "rbm", cat("rbm alpha ", bc.rbm_alpha, ", SR, ", bc.rbm_steps,
                                      " steps x ", bc.rbm_batch, " Metropolis samples (",
                                      bc.n_chains, " chains)"));
  f.set_attr("/breakdown", "n_samples", bc.n_samples);
  f.set_attr("/breakdown", "n_chains", bc.n_chains);
  f.set_attr("/breakdown", "burn_in_sweeps", bc.burn_in);
  f.set_attr("/breakdown", "p_global", bc.p_global);
  std::string files;
  for (const std::string& r : run_files) files += r + "\n";
  f.write_string("/breakdown/run_files", files);
  const int64_t n_h = static_cast<int64_t>(bc.fields.size());
  f.write_dataset("/h", bc.fields, {n_h});
  f.create_group("/exact");
  f.set_attr("/exact", "method", std::string("jordan_wigner+lanczos (mz: 0 by symmetry)"));
  for (const auto& [name, v] : exact) f.write_dataset("/exact/" + name, v, {n_h});
  for (const auto& [method, m] : results) {
    const std::string g = "/" + method;
    f.create_group(g);
    f.set_attr(g, "sampler", m.description);
    f.set_attr(g, "wavefunction", method.rfind("rbm", 0) == 0 ? std::string("rbm")
                                                                : std::string("naqs"));
    for (const auto& [name, v] : m.columns) f.write_dataset(g + "/" + name, v, {n_h});
    f.write_string(g + "/warnings", m.warnings);
  }
  finish_provenance(f);
  f.close();
  say(cat("breakdown: results in '", out, "'"));
  return out;
}

}  // namespace naqs::breakdown
