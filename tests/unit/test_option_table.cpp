// The declarative option table (host/cli/option_table.hpp) and VMC's table
// (physics/vmc/config.hpp): a field added to a table reaches --help, the INI reader, the
// fingerprint and the provenance text; every fingerprint row of the VMC table makes --resume
// refuse a changed value, naming the field; the deprecated spellings (host/cli/command.hpp) are
// read as the new ones with one line on stderr; a bad choice is refused with the allowed names.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "host/io/checkpoint.hpp"
#include "host/io/hdf5.hpp"
#include "physics/vmc/config.hpp"
#include "physics/vmc/driver.hpp"
#include "physics/vmc/observable_table.hpp"
#include "physics/vmc/output.hpp"
#include "tests/support/cli_run.hpp"

namespace scratch {
enum class Colour { red, green };
struct Config {
  double lr = 0.5;
  Colour colour = Colour::red;
  int width = 3;
};
}  // namespace scratch

namespace naqs::cli {
template <>
struct Choices<scratch::Colour> {
  static constexpr std::array<Choice<scratch::Colour>, 2> values{
      {{scratch::Colour::red, "red"}, {scratch::Colour::green, "green"}}};
};
}  // namespace naqs::cli

namespace naqs {
namespace {

using scratch::Colour;
using Scratch = scratch::Config;
namespace po = boost::program_options;

cli::OptionTable<Scratch> scratch_table() {
  return {cli::row("lr", "lr", &Scratch::lr, cli::positive<double>(), "training", "step size",
                   cli::kFingerprint),
          cli::row("colour", "colour", &Scratch::colour, "model", "the colour",
                   cli::kFingerprint)};
}

std::string help_of(const cli::OptionTable<Scratch>& t) {
  po::options_description desc;
  cli::declare_options(desc, t, Scratch{});
  std::ostringstream o;
  o << desc;
  return o.str();
}

Scratch read_ini(const cli::OptionTable<Scratch>& t, const std::string& ini) {
  po::options_description desc;
  cli::declare_options(desc, t, Scratch{});
  std::istringstream in(ini);
  po::variables_map vm;
  po::store(po::parse_config_file(in, desc), vm);
  po::notify(vm);
  Scratch c;
  cli::read_options(vm, t, c);
  return c;
}

TEST(OptionTable, AFieldAddedToTheTableReachesEveryUse) {
  cli::OptionTable<Scratch> t = scratch_table();
  EXPECT_EQ(help_of(t).find("--width"), std::string::npos);
  t.push_back(cli::row("width", "width", &Scratch::width, cli::Range<int>{1, 64}, "model",
                       "channels", cli::kFingerprint));
  // --help: the option with its default and range.
  const std::string help = help_of(t);
  EXPECT_NE(help.find("--width arg (=3) [1, 64]"), std::string::npos) << help;
  EXPECT_NE(help.find("red | green: the colour"), std::string::npos) << help;
  // The INI reader.
  const Scratch c = read_ini(t, "width = 7\ncolour = green\n");
  EXPECT_EQ(c.width, 7);
  EXPECT_EQ(c.colour, Colour::green);
  EXPECT_THROW(read_ini(t, "width = 65\n"), po::error);  // the range, where the text is parsed
  // The fingerprint and the provenance text.
  EXPECT_EQ(cli::fingerprint_lines(t, c), "lr = 0.5\ncolour = green\nwidth = 7\n");
  EXPECT_NE(cli::settings_lines(t, c).find("width = 7\n"), std::string::npos);
  // Not in the fingerprint: still in the provenance, not compared by --resume.
  t.back().fingerprint = cli::kNoFingerprint;
  EXPECT_EQ(cli::fingerprint_lines(t, c), "lr = 0.5\ncolour = green\n");
  EXPECT_NE(cli::settings_lines(t, c).find("width = 7\n"), std::string::npos);
  // A row parses its own text back.
  Scratch back;
  for (const auto& r : t) r.parse(back, r.text(c), r.name);
  EXPECT_EQ(cli::settings_lines(t, back), cli::settings_lines(t, c));
}

// A file name (naqs vmc's --out, -o): declared with its one-letter alias and read, but in neither
// the fingerprint nor the settings text.
TEST(OptionTable, AnUnrecordedRowWithAnAliasIsReadButNotRecorded) {
  cli::OptionTable<Scratch> t = scratch_table();
  t.push_back(cli::row("width", "width", &Scratch::width, cli::Range<int>{1, 64}, "model",
                       "channels", cli::kNoFingerprint)
                  .alias('w')
                  .unrecorded());
  EXPECT_NE(help_of(t).find("-w [ --width ] arg (=3)"), std::string::npos) << help_of(t);
  po::options_description desc;
  cli::declare_options(desc, t, Scratch{});
  const char* argv[] = {"test", "-w", "9"};
  po::variables_map vm;
  po::store(po::parse_command_line(3, argv, desc), vm);
  Scratch c;
  cli::read_options(vm, t, c);
  EXPECT_EQ(c.width, 9);
  EXPECT_EQ(read_ini(t, "width = 5\n").width, 5);
  EXPECT_EQ(cli::settings_lines(t, c).find("width"), std::string::npos);
  t.back().fingerprint = cli::kFingerprint;  // unrecorded wins: never compared by --resume
  EXPECT_EQ(cli::fingerprint_lines(t, c), "lr = 0.5\ncolour = red\n");
}

TEST(OptionTable, AnUnknownChoiceIsRefusedWithTheAllowedNames) {
  try {
    read_ini(scratch_table(), "colour = blue\n");
    ADD_FAILURE() << "blue accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--colour: 'blue' is not allowed (allowed: red, green)");
  }
  vmc::VmcConfig c;
  const auto* boundary = cli::find_key(vmc::vmc_option_table(), "boundary");
  ASSERT_NE(boundary, nullptr);
  boundary->parse(c, "pbc,obc", "boundary");
  EXPECT_EQ(c.boundary.x, vmc::Boundary::pbc);
  EXPECT_EQ(c.boundary.y, vmc::Boundary::obc);
  EXPECT_EQ(boundary->text(c), "pbc,obc");
  boundary->parse(c, "obc", "boundary");
  EXPECT_EQ(boundary->text(c), "obc");
  EXPECT_THROW(boundary->parse(c, "pbc,xbc", "boundary"), UsageError);
}

// The configs on which every row of the VMC table applies somewhere.
std::vector<vmc::VmcConfig> vmc_bases() {
  vmc::VmcConfig naqs, rbm, adamw, transformer;
  rbm.model = vmc::Ansatz::rbm;
  adamw.optimizer = vmc::OptimizerKind::adamw;
  transformer.network = vmc::Network::transformer;
  return {naqs, rbm, adamw, transformer};
}

// Another valid value of the row that changes the fingerprint (another choice, or the first
// candidate the row accepts); nullopt if none does.
std::optional<vmc::VmcConfig> changed(const cli::OptionRow<vmc::VmcConfig>& r,
                                      const vmc::VmcConfig& c) {
  std::vector<std::string> candidates = r.choices;
  for (const char* t : {"2", "3", "0.25", "obc", "1", "0", "tiny3", "64:3,128", "cosine"})
    candidates.push_back(t);
  const std::string before = vmc::fingerprint_text(c);
  for (const std::string& t : candidates) {
    vmc::VmcConfig d = c;
    try {
      r.parse(d, t, r.name);
      if (vmc::fingerprint_text(d) != before) return d;
    } catch (const UsageError&) {
    }
  }
  return std::nullopt;
}

TEST(OptionTable, EveryFingerprintRowOfTheVmcTableIsComparedByResume) {
  for (const auto& r : vmc::vmc_option_table()) {
    // The device is compared by its type (cpu / cuda): another type needs a GPU to resolve.
    if (!r.fingerprint || r.key == "device") continue;
    bool seen = false;
    for (const vmc::VmcConfig& base : vmc_bases()) {
      if (!r.applies_to(base)) continue;
      seen = true;
      const std::optional<vmc::VmcConfig> other = changed(r, base);
      ASSERT_TRUE(other.has_value()) << r.key;
      const std::string diff = describe_fingerprint_difference(vmc::fingerprint_text(base),
                                                               vmc::fingerprint_text(*other));
      EXPECT_NE(diff.find(r.key + ": checkpoint '"), std::string::npos) << r.key << ": " << diff;
      break;
    }
    EXPECT_TRUE(seen) << r.key << " applies to none of the test configs";
  }
}

TEST(OptionTable, VmcTableRowsAreDeclaredOnceAndParseTheirOwnText) {
  const auto& t = vmc::vmc_option_table();
  std::set<std::string> names, keys;
  for (const auto& r : t) {
    EXPECT_TRUE(names.insert(r.name).second) << r.name;
    EXPECT_TRUE(keys.insert(r.key).second) << r.key;
  }
  for (unsigned scope : {vmc::kVmcScope, vmc::kSweepScope}) {
    po::options_description desc;
    vmc::declare_vmc_options(desc, vmc::VmcConfig{}, scope);
    for (const auto& r : t)
      EXPECT_EQ(desc.find_nothrow(r.name, false) != nullptr, (r.scopes & scope) != 0) << r.name;
  }
  // The fingerprint of every base config reads back into the same fingerprint.
  for (const vmc::VmcConfig& c : vmc_bases()) {
    const std::string fp = vmc::fingerprint_text(c);
    EXPECT_EQ(vmc::fingerprint_text(vmc::config_from_fingerprint(fp, "test")), fp);
  }
  try {
    vmc::config_from_fingerprint("model = naqs_conv1d\n", "checkpoint 'x'");
    ADD_FAILURE() << "an old model line was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("fingerprint line 'model': 'naqs_conv1d' is not allowed "
                                         "(allowed: naqs, rbm)"),
              std::string::npos)
        << e.what();
  }
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          (name + "." + std::to_string(::getpid()))).string();
}

