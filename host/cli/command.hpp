// Subcommands of the naqs executable. Each apps/cmd_*.cpp registers one with NAQS_COMMAND;
// main() parses `naqs <cmd> [options]` (command line first, then --config FILE, so the command
// line wins; every value of the file is still checked, also one the command line overrides),
// handles --help, and calls run(). Numeric options are declared with cli::number<T>(range)
// (host/cli/number.hpp). Malformed or unknown options become one
// UsageError line (exit code 2).
#pragma once
#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace naqs {

namespace po = boost::program_options;

struct CommandContext {
  std::string command_line;  // the whole argv joined, for provenance
  std::string config_text;   // every effective option as "name = value" lines
  const po::variables_map* vm = nullptr;
};

struct Command {
  const char* name;
  const char* summary;
  void (*add_options)(po::options_description& desc);
  int (*run)(const CommandContext& ctx);
  // When set, bare arguments (not options) are the values of this option ("naqs collect DIR").
  const char* positional = nullptr;
  // When set, the stop-signal handlers (host/core/stop_signal.hpp) are installed before the
  // options are parsed and stay for the whole command, so a SIGTERM/SIGUSR1/SIGINT at any moment
  // asks for a graceful stop (checkpoint, exit 3) instead of killing the process.
  bool stop_signals = false;
  // How many bare arguments `positional` takes (a std::vector<std::string> option when > 1;
  // -1: any number): `naqs align A.h5 B.h5` takes 2.
  int positional_count = 1;
};

// A deprecated option spelling: `--old_name X` is read as `--new_name X` (or, for a retired
// switch, `--old_name` as `--new_name value`; for a value in other units, `--old_name X` as
// `--new_name convert(X)`), on the command line and in INI files, with one
// line on stderr naming the new spelling. run_cli applies every entry of deprecated_spellings()
// whose new name the command declares and whose old name it does not; the old names are hidden
// from --help. Tests: tests/unit/test_cli.cpp (Vocabulary*).
struct Rename {
  const char* old_name;
  const char* new_name;
  const char* value = nullptr;
  // An old option in other units: its value converted to the new option's (UsageError naming
  // the old option for a value it cannot convert); the stderr line shows the converted value.
  std::string (*convert)(const std::string& old_value) = nullptr;
};
const std::vector<Rename>& deprecated_spellings();

bool register_command(const Command& c);
const std::vector<Command>& commands();

// Parses argv and runs the command; returns the process exit code. Throws UsageError for bad
// input and naqs::Error for failures (main() prints them).
int run_cli(int argc, char** argv);

// "name = value" for every option in vm (defaults included), sorted by name.
std::string effective_config(const po::variables_map& vm);

// The value of option `name`, or `fallback` when it was not given and has no default.
template <class T>
T value_or(const po::variables_map& vm, const char* name, T fallback) {
  return vm.count(name) ? vm[name].template as<T>() : fallback;
}

}  // namespace naqs

#define NAQS_COMMAND_CAT2(a, b) a##b
#define NAQS_COMMAND_CAT(a, b) NAQS_COMMAND_CAT2(a, b)
#define NAQS_COMMAND(...)                                                   \
  static const bool NAQS_COMMAND_CAT(naqs_command_registered_, __LINE__) = \
      ::naqs::register_command(::naqs::Command{__VA_ARGS__})
