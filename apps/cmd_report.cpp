// naqs report [COLLECTED.h5 | DIR]: PNG plots (relative energy error, <|m_z|>, <m_z^2>, <X>
// against h, each method against ED with error bars) and a Markdown summary of a collected sweep
// (workflow/report.hpp). The Python plotting script is embedded in the binary.
//
// Exit status: 0 written; 1 Python/matplotlib missing or the script failed; 2 bad input
// (nothing written).
#include <cstdio>

#include "host/cli/command.hpp"
#include "host/core/error.hpp"
#include "workflow/report.hpp"

namespace {

using namespace naqs;

void report_options(po::options_description& desc) {
  desc.add_options()
      ("input", po::value<std::string>(),
       "a collected .h5 (naqs collect) or a sweep directory (uses DIR/collected.h5); also as "
       "the bare argument")
      ("out,o", po::value<std::string>()->default_value(""),
       "output directory (default: report/ beside the collected file)")
      ("force", po::bool_switch(), "replace existing report files")
      ("python", po::value<std::string>()->default_value(""),
       "Python 3 with numpy, h5py, matplotlib (default /usr/bin/python3)")
      ("print-script", po::bool_switch(), "print the embedded plotting script and exit");
}

int report_run(const CommandContext& ctx) {
  const po::variables_map& vm = *ctx.vm;
  if (vm["print-script"].as<bool>()) {
    std::fputs(workflow::report_script_text(), stdout);
    return 0;
  }
  NAQS_REQUIRE(vm.count("input"), "naqs report needs a collected file or a sweep directory: "
               "naqs report DIR");
  workflow::ReportOptions o;
  o.input = vm["input"].as<std::string>();
  o.out_dir = vm["out"].as<std::string>();
  o.force = vm["force"].as<bool>();
  o.python = vm["python"].as<std::string>();
  const std::vector<std::string> files = workflow::make_report(o);
  std::printf("report: %zu files written (%s, ...)\n", files.size(), files.back().c_str());
  return 0;
}

}  // namespace

NAQS_COMMAND("report",
             "PNG plots and a Markdown table of a collected sweep (each method against ED)",
             report_options, report_run, "input");