TEST(OptionTable, ResumeRefusesAChangedFieldAndTheOutputHoldsTheSettings) {
  vmc::VmcConfig c;
  c.length_x = 4;
  c.width = 2;
  c.depth = 1;
  c.steps = 2;
  c.batch_schedule = "16";
  c.obs_samples = 16;
  c.max_ed_sites = 0;
  c.quiet = true;
  c.output = temp_path("naqs_table.h5");
  c.checkpoint = c.output + ".ckpt";
  for (const std::string& f : {c.output, c.checkpoint}) std::filesystem::remove(f);
  vmc::run_vmc(c);
  {
    const H5File f = H5File::open_read(c.output);
    const std::string settings = std::get<std::string>(f.get_attr("/", "settings"));
    EXPECT_EQ(settings, vmc::settings_text(c));
    for (const auto& r : vmc::vmc_option_table()) {
      if (!r.recorded)  // the file names (--out, --checkpoint, --resume)
        EXPECT_EQ(settings.find(r.key + " = "), std::string::npos) << r.key;
      else if (r.applies_to(c))
        EXPECT_NE(settings.find(r.key + " = "), std::string::npos) << r.key;
    }
  }
  c.resume = true;
  c.grad_clip = 0.5;  // a row added with this table
  try {
    vmc::run_vmc(c);
    ADD_FAILURE() << "resumed with another grad_clip";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("grad_clip: checkpoint '0', this run '0.5'"),
              std::string::npos)
        << e.what();
  }
  for (const std::string& f : {c.output, c.checkpoint}) std::filesystem::remove(f);
}

