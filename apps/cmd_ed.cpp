// naqs ed: exact ground states (Lanczos) of the TFIM or Heisenberg/XXZ model on a chain or a
// square lattice, for one field or a sweep over --h. Prints a table and, with --out, writes an
// HDF5 file (layout below). Pauli units throughout (DESIGN.md §1); Heisenberg energies are also
// printed in S·S units (¼ of Pauli).
//
// Every input is validated, and the memory need of the largest point estimated, before any
// computation or file creation; a bad request is one UsageError line (exit 2) and leaves no file.
// The file is written at the end through a temp file published without replacing anything
// (write_new_atomically, host/io/ownership.hpp), so a failure midway leaves nothing behind and
// two runs with the same --out never silently replace each other's result.
//
// HDF5 layout (h5py: f["ed/energy"][:]):
//   /            provenance attributes (write_provenance / finish_provenance)
//   /system      attributes: model, lattice, Lx, Ly, n_sites, boundary ("pbc", "obc" or per
//                direction "pbc,obc", as --boundary), J, hz, delta, marshall, units = "Pauli",
//                hamiltonian (the names of naqs vmc's /system, docs/HDF5_LAYOUT.md)
//   /ed          attributes: solver, sector, dim, tol, max_iterations, stop rule;
//                datasets (n_h,): h, energy, energy_per_site, abs_mz, mz2, mz4, binder,
//                x_mean, ms2, iterations, matvecs, restarts, residual, residual_estimate,
//                converged, seconds; (n_h, N): zz_corr (C(r) = <Z_0 Z_r>);
//                string stop_criterion (one line per h); heisenberg: energy_per_site_spin_half
//   /exact       closed-form periodic TFIM chain when it applies: h, energy, x_mean
//   /dense       dense LAPACK ground energy when the sector dimension is <= 2048: energy
//   /samples     with --sample S (one field only): S configurations drawn i.i.d. from the exact
//                |psi|^2 (ml/align's inputs, `naqs features --inputs`): sigma (S, N) f32 +-1,
//                bits (S) int64 (bit i set = sigma_i = -1), ids (S) int64 = 0..S-1, probability
//                (S) |psi(sigma)|^2; attributes seed, method. Sample s takes u =
//                philox_uniform_f64(seed, 0, 2s) through the inverse CDF of the sector vector's
//                squares (cumulative sum in index order) and, in the spin-flip parity sector,
//                flips every spin when philox_uniform_f64(seed, 0, 2s + 1) < 1/2 (the two
//                members of a parity pair carry |psi|^2 / 2 each).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "host/cli/command.hpp"
#include "host/cli/number.hpp"
#include "host/cli/values.hpp"
#include "host/core/device.hpp"
#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"
#include "physics/ed/dense.hpp"
#include "physics/ed/ed_solver.hpp"
#include "physics/ed/tfim_exact.hpp"
#include "physics/vmc/config.hpp"

