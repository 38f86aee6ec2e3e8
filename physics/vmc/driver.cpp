#include "physics/vmc/driver.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>

#include "host/core/error.hpp"
#include "host/core/progress.hpp"
#include "host/core/stop_signal.hpp"
#include "host/dist/comm.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"
#include "host/ops/fill.hpp"
#include "physics/local_energy.hpp"
#include "physics/naqs_conv1d.hpp"
#include "physics/naqs_conv2d.hpp"
#include "physics/rbm.hpp"
#include "physics/transformer_wavefunction.hpp"
#include "physics/vmc/checkpoint.hpp"
#include "physics/vmc/observable_table.hpp"

namespace naqs::vmc {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const std::vector<std::string> kTrainColumns = {
    "step",        "batch_size",  "lr",        "energy_mean",   "energy_err",
    "energy_var",  "energy_imag", "energy_rel_err", "grad_norm", "sr_iterations",
    "sr_residual", "seconds",     "acceptance", "energy_tau", "energy_r_hat"};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string fmt(double v, int prec = 8) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", prec, v);
  return buf;
}

SamplerSettings sampler_settings(const VmcConfig& c) {
  SamplerSettings s = c.sampler;
  s.seed = c.seed;
  return s;
}

// One line naming the model and its size.
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

// Everything of one training run that lives across steps.
class Trainer {
 public:
  explicit Trainer(const VmcConfig& c)
      : c_(c),
        H_(make_hamiltonian(c)),
        psi_(make_wavefunction(c)),
        sampler_(make_sampler(sampler_settings(c), *psi_, H_, make_hilbert(c), comm_)),
        schedule_(BatchSchedule::parse(c.batch_schedule)),
        lr_(nn::LrSchedule::parse(c.lr_schedule, c.lr, c.steps)) {
    NAQS_REQUIRE(c.steps >= 0, "steps must be >= 0, got ", c.steps);
    NAQS_REQUIRE(c.minibatch >= 1, "minibatch must be >= 1, got ", c.minibatch);
    NAQS_REQUIRE(c.checkpoint_every >= 0, "checkpoint_every must be >= 0");
    for (const BatchStage& st : schedule_.stages)
      sampler_->check_sample_count(st.batch_size, cat("batch size ", st.batch_size));
    NAQS_REQUIRE(c.obs_samples >= 2, "--obs-samples must be >= 2 (an error bar needs two "
                 "samples), got ", c.obs_samples);
    sampler_->check_sample_count(c.obs_samples, "obs_samples");
    if (c.observe_every > 0) {
      NAQS_REQUIRE(c.observe_samples >= 2, "--observe-samples must be >= 2, got ",
                   c.observe_samples);
      sampler_->check_sample_count(c.observe_samples, "observe_samples");
    }
    for (const BatchStage& st : schedule_.stages) {  // MPI: every rank gets samples
      const int64_t n_blocks = sampler_->split(st.batch_size).n_blocks();
      NAQS_REQUIRE(n_blocks >= comm_.size(), "batch size ", st.batch_size, " makes ", n_blocks,
                   " reduction block(s) (at least ", dist::kMinBlockRows, " samples each, at "
                   "most ", dist::kMaxBlocks, "), fewer than the ", comm_.size(), " MPI ranks: "
                   "use a batch of at least ", comm_.size() * dist::kMinBlockRows,
                   " or fewer ranks");
    }
    if (is_sr(c.optimizer)) {
      optimizer_ = std::make_unique<nn::Sgd>(0.0);
    } else {
      optimizer_ = nn::make_optimizer(cli::name_of(c.optimizer), c.adam, c.momentum,
                                      c.weight_decay);
    }
    Tensor flat = psi_->params().flat();
    if (!c.init_parameters.empty()) {
      NAQS_REQUIRE(static_cast<int64_t>(c.init_parameters.size()) == flat.numel(),
                   "warm-start parameters have ", c.init_parameters.size(),
                   " values, the model has ", flat.numel(), " (same model settings needed)");
      flat.copy_from(from_host_f64(c.init_parameters, {flat.numel()}, flat.dtype(),
                                   flat.device()));
    }
    optimizer_->init(flat);
    grad_ = Tensor::zeros(flat.shape(), flat.dtype(), flat.device());
  }