TEST(OptionTable, DeprecatedSpellingIsReadAsTheNewOneWithOneLine) {
  if (testing::naqs_exe().empty()) GTEST_SKIP() << "NAQS_EXE not set (run through ctest)";
  const std::string dir = temp_path("naqs_deprecated");
  std::filesystem::create_directories(dir);
  const std::string ini = dir + "/old.ini";
  std::ofstream(ini) << "sz-zero = true\n";
  const std::vector<std::string> tiny = {
      "vmc", "--hamiltonian", "heisenberg", "--L", "4", "--width", "2", "--depth", "1",
      "--steps", "1", "--batch", "16", "--obs-samples", "16", "--ed-max-sites", "0", "--quiet"};
  int k = 0;
  for (const std::vector<std::string>& how :
       {std::vector<std::string>{"--sz-zero"}, std::vector<std::string>{"--config", ini}}) {
    std::vector<std::string> args = tiny;
    args.insert(args.end(), how.begin(), how.end());
    const std::string out = dir + "/run" + std::to_string(k++) + ".h5";
    args.insert(args.end(), {"-o", out});
    const testing::ExeRun r = testing::run_naqs_args(args, dir);
    ASSERT_EQ(r.rc, 0) << how[0] << "\n" << r.err;
    EXPECT_EQ(r.err, "naqs vmc: --sz-zero is deprecated; use --magnetisation 0\n") << how[0];
    const H5File f = H5File::open_read(out);
    EXPECT_EQ(std::get<int64_t>(f.get_attr("/system", "magnetisation")), 0) << how[0];
    EXPECT_EQ(std::get<std::string>(f.get_attr("/system", "boundary")), "pbc");  // as ed's
  }
  const testing::CliRun bad = testing::run_naqs("vmc --boundary xbc --L 4");
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.out.find("--boundary: 'xbc' is not allowed (allowed: pbc, obc)"),
            std::string::npos)
      << bad.out;
  std::filesystem::remove_all(dir);
}