namespace {

using namespace naqs;

constexpr int64_t kDenseCheckMaxDim = 2048;

void ed_options(po::options_description& d) {
  d.add_options()
      ("hamiltonian", po::value<std::string>()->default_value("tfim"), "tfim | heisenberg")
      ("lattice", po::value<std::string>()->default_value("chain"), "chain | square")
      ("L", cli::number<int>(cli::Range<int>{1, 64}), "sites of the chain / Lx of the square")
      ("Ly", cli::number<int>(cli::Range<int>{1, 64}), "Ly of the square (default: L)")
      ("boundary", po::value<std::string>()->default_value("pbc"),
       "boundary conditions: pbc | obc, or per direction x,y (e.g. pbc,obc)")
      ("J", cli::number<double>(cli::kCouplingRange)->default_value(1.0),
       "coupling J (Pauli units)")
      ("h", po::value<std::string>()->default_value("1"),
       "TFIM transverse field: a value, a list 0.5,1,2 or a range 0.5:1.5:0.25")
      ("hz", cli::number<double>(cli::kCouplingRange)->default_value(0.0),
       "TFIM longitudinal field")
      ("delta", cli::number<double>(cli::kCouplingRange)->default_value(1.0),
       "Heisenberg/XXZ anisotropy")
      ("marshall", po::bool_switch(), "Heisenberg: Marshall sign rule (bipartite lattices)")
      ("magnetisation", po::value<std::string>()->default_value("auto"),
       "Heisenberg sector: total magnetisation sum_i sigma_i = 2 Sz (an integer of the parity "
       "of the number of sites), auto (0, or 1 for an odd number of sites) or none (the full "
       "space)")
      ("tol", cli::number<double>(cli::positive<double>())->default_value(1e-12),
       "Lanczos stop: relative residual ||H psi - E psi|| / |E|")
      ("max-iterations", cli::number<int>(cli::Range<int>{1, 100000000})->default_value(1000),
       "Lanczos steps per pass")
      ("out,o", po::value<std::string>(), "HDF5 output file (never overwritten)")
      ("sample", cli::number<int64_t>(cli::Range<int64_t>{1, int64_t{1} << 32}),
       "also draw this many configurations from the exact |psi|^2 into /samples (needs --out "
       "and one field)")
      ("seed", cli::number<uint64_t>(cli::kSeedRange)->default_value(1),
       "Philox seed of --sample")
      ("device", po::value<std::string>()->default_value("auto"), "auto | cpu | cuda | cuda:N");
}

// The lattice of --lattice, --L, --Ly and --boundary (the vocabulary of naqs vmc,
// docs/CONVENTIONS.md; a square's Ly defaults to its L here).
Lattice make_lattice(const po::variables_map& vm) {
  const LatticeKind kind = cli::parse_choice<LatticeKind>(vm["lattice"].as<std::string>(),
                                                          "lattice");
  const vmc::Boundaries bc =
      cli::Codec<vmc::Boundaries>::parse(vm["boundary"].as<std::string>(), "boundary", {});
  const bool px = bc.x == vmc::Boundary::pbc, py = bc.y == vmc::Boundary::pbc;
  NAQS_REQUIRE(vm.count("L"), "--lattice ", cli::name_of(kind), " needs --L (the number of "
               "sites of the chain, or Lx of the square)");
  const int l = vm["L"].as<int>();
  if (kind == LatticeKind::chain) {
    NAQS_REQUIRE(!vm.count("Ly"), "--Ly is for --lattice square; a chain takes --L");
    NAQS_REQUIRE(px == py, "--boundary: a chain has one direction, got '",
                 vm["boundary"].as<std::string>(), "'");
    return Lattice::chain(l, px);
  }
  return Lattice::square(l, vm.count("Ly") ? vm["Ly"].as<int>() : l, px, py);
}

// The Heisenberg sector's space: a fixed total magnetisation M = 2 Sz, or the full space.
SpinHilbert parse_sector(const std::string& m, int n_sites) {
  if (m == "none") return SpinHilbert::full(n_sites);
  if (m == "auto") return SpinHilbert::with_magnetisation(n_sites, n_sites % 2);
  const double v = parse_number(m, "magnetisation");
  NAQS_REQUIRE(v == std::round(v) && std::abs(v) <= n_sites &&
                   (n_sites - static_cast<int64_t>(v)) % 2 == 0,
               "--magnetisation ", m, " is not a total magnetisation of ", n_sites,
               " spins (allowed: ", -n_sites, " to ", n_sites, " in steps of 2, auto or none)");
  return SpinHilbert::with_magnetisation(n_sites, static_cast<int64_t>(v));
}

std::vector<double> column(const std::vector<ed::EdSolution>& s,
                           double (*get)(const ed::EdSolution&)) {
  std::vector<double> v;
  for (const auto& x : s) v.push_back(get(x));
  return v;
}

// --sample: configurations drawn from |psi|^2 by the inverse CDF (see the header comment).
struct GroundStateSamples {
  std::vector<float> sigma;  // (S, N) +-1
  std::vector<int64_t> bits, ids;
  std::vector<double> probability;
};

GroundStateSamples sample_ground_state(const Hamiltonian& H, const SpinHilbert& hilbert,
                                       const std::vector<double>& psi, int64_t count,
                                       uint64_t seed) {
  const ed::EdBasis basis = ed::make_basis(H, hilbert);
  const int n = H.n_sites();
  const bool parity = basis.kind() == ops::kEdParity;
  std::vector<double> cdf(psi.size());
  double total = 0;
  for (std::size_t i = 0; i < psi.size(); ++i) cdf[i] = total += psi[i] * psi[i];
  const uint64_t all = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
  GroundStateSamples out;
  for (int64_t s = 0; s < count; ++s) {
    const double u = philox_uniform_f64(seed, 0, 2 * static_cast<uint64_t>(s)) * total;
    auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
    if (it == cdf.end()) --it;  // u * total rounded up to total
    const int64_t i = it - cdf.begin();
    uint64_t bits = basis.state(i);
    double p = psi[i] * psi[i] / total;
    if (parity) {
      p /= 2;
      if (philox_uniform_f64(seed, 0, 2 * static_cast<uint64_t>(s) + 1) < 0.5) bits ^= all;
    }
    for (int t = 0; t < n; ++t) out.sigma.push_back((bits >> t) & 1 ? -1.0f : 1.0f);
    out.bits.push_back(static_cast<int64_t>(bits));
    out.ids.push_back(s);
    out.probability.push_back(p);
  }
  return out;
}

int ed_run(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  // ---- validate everything first ----
  const Model model = cli::parse_choice<Model>(vm["hamiltonian"].as<std::string>(), "hamiltonian");
  const Lattice lattice = make_lattice(vm);
  const int n = lattice.n_sites();
  NAQS_REQUIRE(n <= ed::kEdMaxSites, "exact diagonalisation handles at most ", ed::kEdMaxSites,
               " sites, and ", lattice.str(), " has ", n);
  const bool heis = model == Model::heisenberg;
  NAQS_REQUIRE(!heis || (vm["h"].defaulted() && vm["hz"].defaulted()),
               "--h and --hz are TFIM fields; the Heisenberg model takes --J, --delta, --marshall");
  NAQS_REQUIRE(heis || (vm["delta"].defaulted() && !vm["marshall"].as<bool>() &&
                        vm["magnetisation"].defaulted()),
               "--delta, --marshall and --magnetisation are Heisenberg options; the TFIM takes "
               "--J, --h, --hz");
  const std::vector<double> fields =
      heis ? std::vector<double>{0.0} : parse_value_list(vm["h"].as<std::string>(), "h");
  const SpinHilbert hilbert =
      heis ? parse_sector(vm["magnetisation"].as<std::string>(), n) : SpinHilbert::full(n);
  ed::LanczosOptions opts;
  opts.tol = vm["tol"].as<double>();
  opts.max_iterations = vm["max-iterations"].as<int>();
  NAQS_REQUIRE(opts.tol >= 1e-15 && opts.tol <= 1e-9, "--tol ", opts.tol,
               " is not allowed: use a relative residual in [1e-15, 1e-9]");
  NAQS_REQUIRE(opts.max_iterations >= 1, "--max-iterations must be >= 1, got ",
               opts.max_iterations);
  const Device device = resolve_device(vm["device"].as<std::string>());
  auto params_for = [&](double h) {
    ModelParams p;
    p.model = model;
    p.J = vm["J"].as<double>();
    p.h = heis ? 0.0 : h;
    p.hz = heis ? 0.0 : vm["hz"].as<double>();
    p.Delta = vm["delta"].as<double>();
    p.marshall = vm["marshall"].as<bool>();
    return p;
  };
  std::vector<Hamiltonian> hams;
  for (double h : fields) hams.emplace_back(lattice, params_for(h));  // validates parameters
  const int64_t bytes = ed::ed_solve_bytes(hams[0], hilbert);
  ed::require_memory(bytes, Device::cpu(), cat("exact diagonalisation of ", hams[0].str()));
  const int64_t n_samples = vm.count("sample") ? vm["sample"].as<int64_t>() : 0;
  NAQS_REQUIRE(!vm.count("sample") || n_samples >= 1, "--sample ", n_samples,
               " is not allowed: use a number of configurations >= 1");
  NAQS_REQUIRE(n_samples == 0 || vm.count("out"), "--sample needs --out (the file the "
               "configurations go to)");
  NAQS_REQUIRE(n_samples == 0 || fields.size() == 1, "--sample draws from one ground state: give "
               "one --h, not ", fields.size());
  std::string out;
  if (vm.count("out")) {
    out = vm["out"].as<std::string>();
    check_output_path("--out", out, /*must_not_exist=*/true);  // host/io/ownership.hpp
  }

  // ---- solve ----
  const bool closed_form = !heis && tfim_closed_form_applies(lattice.kind() == LatticeKind::chain,
                                                             lattice.periodic_x(), n,
                                                             params_for(1).J, params_for(1).hz);
  std::printf("# naqs ed: %s, device %s, Pauli units%s\n", hams[0].str().c_str(),
              device.str().c_str(), heis ? " (S.S units = 1/4 Pauli)" : "");
  if (heis)
    std::printf("# %14s %16s %16s %12s %12s %6s %10s\n", "E0", "E0/N", "E0/N(S.S)", "<m_s^2>",
                "<m_z^2>", "iter", "residual");
  else
    std::printf("# %8s %16s %16s %12s %12s %12s %6s %10s%s\n", "h", "E0", "E0/N", "<|m_z|>",
                "<m_z^2>", "<X>", "iter", "residual", closed_form ? "     E0 closed form" : "");
  std::vector<ed::EdSolution> sols;
  std::vector<double> exact_e, exact_x, dense_e;
  for (std::size_t k = 0; k < hams.size(); ++k) {
    ed::EdSolution s = ed::solve_ground_state(hams[k], hilbert, device, opts, n_samples > 0);
    const auto& o = s.observables;
    if (heis)
      std::printf("  %14.10f %16.12f %16.12f %12.8f %12.8f %6d %10.2e\n", o.energy,
                  o.energy_per_site, o.energy_per_site / 4, o.ms2, o.mz2, s.lanczos.iterations,
                  s.lanczos.residual);
    else
      std::printf("  %8.4f %16.10f %16.12f %12.8f %12.8f %12.8f %6d %10.2e", fields[k], o.energy,
                  o.energy_per_site, o.abs_mz, o.mz2, o.x_mean, s.lanczos.iterations,
                  s.lanczos.residual);
    if (closed_form) {
      exact_e.push_back(tfim_chain_energy(n, params_for(1).J, fields[k]));
      exact_x.push_back(tfim_chain_x_mean(n, params_for(1).J, fields[k]));
      std::printf(" %18.10f", exact_e.back());
    }
    if (!heis) std::printf("\n");
    if (!s.lanczos.converged)
      std::fprintf(stderr, "naqs ed: warning: Lanczos did not reach --tol %g (residual %.3g)\n",
                   opts.tol, s.lanczos.residual);
    if (s.dim <= kDenseCheckMaxDim) {
      ed::EdBasis basis = ed::make_basis(hams[k], hilbert);
      dense_e.push_back(ed::dense_eigen(ed::dense_matrix(hams[k], basis), basis.dim())[0]);
    }
    std::fflush(stdout);
    sols.push_back(std::move(s));
  }
  if (!dense_e.empty()) {
    double worst = 0;
    for (std::size_t k = 0; k < sols.size(); ++k)
      worst = std::max(worst, std::abs(sols[k].lanczos.energy - dense_e[k]) /
                                  std::abs(dense_e[k] != 0 ? dense_e[k] : 1.0));
    std::printf("# dense LAPACK cross-check: max relative |E_lanczos - E_dense| = %.2e\n", worst);
  }
  std::printf("# sector %s, dimension %lld\n", sols[0].sector.c_str(),
              static_cast<long long>(sols[0].dim));
  if (out.empty()) return 0;

  // ---- write ----
  // Published with RENAME_NOREPLACE: of two runs writing the same --out, one gets the file and
  // the other an "already exists" error (exit 2), never a silently replaced result.
  write_new_atomically(out, [&](H5File& f) {
    write_provenance(f, ctx.command_line, ctx.config_text, device.str(), {});
    f.create_group("/system");
    f.set_attr("/system", "model", std::string(model_name(model)));
    f.set_attr("/system", "lattice", std::string(lattice.kind_name()));
    f.set_attr("/system", "Lx", int64_t{lattice.length_x()});
    f.set_attr("/system", "Ly", int64_t{lattice.length_y()});
    f.set_attr("/system", "n_sites", int64_t{n});
    using BoundaryCodec = cli::Codec<vmc::Boundaries>;
    const std::string& bc = vm["boundary"].as<std::string>();  // canonical: "pbc,pbc" -> "pbc"
    f.set_attr("/system", "boundary",
               BoundaryCodec::text(BoundaryCodec::parse(bc, "boundary", {})));
    const ModelParams p = params_for(fields[0]);
    f.set_attr("/system", "J", p.J);
    f.set_attr("/system", "hz", p.hz);
    f.set_attr("/system", "delta", p.Delta);
    f.set_attr("/system", "marshall", int64_t{p.marshall});
    f.set_attr("/system", "units", std::string("Pauli"));
    f.set_attr("/system", "hamiltonian",
               std::string(heis ? "H = J sum_<ij> (X_i X_j + Y_i Y_j + Delta Z_i Z_j)"
                                : "H = -J sum_<ij> Z_i Z_j - h sum_i X_i - hz sum_i Z_i"));
    f.create_group("/ed");
    f.set_attr("/ed", "solver", std::string("Lanczos, float64, no reorthogonalisation; vector "
                                            "from a second pass; restart from psi if the "
                                            "independent residual check fails"));
    f.set_attr("/ed", "stop_rule", std::string("residual estimate beta*|y_m|/|E| <= tol, then "
                                               "independent ||H psi - E psi||/|E| <= tol"));
    f.set_attr("/ed", "sector", sols[0].sector);
    f.set_attr("/ed", "dim", sols[0].dim);
    f.set_attr("/ed", "tol", opts.tol);
    f.set_attr("/ed", "max_iterations", int64_t{opts.max_iterations});
    f.set_attr("/ed", "units", std::string("Pauli"));
    const int64_t nh = static_cast<int64_t>(sols.size());
    auto put = [&](const char* name, double (*get)(const ed::EdSolution&)) {
      f.write_dataset(cat("/ed/", name), column(sols, get), {nh});
    };
    f.write_dataset("/ed/h", fields, {nh});
    put("energy", [](const ed::EdSolution& s) { return s.observables.energy; });
    put("energy_per_site", [](const ed::EdSolution& s) { return s.observables.energy_per_site; });
    if (heis)
      put("energy_per_site_spin_half",
          [](const ed::EdSolution& s) { return s.observables.energy_per_site / 4; });
    put("abs_mz", [](const ed::EdSolution& s) { return s.observables.abs_mz; });
    put("mz2", [](const ed::EdSolution& s) { return s.observables.mz2; });
    put("mz4", [](const ed::EdSolution& s) { return s.observables.mz4; });
    put("binder", [](const ed::EdSolution& s) { return s.observables.binder; });
    put("x_mean", [](const ed::EdSolution& s) { return s.observables.x_mean; });
    put("ms2", [](const ed::EdSolution& s) { return s.observables.ms2; });
    put("residual", [](const ed::EdSolution& s) { return s.lanczos.residual; });
    put("residual_estimate", [](const ed::EdSolution& s) { return s.lanczos.residual_estimate; });
    put("seconds", [](const ed::EdSolution& s) { return s.seconds; });
    std::vector<int64_t> iters, matvecs, restarts, converged;
    std::vector<double> corr;
    std::string stops;
    for (const auto& s : sols) {
      iters.push_back(s.lanczos.iterations);
      matvecs.push_back(s.lanczos.matvecs);
      restarts.push_back(s.lanczos.restarts);
      converged.push_back(s.lanczos.converged);
      corr.insert(corr.end(), s.observables.zz_corr.begin(), s.observables.zz_corr.end());
      stops += s.lanczos.stop_criterion + "\n";
    }
    f.write_dataset("/ed/iterations", iters, {nh});
    f.write_dataset("/ed/matvecs", matvecs, {nh});
    f.write_dataset("/ed/restarts", restarts, {nh});
    f.write_dataset("/ed/converged", converged, {nh});
    f.write_dataset("/ed/zz_corr", corr, {nh, int64_t{n}});
    f.set_attr("/ed/zz_corr", "definition", std::string("C(r) = <Z_0 Z_r>, r = site index"));
    f.write_string("/ed/stop_criterion", stops);
    if (closed_form) {
      f.write_dataset("/exact/h", fields, {nh});
      f.write_dataset("/exact/energy", exact_e, {nh});
      f.write_dataset("/exact/x_mean", exact_x, {nh});
      f.set_attr("/exact", "method", std::string("closed form, periodic TFIM chain, antiperiodic "
                                                 "momenta k = (2n+1)pi/N (Jordan-Wigner)"));
    }
    if (!dense_e.empty()) {
      f.write_dataset("/dense/energy", dense_e, {nh});
      f.set_attr("/dense", "method", std::string("LAPACK dsyev of the sector matrix built from "
                                                 "the int8 connected-states primitive"));
    }
    if (n_samples > 0) {
      const uint64_t seed = vm["seed"].as<uint64_t>();
      const GroundStateSamples smp =
          sample_ground_state(hams[0], hilbert, sols[0].lanczos.vector, n_samples, seed);
      f.write_dataset("/samples/sigma", smp.sigma, {n_samples, int64_t{n}});
      f.write_dataset("/samples/bits", smp.bits, {n_samples});
      f.write_dataset("/samples/ids", smp.ids, {n_samples});
      f.write_dataset("/samples/probability", smp.probability, {n_samples});
      f.set_attr("/samples", "seed", static_cast<int64_t>(seed));
      f.set_attr("/samples", "h", fields[0]);
      f.set_attr("/samples", "method", std::string(
          "i.i.d. from the exact |psi|^2: inverse CDF of the sector vector's squares with "
          "philox_uniform_f64(seed, 0, 2s); parity sector: all spins flipped when "
          "philox_uniform_f64(seed, 0, 2s + 1) < 1/2"));
    }
    finish_provenance(f);
  });
  std::printf("# wrote %s\n", out.c_str());
  return 0;
}

}  // namespace

NAQS_COMMAND("ed", "exact ground states (Lanczos) of the TFIM or Heisenberg model", ed_options,
             ed_run);