  const Hamiltonian& hamiltonian() const { return H_; }
  Wavefunction& psi() { return *psi_; }
  VmcSampler& sampler() { return *sampler_; }
  const BatchSchedule& schedule() const { return schedule_; }
  nn::Optimizer& optimizer() { return *optimizer_; }

  CheckpointState checkpoint_state(int64_t step) {
    CheckpointState s;
    s.step = step;
    s.batch_stage = schedule_.stage_at(step);
    s.seed = c_.seed;
    s.optimizer_steps = optimizer_->steps_taken();
    s.fingerprint_text = fingerprint_text(c_);
    s.layout_text = psi_->params().layout_text();
    s.params = psi_->params().flat();
    s.optimizer_state = optimizer_->state();
    s.sampler_state = sampler_->state_tensors();
    s.sampler_counter = sampler_->state_counter();
    s.run_id = run_id;
    return s;
  }

  // Restores parameters and optimiser state and `run_id`; returns the step to continue from.
  int64_t restore(const std::string& path) {
    CheckpointState s = checkpoint_state(0);
    load_checkpoint(path, s);
    run_id = s.run_id;
    optimizer_->set_steps_taken(s.optimizer_steps);
    sampler_->set_state(s.sampler_state, s.sampler_counter);
    NAQS_REQUIRE(s.batch_stage == schedule_.stage_at(s.step), "checkpoint '", path,
                 "' refused (left untouched): batch-schedule stage ", s.batch_stage,
                 " does not match step ", s.step, " of this run's schedule ", schedule_.str());
    return s.step;
  }

  StepRecord step(int64_t s);

  std::string run_id;  // the run identity's random part (host/io/ownership.hpp)

 private:
  dist::Communicator& comm_ = dist::world();  // before sampler_, which keeps it
  VmcConfig c_;
  Hamiltonian H_;
  std::unique_ptr<Wavefunction> psi_;
  std::unique_ptr<VmcSampler> sampler_;
  BatchSchedule schedule_;
  nn::LrSchedule lr_;
  std::unique_ptr<nn::Optimizer> optimizer_;
  Tensor grad_;
};

