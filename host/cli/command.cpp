#include "host/cli/command.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "host/cli/values.hpp"
#include "host/core/error.hpp"
#include "host/core/stop_signal.hpp"

namespace naqs {

namespace {
std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}

std::string any_to_string(const boost::any& v) {
  if (v.empty()) return "";
  if (auto p = boost::any_cast<std::string>(&v)) return *p;
  if (auto p = boost::any_cast<int>(&v)) return std::to_string(*p);
  if (auto p = boost::any_cast<long>(&v)) return std::to_string(*p);
  if (auto p = boost::any_cast<long long>(&v)) return std::to_string(*p);
  if (auto p = boost::any_cast<unsigned>(&v)) return std::to_string(*p);
  if (auto p = boost::any_cast<unsigned long>(&v)) return std::to_string(*p);
  if (auto p = boost::any_cast<unsigned long long>(&v)) return std::to_string(*p);
  if (auto p = boost::any_cast<bool>(&v)) return *p ? "true" : "false";
  if (auto p = boost::any_cast<double>(&v)) {
    std::ostringstream os;
    os.precision(17);
    os << *p;
    return os.str();
  }
  if (auto p = boost::any_cast<std::vector<std::string>>(&v)) {
    std::string s;
    for (auto& x : *p) {
      if (!s.empty()) s += ' ';
      s += x;
    }
    return s;
  }
  return "<unprintable>";
}

void print_usage(std::ostream& os) {
  os << "naqs: neural autoregressive quantum states (GPU-first C++/CUDA)\n\n"
        "usage: naqs <command> [options]      naqs <command> --help\n\ncommands:\n";
  auto cmds = commands();
  for (const Command& c : cmds) {
    std::string name = c.name;
    name.resize(std::max<std::size_t>(name.size(), 10), ' ');
    os << "  " << name << "  " << c.summary << "\n";
  }
  os << "\nEvery option can also come from an INI file (--config FILE, lines 'name = value');\n"
        "the command line wins. Energies are in Pauli units (see docs/CONVENTIONS.md).\n";
}

// Applies the deprecated spellings of one parse (command line or INI file) to its options: each
// becomes the new option (with the fixed value of a retired switch), and the first use of each
// prints one line on stderr naming the new spelling. A retired switch set to false is dropped.
void apply_renames(po::parsed_options& parsed, const std::vector<const Rename*>& active,
                   std::vector<std::string>& warned, const char* command) {
  std::vector<po::option> kept;
  for (po::option& o : parsed.options) {
    const Rename* r = nullptr;
    for (const Rename* a : active)
      if (o.string_key == a->old_name) r = a;
    if (!r) {
      kept.push_back(std::move(o));
      continue;
    }
    if (r->convert && !o.value.empty()) o.value = {r->convert(o.value[0])};
    const std::string use = r->value    ? cat("--", r->new_name, " ", r->value)
                            : r->convert ? cat("--", r->new_name, " ", o.value.at(0))
                                         : cat("--", r->new_name);
    if (std::find(warned.begin(), warned.end(), r->old_name) == warned.end()) {
      warned.push_back(r->old_name);
      std::fprintf(stderr, "naqs %s: --%s is deprecated; use %s\n", command, r->old_name,
                   use.c_str());
    }
    if (r->value) {
      const bool off = !o.value.empty() && (o.value[0] == "false" || o.value[0] == "0" ||
                                            o.value[0] == "no" || o.value[0] == "off");
      if (off) continue;
      o.value = {r->value};
    }
    o.string_key = r->new_name;
    kept.push_back(std::move(o));
  }
  parsed.options = std::move(kept);
}

// naqs ed's --sz (total Sz in spin-1/2 units, auto or full) as --magnetisation (2 Sz, auto or
// none).
std::string sz_as_magnetisation(const std::string& sz) {
  if (sz == "auto") return sz;
  if (sz == "full") return "none";
  const double two_sz = 2 * parse_number(sz, "sz");
  NAQS_REQUIRE(std::abs(two_sz - std::round(two_sz)) < 1e-12 && std::abs(two_sz) <= 1 << 20,
               "--sz ", sz, " is not a total Sz of spins 1/2 (allowed: a multiple of 0.5, auto or "
               "full)");
  return std::to_string(std::lround(two_sz));
}
}  // namespace

const std::vector<Rename>& deprecated_spellings() {
  // old, new, fixed value (nullptr: the old option's own value). Applied to a command that
  // declares the new name and not the old one (docs/CONVENTIONS.md).
  static const std::vector<Rename> r = {
      {"sz-zero", "magnetisation", "0"},
      {"model", "hamiltonian"},  // naqs ed (naqs vmc's --model is the wavefunction)
      {"Delta", "delta"},
      {"bc", "boundary"},
      {"pbc", "boundary", "pbc"},
      {"obc", "boundary", "obc"},
      {"Lx", "L"},
      {"output", "out"},
      {"out-dir", "out"},
      {"sz", "magnetisation", nullptr, sz_as_magnetisation},  // naqs ed
  };
  return r;
}