TEST(ObservableTable, FeedsTheTraceTheConsoleAndTheExactValues) {
  // The /observables trace columns are part of the file format (docs/VMC.md).
  EXPECT_EQ(vmc::observe_columns(),
            (std::vector<std::string>{"step", "energy_mean", "energy_err", "energy_var_mean",
                                      "abs_mz_mean", "abs_mz_err", "mz2_mean", "mz2_err",
                                      "x_mean", "x_err", "ms2_mean", "ms2_err"}));
  vmc::VmcObservables o;
  o.energy = {-10, 0.5};
  o.energy_var = {2, 0.1};
  o.abs_mz = {0.25, 0.01};
  o.x_mean = {0.75, 0.02};
  const std::vector<double> row = vmc::observe_row(7, o);
  EXPECT_EQ(row, (std::vector<double>{7, -10, 0.5, 2, 0.25, 0.01, 0, 0, 0.75, 0.02, 0, 0}));
  vmc::ExactReference ex;
  ex.method = "test";
  ex.energy = -12;
  ex.abs_mz = 0.5;
  const std::string table = vmc::observables_table(o, ex, 4);
  std::set<std::string> names;
  for (const vmc::ObservableRow& r : vmc::observable_table()) {
    EXPECT_TRUE(names.insert(r.name).second) << r.name;
    EXPECT_NE(table.find(std::string("  ") + r.label + " "), std::string::npos) << r.label;
  }
  const auto find = [](const char* name) {
    for (const vmc::ObservableRow& r : vmc::observable_table())
      if (std::string(r.name) == name) return &r;
    return static_cast<const vmc::ObservableRow*>(nullptr);
  };
  EXPECT_EQ(find("energy_per_site")->exact_value(ex, 4), -3.0);
  EXPECT_EQ(find("abs_mz")->exact_value(ex, 4), 0.5);
  EXPECT_FALSE(find("x")->exact_value(ex, 4).has_value());
  EXPECT_FALSE(find("vscore")->exact_value(ex, 4).has_value());
}

}  // namespace
}  // namespace naqs
