// naqs collect DIR: merges the task files of a sweep directory into one HDF5 table
// (workflow/collect.hpp; layout in docs/HDF5_LAYOUT.md). Missing or unreadable task files are
// listed by name on stderr and the rest are merged; an existing output is never overwritten
// unless --force.
//
// Exit status: 0 written (even with tasks missing: they are listed, and the table marks them);
// 1 failure, or --require-complete with tasks missing (nothing written); 2 bad input.
#include <cstdio>

#include "host/cli/command.hpp"
#include "host/core/error.hpp"
#include "workflow/collect.hpp"

namespace {

using namespace naqs;

void collect_options(po::options_description& desc) {
  desc.add_options()
      ("dir", po::value<std::string>(), "the sweep directory (also as the bare argument)")
      ("out,o", po::value<std::string>()->default_value(""),
       "output file (default: DIR/collected.h5; never overwritten without --force)")
      ("force", po::bool_switch(), "replace an existing output (atomically)")
      ("require-complete", po::bool_switch(),
       "write nothing and exit 1 if any task is missing or unreadable");
}

int collect_run(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  NAQS_REQUIRE(vm.count("dir"), "naqs collect needs the sweep directory: naqs collect DIR");
  workflow::CollectOptions o;
  o.dir = vm["dir"].as<std::string>();
  o.output = vm["out"].as<std::string>();
  o.force = vm["force"].as<bool>();
  o.require_complete = vm["require-complete"].as<bool>();
  o.command_line = ctx.command_line;
  o.config_text = ctx.config_text;
  const workflow::CollectSummary s = workflow::collect_sweep(o);
  for (const std::string& m : s.missing) std::fprintf(stderr, "collect: missing: %s\n", m.c_str());
  for (const std::string& u : s.unreadable)
    std::fprintf(stderr, "collect: unreadable: %s\n", u.c_str());
  if (!s.written) {
    std::fprintf(stderr, "naqs: error: %lld of %lld tasks missing or unreadable; nothing written "
                 "(--require-complete)\n",
                 static_cast<long long>(s.n_tasks - s.n_merged), static_cast<long long>(s.n_tasks));
    return 1;
  }
  std::printf("collect: merged %lld of %lld tasks into '%s'%s\n",
              static_cast<long long>(s.n_merged), static_cast<long long>(s.n_tasks),
              s.output.c_str(), s.complete() ? "" : " (the table marks the absent ones)");
  return 0;
}

}  // namespace

NAQS_COMMAND("collect",
             "merge a sweep directory into one HDF5 table (h x method x observable); missing or "
             "corrupt task files are listed",
             collect_options, collect_run, "dir");