bool register_command(const Command& c) {
  registry().push_back(c);
  return true;
}

const std::vector<Command>& commands() {
  auto& r = registry();
  std::sort(r.begin(), r.end(),
            [](const Command& a, const Command& b) { return std::string(a.name) < b.name; });
  return r;
}

std::string effective_config(const po::variables_map& vm) {
  std::string out;
  for (const auto& [name, value] : vm) {
    if (name == "help" || name == "config") continue;
    out += name + " = " + any_to_string(value.value()) + "\n";
  }
  return out;
}

int run_cli(int argc, char** argv) {
  if (argc < 2) {
    release_early_stop_handlers();
    print_usage(std::cerr);
    return 2;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    release_early_stop_handlers();
    print_usage(std::cout);
    return 0;
  }
  if (name == "--version") name = "info";
  const Command* cmd = nullptr;
  for (const Command& c : commands())
    if (name == c.name) cmd = &c;
  if (!cmd) {
    std::string allowed;
    for (const Command& c : commands()) {
      if (!allowed.empty()) allowed += ", ";
      allowed += c.name;
    }
    throw UsageError(cat("unknown command '", name, "' (allowed: ", allowed, ")"));
  }

  std::optional<StopSignalGuard> signals;
  if (cmd->stop_signals) {
    signals.emplace();
  } else {
    release_early_stop_handlers();
  }

  po::options_description desc(cat("naqs ", cmd->name, ": ", cmd->summary, "\n\noptions"));
  desc.add_options()("help,h", "print this help and exit")(
      "config", po::value<std::string>(), "INI file of options ('name = value' lines)");
  cmd->add_options(desc);
  // The deprecated spellings this command accepts: parsed (hidden from --help), then renamed.
  po::options_description all, hidden;
  std::vector<const Rename*> renames;
  std::vector<std::string> warned;
  for (const Rename& r : deprecated_spellings()) {
    if (!desc.find_nothrow(r.new_name, false) || desc.find_nothrow(r.old_name, false)) continue;
    hidden.add_options()(r.old_name, r.value ? po::bool_switch()
                                             : static_cast<po::value_semantic*>(
                                                   po::value<std::string>()), "");
    renames.push_back(&r);
  }
  all.add(desc).add(hidden);

  po::variables_map vm;
  try {
    po::positional_options_description positional;
    if (cmd->positional) positional.add(cmd->positional, cmd->positional_count);
    po::parsed_options argv_options =
        po::command_line_parser(argc - 1, argv + 1).options(all).positional(positional).run();
    apply_renames(argv_options, renames, warned, cmd->name);
    po::store(argv_options, vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::error_code ec;
      const auto st = std::filesystem::status(path, ec);
      if (ec || !std::filesystem::exists(st))
        throw UsageError(cat("--config: cannot open '", path, "'",
                             ec ? cat(" (", ec.message(), ")") : std::string()));
      if (std::filesystem::is_directory(st))
        throw UsageError(cat("--config: '", path, "' is a directory, not an INI file"));
      std::ifstream in(path);
      if (!in) throw UsageError(cat("--config: cannot open '", path, "'"));
      po::parsed_options parsed = po::parse_config_file(in, all, /*allow_unregistered=*/false);
      apply_renames(parsed, renames, warned, cmd->name);
      // Every value of the file is checked, also those the command line overrides (storing into
      // `vm` would skip them).
      po::variables_map file_values;
      po::store(parsed, file_values);
      po::store(parsed, vm);
      // A stream that failed while reading (not at its end) would silently give defaults.
      if (in.bad() || (!in.eof() && in.fail()))
        throw UsageError(cat("--config: cannot read '", path, "'"));
    }
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    // An unknown spelling: the command's options, so the one line names the right one.
    std::string allowed;
    for (const auto& o : desc.options())
      allowed += (allowed.empty() ? "--" : ", --") + o->long_name();
    throw UsageError(cat(e.what(), " (allowed: ", allowed, ")"));
  } catch (const po::error& e) {
    throw UsageError(cat(e.what(), " (see 'naqs ", cmd->name, " --help')"));
  }

  CommandContext ctx;
  for (int i = 0; i < argc; ++i) {
    if (i) ctx.command_line += ' ';
    ctx.command_line += argv[i];
  }
  ctx.config_text = effective_config(vm);
  ctx.vm = &vm;
  return cmd->run(ctx);
}

}  // namespace naqs