StepRecord Trainer::step(int64_t s) {
  const double t0 = now_s();
  const int64_t B = schedule_.batch_at(s);
  const int64_t P = psi_->params().size();
  const DType dt = psi_->dtype();
  const Device dev = psi_->device();
  const bool cplx = psi_->has_phase();
  LocalEnergyOptions lo;
  lo.memory_cap_bytes = c_.memory_cap_bytes;

  // Pass 1: samples and local energies, mini-batch by mini-batch. With MPI ranks, this rank's
  // rows [part.first, part.first + part.count) of the B global samples; the local energies of
  // all ranks are then gathered in global order, so every statistic below is the one-rank number.
  const dist::SampleSplit split = sampler_->split(B);
  const dist::Slice part = split.my_rows();
  SampleSet set;
  sampler_->draw(B, static_cast<uint64_t>(s), c_.minibatch, set);
  const std::vector<Tensor>& sigmas = set.sigma;
  std::vector<double> e_re, e_im;
  e_re.reserve(B);
  e_im.reserve(B);
  for (std::size_t k = 0; k < sigmas.size(); ++k) {
    const int64_t b = sigmas[k].size(0);
    Tensor er = Tensor::empty({b}, dt, dev), ei = Tensor::empty({b}, dt, dev);
    local_energy(*psi_, H_, sigmas[k], set.log_re[k], set.log_im[k], er, ei, lo);
    const std::vector<double> ver = to_host_f64(er), vei = to_host_f64(ei);
    e_re.insert(e_re.end(), ver.begin(), ver.end());
    e_im.insert(e_im.end(), vei.begin(), vei.end());
  }
  if (comm_.size() > 1) {
    e_re = dist::all_gather(comm_, e_re);
    e_im = dist::all_gather(comm_, e_im);
  }

  StepRecord r;
  r.step = s;
  r.batch_size = B;
  r.lr = lr_.at(s);
  double sum_re = 0, sum_im = 0;
  for (int64_t k = 0; k < B; ++k) {
    if (!std::isfinite(e_re[k]) || !std::isfinite(e_im[k]))
      throw Error(cat("non-finite local energy at step ", s, " (sample ", k, ": E_loc = ",
                      e_re[k], " + ", e_im[k], "i); the run stops here"));
    sum_re += e_re[k];
    sum_im += e_im[k];
  }
  r.energy_mean = sum_re / B;
  r.energy_imag = sum_im / B;
  double var = 0;
  std::vector<double> eps_re(B), eps_im(B);
  for (int64_t k = 0; k < B; ++k) {
    eps_re[k] = e_re[k] - r.energy_mean;
    eps_im[k] = e_im[k] - r.energy_imag;
    var += eps_re[k] * eps_re[k] + eps_im[k] * eps_im[k];
  }
  r.energy_var = var / B;
  r.energy_err = B > 1 ? std::sqrt(var / (B - 1) / B) : 0.0;
  if (set.n_chains > 0) {
    ChainSummary d;
    r.energy_err = estimate_chains(e_re, set.n_chains, &d).err;
    r.acceptance = set.acceptance;
    r.energy_tau = d.tau;
    r.energy_r_hat = d.r_hat;
  }

  // Pass 2: gradient (first-order) or per-sample gradients (SR). Sums over samples go block by
  // block through dist::reduce_blocks (bitwise the same for any number of ranks); a block's
  // chunks (never straddling blocks) are accumulated in order.
  Tensor flat = psi_->params().flat();
  if (!is_sr(c_.optimizer)) {
    dist::reduce_blocks(split, grad_, [&](int64_t block, dist::Slice, Tensor& partial) {
      const dist::Slice rows = split.block_rows(block);
      bool first = true;
      for (std::size_t c = 0; c < sigmas.size(); ++c) {
        const int64_t lo_row = std::max(rows.first, set.rows[c].first);
        const int64_t hi_row = std::min(rows.first + rows.count, set.rows[c].first +
                                        set.rows[c].count);
        if (lo_row >= hi_row) continue;
        const int64_t b = hi_row - lo_row;
        std::vector<double> w_re(b), w_im(b);
        for (int64_t k = 0; k < b; ++k) {
          w_re[k] = 2 * eps_re[lo_row + k] / B;
          w_im[k] = 2 * eps_im[lo_row + k] / B;
        }
        const Tensor wr = from_host_f64(w_re, {b}, dt, dev);
        const Tensor wi = cplx ? from_host_f64(w_im, {b}, dt, dev) : Tensor();
        psi_->grad_log_psi(sigmas[c].narrow(lo_row - set.rows[c].first, b), wr, wi, partial,
                           /*accumulate=*/!first);
        first = false;
      }
    });
  } else {
    Tensor o_re = Tensor::empty({part.count, P}, dt, dev);
    Tensor o_im = cplx ? Tensor::empty({part.count, P}, dt, dev) : Tensor();
    int64_t first = 0;
    for (std::size_t c = 0; c < sigmas.size(); first += sigmas[c].size(0), ++c) {
      const int64_t b = sigmas[c].size(0);
      Tensor jr = o_re.narrow(first, b);
      Tensor ji = cplx ? o_im.narrow(first, b) : Tensor();
      psi_->per_sample_grad(sigmas[c], jr, ji);
    }
    optim::centre_samples(o_re, split);
    if (cplx) optim::centre_samples(o_im, split);
    auto mine = [&](const std::vector<double>& v) {  // this rank's rows of eps
      return std::vector<double>(v.begin() + part.first, v.begin() + part.first + part.count);
    };
    const Tensor er = from_host_f64(mine(eps_re), {part.count}, dt, dev);
    const Tensor ei = cplx ? from_host_f64(mine(eps_im), {part.count}, dt, dev) : Tensor();
    optim::SrInfo info;
    if (c_.optimizer == OptimizerKind::minsr) {
      info = optim::minsr_solve(o_re, o_im, er, ei, c_.sr.diag_shift, grad_, split);
    } else {
      Tensor f = Tensor::empty({P}, dt, dev);
      optim::sr_force(o_re, o_im, er, ei, f, split);
      info = optim::sr_solve_cg(o_re, o_im, f, c_.sr, grad_, split);
    }
    r.sr_iterations = info.iterations;
    r.sr_residual = info.residual;
  }
  r.grad_norm = nn::norm2(grad_);
  if (!std::isfinite(r.grad_norm))
    throw Error(cat("non-finite gradient at step ", s, " (norm ", r.grad_norm,
                    ", energy ", r.energy_mean, "); the run stops here"));
  if (c_.grad_clip > 0) nn::clip_grad_norm(grad_, c_.grad_clip);  // grad_norm: before clipping
  optimizer_->step(flat, grad_, r.lr);
  r.seconds = now_s() - t0;
  return r;
}

