// The typed configuration of a VMC run (issue 14, part 3): every choice an enum (names in one
// cli::Choices table each), the batch schedule, and ONE option table (host/cli/option_table.hpp)
// that drives the `naqs vmc` / `naqs sweep` option declarations, their INI files (--config),
// --help, the fingerprint that --resume compares (fingerprint_text) and the settings text of the
// HDF5 provenance (settings_text). A field is added by adding it to VmcConfig and one row to
// vmc_option_table() (physics/vmc/config.cpp).
// Tests: tests/unit/test_option_table.cpp (the table mechanism and this table),
// tests/unit/test_cli.cpp, tests/unit/test_sweep.cpp (both commands read it).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "host/cli/option_table.hpp"
#include "host/core/dtype.hpp"
#include "nn/optimizer.hpp"
#include "physics/lattice/lattice.hpp"
#include "physics/models/autoregressive_wavefunction.hpp"
#include "physics/models/naqs_conv1d.hpp"
#include "physics/operator/hamiltonian.hpp"
#include "physics/optim/sr.hpp"
#include "physics/sampler/sampler.hpp"

namespace naqs::vmc {

enum class Ansatz { naqs, rbm };                       // --model
enum class Network { conv1d, conv2d, transformer };    // --network (naqs)
enum class OptimizerKind { adam, adamw, sgd, sr, minsr };
enum class Boundary { pbc, obc };

// Per direction (x, then y of a square); "pbc" sets both, "pbc,obc" each.
struct Boundaries {
  Boundary x = Boundary::pbc, y = Boundary::pbc;
  bool operator==(const Boundaries&) const = default;
};

inline bool is_sr(OptimizerKind o) { return o == OptimizerKind::sr || o == OptimizerKind::minsr; }

struct BatchStage {
  int64_t batch_size = 0;
  int64_t steps = -1;  // -1: until the end
};

struct BatchSchedule {
  std::vector<BatchStage> stages;
  int64_t stage_at(int64_t step) const;
  int64_t batch_at(int64_t step) const { return stages[stage_at(step)].batch_size; }
  std::string str() const;
  // "B1:S1,B2:S2,...,Bk" (the last stage may omit its length); UsageError otherwise.
  static BatchSchedule parse(const std::string& spec);
};

struct VmcConfig {
  // ---- system ----
  Model hamiltonian = Model::tfim;
  LatticeKind lattice = LatticeKind::chain;
  int length_x = 16, length_y = 1;
  Boundaries boundary;
  double J = 1.0, h = 1.0, hz = 0.0, delta = 1.0;
  bool marshall = false;
  // The Hilbert space's total magnetisation M = sum sigma_i (= 2 Sz; physics/hilbert/hilbert.hpp),
  // or none: all configurations. Constrains the wavefunction and the sampler.
  std::optional<int64_t> magnetisation;
  // ---- wavefunction ----
  Ansatz model = Ansatz::naqs;  // naqs (network below) | rbm (physics/models/rbm.hpp)
  double alpha = 1.0;           // rbm: hidden units per site
  // network: conv1d = physics/models/naqs_conv1d.hpp over the site order (any lattice; uses
  // dilations), conv2d = physics/models/naqs_conv2d.hpp, the two-stream masked model (square
  // lattices only), transformer = physics/models/transformer_wavefunction.hpp over the site
  // order (width = d_model, depth = layers, heads / kv_heads / kv_share its attention; kernel,
  // dilations, activation and init_scale do not apply). preset: "" or a naqs_conv2d preset
  // (tfim12, heis10, small4, tiny3) that sets network = conv2d and width, depth, kernel; the
  // lattice must then be the preset's Lx x Ly square (apply_preset).
  Network network = Network::conv1d;
  std::string preset;
  int width = 16, depth = 2, kernel = 3;
  int heads = 4, kv_heads = 4, kv_share = 1;  // transformer: MHA / GQA / MQA, CLA sharing
  std::vector<int> dilations{1, 2, 4};
  Activation activation = Activation::relu;
  PhaseMode phase = PhaseMode::real_positive;  // real | complex (rbm: real or complex parameters)
  DType dtype = DType::f64;
  double init_scale = 0.1;  // naqs: out_scale of the model's initialise(); rbm: parameter stddev
  // ---- sampler (physics/sampler/sampler.hpp; its seed is `seed` below) ----
  SamplerSettings sampler;
  // Warm start: when non-empty, the flat parameters (P, the model's layout) replace the
  // initialisation (naqs sweep passes the previous field's trained parameters). Recorded in the
  // fingerprint by hash, so a checkpoint of a cold run is not resumed as a warm one.
  std::vector<double> init_parameters;
  // ---- training ----
  int64_t steps = 150;
  std::string batch_schedule = "256";
  int64_t minibatch = 1024;
  OptimizerKind optimizer = OptimizerKind::minsr;
  double lr = 0.05;
  std::string lr_schedule = "constant";
  nn::AdamOptions adam;
  double momentum = 0;
  double weight_decay = 0;  // adamw
  double grad_clip = 0;     // > 0: the update direction's global norm is clipped to it
  optim::SrOptions sr{.diag_shift = 1e-4, .cg_max_iters = 500, .cg_rtol = 1e-6};
  uint64_t seed = 1;
  std::string device = "cpu";  // cpu | cuda | cuda:N | auto (host/core/device.hpp)
  std::size_t memory_cap_bytes = std::size_t{512} << 20;
  // ---- outputs ----
  std::string output;      // HDF5 file ("" = none)
  std::string checkpoint;  // checkpoint file ("" = none)
  int64_t checkpoint_every = 50;
  bool resume = false;
  int64_t obs_samples = 16384;
  int64_t observe_every = 0;   // 0: observables only at the end
  int64_t observe_samples = 2048;
  int max_ed_sites = 20;       // 0: no ED
  bool quiet = false;  // read by the commands (Console::standard); the library never prints
  std::string command_line, config_text;  // provenance
};

// The commands that declare a row (OptionRow::scopes): a sweep is over h of the TFIM and its
// methods pick the model and the sampler, so hamiltonian, h, delta, marshall, model and sampler
// are `vmc` only.
constexpr unsigned kVmcScope = 1, kSweepScope = 2;

// The one table of VmcConfig's settings (see the header comment).
const cli::OptionTable<VmcConfig>& vmc_option_table();

// Declares and reads the table's rows of one command (defaults from d); read_vmc_options also
// applies the one default that depends on another field (the Heisenberg model has no field h:
// an h left at its default becomes 0).
void declare_vmc_options(cli::po::options_description& desc, const VmcConfig& d, unsigned scope);
void read_vmc_options(const cli::po::variables_map& vm, unsigned scope, VmcConfig& c);

// The canonical "key = value" lines that must match for --resume: the table's fingerprint rows
// that apply to the config (the sampler resolved, the device reduced to its type cpu / cuda),
// plus the warm-start parameters' hash.
std::string fingerprint_text(const VmcConfig& c);
// Every table row that applies to the config, "key = value" lines (the HDF5 provenance "config").
std::string settings_text(const VmcConfig& c);
// The inverse of fingerprint_text for the fields it holds (naqs features rebuilds a model from a
// checkpoint): UsageError naming `what` and the line for an unknown key or a bad value.
VmcConfig config_from_fingerprint(const std::string& text, const std::string& what);

// The sampler kind a config runs (auto resolved: exact for naqs, metropolis for rbm).
SamplerKind resolved_sampler(const VmcConfig& c);
int64_t n_sites(const VmcConfig& c);

// The config with its preset (if any) applied: network, width, depth and kernel from
// naqs_conv2d_preset; UsageError if the lattice is not the preset's square. Idempotent; run_vmc
// and make_wavefunction apply it.
VmcConfig apply_preset(VmcConfig c);

// Builds the Hamiltonian and wavefunction from the config (exposed for tests): c.model picks
// make_naqs (the autoregressive models, network conv1d | conv2d) or make_rbm.
Hamiltonian make_hamiltonian(const VmcConfig& c);
// The run's configuration space: the configurations of total magnetisation c.magnetisation
// (--magnetisation; --sz-zero is 0), else all of them. The
// autoregressive model's constraint and the sampler use it (the exact reference solves H's
// ground-state sector: Sz = 0 whenever H conserves Sz and N is even).
SpinHilbert make_hilbert(const VmcConfig& c);
std::unique_ptr<Wavefunction> make_wavefunction(const VmcConfig& c);
std::unique_ptr<AutoregressiveWavefunction> make_naqs(const VmcConfig& c);
std::unique_ptr<Wavefunction> make_rbm(const VmcConfig& c);

}  // namespace naqs::vmc

