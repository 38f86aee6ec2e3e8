// A scratch directory for command tests: `naqs CMD ARGS` (a shell line) run with stdout and stderr
// captured in two files inside it, and the set of the other files there, to prove that a refused
// command wrote nothing. The executable is $NAQS_EXE (set by ctest; tests skip without it).
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "tests/support/cli_run.hpp"

namespace naqs::testing {

struct CmdResult {
  int code;  // exit code, -1 when killed
  std::string out, err;
};

class CmdDir {
 public:
  CmdDir() = default;
  // temp_directory_path()/<name>, emptied and created.
  explicit CmdDir(const std::string& name)
      : dir_(std::filesystem::temp_directory_path() / name) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  // Removes the directory (explicitly: a fixture decides when, e.g. at the end of its suite).
  void remove() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  const std::filesystem::path& dir() const { return dir_; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // `naqs <cmd> <args>` through the shell; its stdout and stderr.
  CmdResult run(const std::string& cmd, const std::string& args) const {
    const std::string o = path(kStdout), e = path(kStderr);
    const int status =
        std::system((naqs_exe() + " " + cmd + " " + args + " >" + o + " 2>" + e).c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(o), read_text(e)};
  }

  // The names of the files in the directory other than the captured stdout and stderr.
  std::set<std::string> files() const {
    std::set<std::string> s;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (name != kStdout && name != kStderr) s.insert(name);
    }
    return s;
  }

 private:
  static constexpr const char* kStdout = "stdout";
  static constexpr const char* kStderr = "stderr";
  std::filesystem::path dir_;
};

}  // namespace naqs::testing
