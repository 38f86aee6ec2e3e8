#include "workflow/report.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>

#include "host/core/error.hpp"
#include "workflow/collect.hpp"

extern char** environ;

namespace naqs::workflow {

namespace fs = std::filesystem;

int spawn_wait(const std::vector<std::string>& args, bool quiet) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  }
  std::fflush(stdout);  // keep our lines before the child's
  std::fflush(stderr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

const std::vector<std::string>& report_file_names() {
  static const std::vector<std::string> names = {"energy_rel_err.png", "abs_mz.png", "mz2.png",
                                                 "x.png", "summary.md"};
  return names;
}

std::string find_python(const std::string& requested) {
  if (!requested.empty()) return requested;
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

bool python_can_report(const std::string& python, std::string* why) {
  const int rc = spawn_wait({python, "-c", "import numpy, h5py, matplotlib"}, /*quiet=*/true);
  if (rc == 0) return true;
  if (why)
    *why = rc < 0 ? cat("cannot run '", python, "'")
                  : cat("'", python, "' cannot import numpy, h5py and matplotlib");
  return false;
}

std::vector<std::string> make_report(const ReportOptions& o) {
  NAQS_REQUIRE(!o.input.empty(), "naqs report needs a collected .h5 file or a sweep directory");
  NAQS_REQUIRE(fs::exists(o.input), "'", o.input, "' does not exist");
  std::string collected = o.input;
  if (fs::is_directory(o.input)) {
    collected = default_collect_output(o.input);
    NAQS_REQUIRE(fs::exists(collected), "'", o.input, "' has no collected.h5; run 'naqs collect ",
                 o.input, "' first");
  }
  const fs::path out_dir = o.out_dir.empty()
                               ? fs::absolute(collected).parent_path() / "report"
                               : fs::path(o.out_dir);
  NAQS_REQUIRE(!fs::exists(out_dir) || fs::is_directory(out_dir), "--out '", out_dir.string(),
               "' exists and is not a directory");
  if (!o.force)
    for (const std::string& name : report_file_names())
      NAQS_REQUIRE(!fs::exists(out_dir / name), "'", (out_dir / name).string(),
                   "' already exists; naqs never overwrites results (give another --out, or "
                   "--force to replace the report)");
  const std::string python = find_python(o.python);
  std::string why;
  if (!python_can_report(python, &why))
    throw Error(cat("naqs report needs Python 3 with numpy, h5py and matplotlib: ", why,
                    " (Debian: apt-get install python3-numpy python3-h5py python3-matplotlib, "
                    "as scripts/setup.sh does; or --python PATH)"));
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  NAQS_REQUIRE(!ec, "cannot create '", out_dir.string(), "': ", ec.message());
  const int rc = spawn_wait({python, "-c", report_script_text(), collected, out_dir.string()},
                            /*quiet=*/false);
  NAQS_CHECK(rc == 0, "the report script failed (", python, " exit status ", rc,
             "; its message is above)");
  std::vector<std::string> written;
  for (const std::string& name : report_file_names()) {
    NAQS_CHECK(fs::exists(out_dir / name), "the report script did not write '",
               (out_dir / name).string(), "'");
    written.push_back((out_dir / name).string());
  }
  return written;
}

}  // namespace naqs::workflow