// The HDF5 output of a run (optional).
class Output {
 public:
  // reopen: continue the existing output (its identity was checked by the caller) from
  // first_step; otherwise create it exclusively with `identity`.
  Output(const VmcConfig& c, Trainer& t, int64_t first_step, bool reopen,
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

  void append(const StepRecord& r, const ExactReference& exact) {
    if (!train_) return;
    const double rel =
        exact.energy ? std::abs(r.energy_mean - *exact.energy) / std::abs(*exact.energy) : kNaN;
    train_->append({static_cast<double>(r.step), static_cast<double>(r.batch_size), r.lr,
                    r.energy_mean, r.energy_err, r.energy_var, r.energy_imag, rel, r.grad_norm,
                    static_cast<double>(r.sr_iterations), r.sr_residual, r.seconds, r.acceptance,
                    r.energy_tau, r.energy_r_hat});
  }

  void append_observables(int64_t step, const VmcObservables& o) {
    if (!observe_) return;
    observe_->append(observe_row(step, o));
  }

  void finish(Trainer& t, const VmcObservables& o, const ExactReference& exact) {
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

  void flush() {
    if (file_) file_->flush();
  }

 private:
  void write_static(H5File& f, Trainer& t) {
    const Hamiltonian& H = t.hamiltonian();
    f.create_group("/system");
    f.set_attr("/system", "model", std::string(cli::name_of(c_.hamiltonian)));
    f.set_attr("/system", "lattice", H.lattice().str());
    f.set_attr("/system", "n_sites", static_cast<int64_t>(H.n_sites()));
    f.set_attr("/system", "J", c_.J);
    f.set_attr("/system", "h", c_.h);
    f.set_attr("/system", "hz", c_.hz);
    f.set_attr("/system", "delta", c_.delta);
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
    if (c_.network != Network::transformer || c_.model == Ansatz::rbm)
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

  VmcConfig c_;
  std::unique_ptr<H5File> file_;
  std::unique_ptr<H5Trace> train_, observe_;
};

std::string progress_fields(const StepRecord& r, const ExactReference& exact) {
  std::string s = cat("E = ", fmt(r.energy_mean, 8), " ± ", fmt(r.energy_err, 2), "  var ",
                      fmt(r.energy_var, 3));
  if (exact.energy)
    s += cat("  rel ", fmt(std::abs(r.energy_mean - *exact.energy) / std::abs(*exact.energy), 2));
  if (!std::isnan(r.acceptance)) s += cat("  acc ", fmt(r.acceptance, 2));
  s += cat("  ", fmt(r.batch_size / std::max(r.seconds, 1e-9), 3), " samples/s");
  return s;
}

}  // namespace

// ---- construction -----------------------------------------------------------------------------

Hamiltonian make_hamiltonian(const VmcConfig& c) {
  const bool px = c.boundary.x == Boundary::pbc, py = c.boundary.y == Boundary::pbc;
  Lattice lat = [&] {
    if (c.lattice == LatticeKind::chain) {
      NAQS_REQUIRE(c.length_y == 1, "a chain has length_y = 1, got ", c.length_y);
      NAQS_REQUIRE(px == py, "--boundary: a chain has one direction, got '",
                   cli::Codec<Boundaries>::text(c.boundary), "'");
      return Lattice::chain(c.length_x, px);
    }
    return Lattice::square(c.length_x, c.length_y, px, py);
  }();
  ModelParams p;
  p.model = c.hamiltonian;
  p.J = c.J;
  p.h = c.h;
  p.hz = c.hz;
  p.Delta = c.delta;
  p.marshall = c.marshall;
  return Hamiltonian(lat, p);
}

SpinHilbert make_hilbert(const VmcConfig& c) {
  return c.magnetisation ? SpinHilbert::with_magnetisation(n_sites(c), *c.magnetisation)
                        : SpinHilbert::full(n_sites(c));
}

std::unique_ptr<Wavefunction> make_wavefunction(const VmcConfig& c) {
  return c.model == Ansatz::rbm ? make_rbm(c) : make_naqs(c);
}

std::unique_ptr<Wavefunction> make_rbm(const VmcConfig& c) {
  NAQS_REQUIRE(c.init_scale > 0, "rbm: --init-scale (parameter stddev) must be > 0");
  RbmConfig r;
  r.n_sites = n_sites(c);
  r.alpha = c.alpha;
  r.complex = c.phase == PhaseMode::complex;
  auto psi = std::make_unique<Rbm>(r, c.dtype, resolve_device(c.device));
  psi->init_random(c.seed, c.init_scale);
  return psi;
}

VmcConfig apply_preset(VmcConfig c) {
  if (c.preset.empty()) return c;
  const NaqsConv2dConfig p = naqs_conv2d_preset(c.preset);
  NAQS_REQUIRE(c.lattice == LatticeKind::square && c.length_x == p.lx && c.length_y == p.ly,
               "preset '", c.preset, "' is a naqs_conv2d model for the ", p.lx, "x", p.ly,
               " square (--lattice square --L ", p.lx, " --Ly ", p.ly, "), not for ",
               cli::name_of(c.lattice), " ", c.length_x, "x", c.length_y);
  c.network = Network::conv2d;
  c.width = p.width;
  c.depth = p.depth;
  c.kernel = p.kernel;
  return c;
}

std::unique_ptr<AutoregressiveWavefunction> make_naqs(const VmcConfig& config) {
  const VmcConfig c = apply_preset(config);
  const DType dtype = c.dtype;
  if (c.network == Network::conv2d) {
    NAQS_REQUIRE(c.lattice == LatticeKind::square, "network conv2d needs --lattice square, got '",
                 cli::name_of(c.lattice), "' (use conv1d for chains)");
    NaqsConv2dConfig m;
    m.lx = c.length_x;
    m.ly = c.length_y;
    m.width = c.width;
    m.depth = c.depth;
    m.kernel = c.kernel;
    m.phase_mode = c.phase;
    auto psi = std::make_unique<NaqsConv2d>(m, dtype, resolve_device(c.device), c.seed);
    psi->initialise(c.seed, c.init_scale);
    psi->set_hilbert(make_hilbert(c));
    return psi;
  }
  if (c.network == Network::transformer) {
    TransformerWavefunctionConfig m;
    m.n_sites = n_sites(c);
    m.width = c.width;
    m.depth = c.depth;
    m.heads = c.heads;
    m.kv_heads = c.kv_heads;
    m.kv_share = c.kv_share;
    m.phase_mode = c.phase;
    auto psi = std::make_unique<TransformerWavefunction>(m, dtype, resolve_device(c.device),
                                                         c.seed);
    psi->set_hilbert(make_hilbert(c));
    return psi;
  }
  NaqsConv1dConfig m;
  m.n_sites = n_sites(c);
  m.width = c.width;
  m.depth = c.depth;
  m.kernel = c.kernel;
  m.dilations = c.dilations;
  m.activation = c.activation;
  m.phase_mode = c.phase;
  NAQS_REQUIRE(c.width >= 1 && c.depth >= 0 && c.kernel >= 1 && !c.dilations.empty(),
               "bad model size: width ", c.width, ", depth ", c.depth, ", kernel ", c.kernel);
  auto psi = std::make_unique<NaqsConv1d>(m, dtype, resolve_device(c.device), c.seed);
  psi->initialise(c.seed, c.init_scale);
  psi->set_hilbert(make_hilbert(c));
  return psi;
}

// ---- the run ----------------------------------------------------------------------------------

VmcResult run_vmc(const VmcConfig& config) {
  const double t_start = now_s();
  // MPI ranks (host/dist/comm.hpp): one GPU per rank; only rank 0 prints, computes the exact
  // reference, writes the output and the checkpoints. Every rank reads a checkpoint to resume.
  dist::Communicator& comm = dist::world();
  VmcConfig c = apply_preset(config);
  c.device = dist::rank_device(comm, c.device);
  if (!comm.is_root()) {
    c.quiet = true;
    c.max_ed_sites = 0;
  }
  Trainer trainer(c);
  VmcResult result;
  result.n_params = trainer.psi().params().size();
  auto say = [&](const std::string& text) {
    if (!c.quiet) std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  };

  // Ownership (host/io/ownership.hpp), all decided before any work: output and checkpoint are
  // different files in writable directories; a new run creates its output exclusively with a
  // fresh run identity; --resume continues an output only when its identity (settings
  // fingerprint + run id) is the checkpoint's, and refuses anything else with one line.
  ResumeRequest req;
  req.command = "vmc";
  req.output = comm.is_root() ? c.output : "";
  req.checkpoint = c.checkpoint;
  req.resume = c.resume;
  req.check_paths = comm.is_root();
  req.fingerprint = fingerprint_hash(fingerprint_text(c));
  req.steps = c.steps;
  req.restore = [&](std::string* run_id) {
    const int64_t step = trainer.restore(c.checkpoint);
    *run_id = trainer.run_id;
    return step;
  };
  req.say = say;
  const ResumePlan plan = plan_resume(req);
  const int64_t first_step = plan.first_step;
  const bool resumed = plan.resumed, reopen = plan.reopen;
  const bool already_complete = plan.already_complete;
  RunIdentity identity = plan.identity;
  if (comm.size() > 1) {  // every rank writes rank 0's run id into its checkpoint state
    char buf[32] = {};
    if (comm.is_root())
      std::memcpy(buf, identity.run_id.data(), std::min<std::size_t>(32, identity.run_id.size()));
    comm.broadcast_bytes(buf, 32, 0);
    identity.run_id.assign(buf, strnlen(buf, 32));
  }
  trainer.run_id = identity.run_id;
  result.first_step = first_step;

  VmcConfig c_out = c;
  if (!comm.is_root() || already_complete) c_out.output.clear();
  Output out(c_out, trainer, first_step, reopen, identity);  // before ED
  result.exact = exact_reference(trainer.hamiltonian(), c.max_ed_sites, Device::cpu());
  if (result.exact.energy)
    say(cat("vmc: exact energy ", fmt(*result.exact.energy, 12), " (", result.exact.method,
            ", Pauli units)"));
  say(cat("vmc: ", trainer.hamiltonian().str(), "; ", model_description(c), ", ",
          result.n_params, " parameters (", cli::name_of(c.dtype), ", ",
          device_name(trainer.psi().device()), "); ", cli::name_of(c.optimizer), " lr ", c.lr, " (",
          c.lr_schedule, "), batch ", trainer.schedule().str(), ", ", c.steps, " steps; ",
          trainer.sampler().str(), comm.size() > 1 ? cat("; ", comm.description()) : ""));

  auto observe = [&](int64_t n_samples, uint64_t stream, bool stoppable = false) {
    ObservableOptions oo;
    if (stoppable) oo.should_stop = [] { return stop_requested(); };
    oo.n_samples = n_samples;
    oo.batch_size = c.minibatch;
    oo.seed = c.seed;
    oo.stream = stream;
    oo.memory_cap_bytes = c.memory_cap_bytes;
    return measure_observables(trainer.psi(), trainer.hamiltonian(), trainer.sampler(), oo);
  };
  auto save = [&](int64_t steps_done) {
    if (c.checkpoint.empty()) return;
    const CheckpointState state = trainer.checkpoint_state(steps_done);  // collective (chains)
    if (comm.is_root()) save_checkpoint(c.checkpoint, state);
  };

  StopSignalGuard signals;
  ProgressOptions po;
  po.label = "vmc";
  po.total = c.steps;
  po.first_step = first_step;
  po.quiet = c.quiet;
  Progress progress(po);
  int64_t s = first_step;
  int64_t last_checkpoint = resumed ? first_step : -1;
  for (; s < c.steps; ++s) {
    StepRecord r;
    try {
      r = trainer.step(s);
    } catch (const UsageError&) {
      throw;
    } catch (const Error& e) {
      out.flush();
      throw Error(cat(e.what(), last_checkpoint >= 0
                                    ? cat("; the last good checkpoint '", c.checkpoint,
                                          "' (step ", last_checkpoint, ") is kept unchanged")
                                    : std::string("; no checkpoint had been written yet")));
    }
    result.trace.push_back(r);
    out.append(r, result.exact);
    progress.update(s + 1, progress_fields(r, result.exact));
    // The step's periodic observables belong to the step: measured before its checkpoint even
    // when a signal asked to stop, so a resumed file has every row an uninterrupted one has.
    if (c.observe_every > 0 && (s + 1) % c.observe_every == 0)
      out.append_observables(
          s + 1, observe(c.observe_samples, kObservableStream + static_cast<uint64_t>(s + 1)));
    const bool stop = dist::any(comm, stop_requested());  // all ranks stop after the same step
    if (stop || (c.checkpoint_every > 0 && (s + 1) % c.checkpoint_every == 0)) {
      save(s + 1);
      if (!c.checkpoint.empty()) last_checkpoint = s + 1;
    }
    if (stop) {
      ++s;
      result.interrupted = true;
      result.stop_signal = stop_signal();
      break;
    }
  }
  result.steps_done = s;
  if (result.interrupted) {
    out.flush();
    progress.finish();
    say(cat("vmc: stopped by signal ", result.stop_signal, " after step ", s,
            (c.checkpoint.empty() ? std::string("; no checkpoint file was configured")
                                  : cat("; checkpoint written to '", c.checkpoint,
                                        "' (continue with --resume)"))));
    result.seconds = now_s() - t_start;
    return result;
  }
  if (last_checkpoint != s) save(s);
  progress.finish();

  // The final measurement: a stop signal during it leaves the run resumable (the checkpoint at
  // the last step is written; --resume measures again, with the same samples).
  bool measured = false;
  try {
    result.observables = observe(c.obs_samples, kObservableStream, /*stoppable=*/true);
    measured = !dist::any(comm, stop_requested());
  } catch (const MeasurementStopped&) {
  }
  if (!measured) {
    out.flush();
    result.interrupted = true;
    result.stop_signal = stop_signal();
    say(cat("vmc: stopped by signal ", result.stop_signal, " during the final measurement",
            c.checkpoint.empty() ? std::string("; no checkpoint file was configured")
                                 : cat("; checkpoint '", c.checkpoint, "' is at step ", s,
                                       " (continue with --resume)")));
    result.seconds = now_s() - t_start;
    return result;
  }
  result.have_observables = true;
  for (const std::string& w : result.observables.warnings)
    std::fprintf(stderr, "vmc: warning: %s\n", w.c_str());
  out.finish(trainer, result.observables, result.exact);
  result.seconds = now_s() - t_start;
  return result;
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
