// The VMC training step; see trainer.hpp.
#include "physics/vmc/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "host/core/error.hpp"
#include "physics/operator/local_energy.hpp"
#include "physics/vmc/observables.hpp"

namespace naqs::vmc {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

SamplerSettings sampler_settings(const VmcConfig& c) {
  SamplerSettings s = c.sampler;
  s.seed = c.seed;
  return s;
}

}  // namespace

Trainer::Trainer(const VmcConfig& c)
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

CheckpointState Trainer::checkpoint_state(int64_t step) {
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

int64_t Trainer::restore(const std::string& path) {
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

}  // namespace naqs::vmc