namespace naqs::cli {
template <>
struct Choices<Model> {
  static constexpr std::array<Choice<Model>, 2> values{
      {{Model::tfim, "tfim"}, {Model::heisenberg, "heisenberg"}}};
};
template <>
struct Choices<LatticeKind> {
  static constexpr std::array<Choice<LatticeKind>, 2> values{
      {{LatticeKind::chain, "chain"}, {LatticeKind::square, "square"}}};
};
template <>
struct Choices<vmc::Ansatz> {
  static constexpr std::array<Choice<vmc::Ansatz>, 2> values{
      {{vmc::Ansatz::naqs, "naqs"}, {vmc::Ansatz::rbm, "rbm"}}};
};
template <>
struct Choices<vmc::Network> {
  static constexpr std::array<Choice<vmc::Network>, 3> values{
      {{vmc::Network::conv1d, "conv1d"},
       {vmc::Network::conv2d, "conv2d"},
       {vmc::Network::transformer, "transformer"}}};
};
template <>
struct Choices<Activation> {
  static constexpr std::array<Choice<Activation>, 2> values{
      {{Activation::relu, "relu"}, {Activation::selu, "selu"}}};
};
template <>
struct Choices<PhaseMode> {
  static constexpr std::array<Choice<PhaseMode>, 2> values{
      {{PhaseMode::real_positive, "real"}, {PhaseMode::complex, "complex"}}};
};
// The dtypes a wavefunction is built in (DType also has i32 and u8).
template <>
struct Choices<DType> {
  static constexpr std::array<Choice<DType>, 2> values{{{DType::f64, "f64"}, {DType::f32, "f32"}}};
};
template <>
struct Choices<vmc::SamplerKind> {
  static constexpr std::array<Choice<vmc::SamplerKind>, 3> values{
      {{vmc::SamplerKind::automatic, "auto"},
       {vmc::SamplerKind::exact, "exact"},
       {vmc::SamplerKind::metropolis, "metropolis"}}};
};
template <>
struct Choices<vmc::OptimizerKind> {
  static constexpr std::array<Choice<vmc::OptimizerKind>, 5> values{
      {{vmc::OptimizerKind::adam, "adam"},
       {vmc::OptimizerKind::adamw, "adamw"},
       {vmc::OptimizerKind::sgd, "sgd"},
       {vmc::OptimizerKind::sr, "sr"},
       {vmc::OptimizerKind::minsr, "minsr"}}};
};
template <>
struct Choices<vmc::Boundary> {
  static constexpr std::array<Choice<vmc::Boundary>, 2> values{
      {{vmc::Boundary::pbc, "pbc"}, {vmc::Boundary::obc, "obc"}}};
};

// "pbc" | "obc" (both directions) | "pbc,obc" (x, y).
template <>
struct Codec<vmc::Boundaries> {
  struct Spec {};
  static po::value_semantic* semantic(const vmc::Boundaries& d, const Spec&) {
    return po::value<std::string>()->default_value(text(d));
  }
  static vmc::Boundaries read(const po::variable_value& v, const std::string& option) {
    return parse(v.as<std::string>(), option, {});
  }
  static std::string text(const vmc::Boundaries& b);
  static vmc::Boundaries parse(const std::string& t, const std::string& what, const Spec&);
  static std::string help(const Spec&) { return "pbc | obc, or per direction x,y (pbc,obc): "; }
};
}  // namespace naqs::cli
