// Helpers of the cluster tier (label `cluster`): tests that drive real MPI launchers (mpirun,
// srun --mpi=pmix) and a real Slurm (scripts/slurm_local.sh; scripts/test.sh starts it before
// ctest). They skip with the reason when the launcher or the cluster is absent, so a plain
// `ctest` on a developer machine still passes.
#pragma once
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace naqs::cluster_test {

namespace fs = std::filesystem;

struct ShellRun {
  int status = -1;  // exit status, or -1 when the command could not run / was killed
  std::string output;  // stdout and stderr together
};

// Single-quoted for bash.
inline std::string q(const std::string& s) {
  std::string o = "'";
  for (char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}

// Runs a shell command (bash -c), capturing stdout+stderr; gives up after timeout_s seconds
// (coreutils timeout, status 124).
inline ShellRun sh(const std::string& command, int timeout_s = 300) {
  ShellRun r;
  const std::string full =
      "timeout " + std::to_string(timeout_s) + " bash -c " + q(command) + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), p)) r.output += buf.data();
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  // A child gtest's "[  SKIPPED ]" echoed in a failure message would make ctest report this
  // test as skipped (SKIP_REGULAR_EXPRESSION): lower-case it.
  for (std::size_t at; (at = r.output.find("[  SKIPPED ]")) != std::string::npos;)
    r.output.replace(at, 12, "[  skipped ]");
  return r;
}

inline std::string naqs_exe() {
  const char* e = std::getenv("NAQS_EXE");
  return e ? e : "";
}

inline std::string self_exe() { return fs::read_symlink("/proc/self/exe").string(); }

inline std::string source_dir() { return NAQS_SOURCE_DIR; }

// A fresh scratch directory under the build tree (removed first if left by an earlier run).
inline fs::path scratch(const std::string& name) {
  const fs::path p = fs::path(NAQS_BINARY_DIR) / "cluster_scratch" / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// mpirun with the flags a root CI container needs; "" when Open MPI's mpirun is absent.
inline std::string mpirun() {
  if (sh("command -v mpirun", 10).status != 0) return "";
  std::string m = "mpirun --oversubscribe";
  if (geteuid() == 0) m += " --allow-run-as-root";
  return m;
}

// The Slurm the tests use: $SLURM_CONF, else scripts/slurm_local.sh's default location.
// Returns the env prefix "SLURM_CONF=... " or "" when no cluster answers.
inline std::string slurm_env() {
  std::string conf;
  if (const char* c = std::getenv("SLURM_CONF")) conf = c;
  else if (fs::exists("/tmp/naqs-slurm/slurm.conf")) conf = "/tmp/naqs-slurm/slurm.conf";
  else return "";
  const std::string env = "SLURM_CONF=" + q(conf) + " ";
  if (sh(env + "sinfo -h -o %T", 15).status != 0) return "";
  return env;
}

// Waits (at most timeout_s) until the Slurm job (array included) has left the queue.
inline bool wait_for_job(const std::string& env, const std::string& job, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    const ShellRun r = sh(env + "squeue -h -j " + job + " -o %i", 15);
    if (r.status == 0 && r.output.find_first_not_of(" \n") == std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return false;
}

inline std::string read_text(const fs::path& p) {
  std::string s;
  if (FILE* f = std::fopen(p.c_str(), "r")) {
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) s.append(buf.data(), n);
    std::fclose(f);
  }
  return s;
}

}  // namespace naqs::cluster_test

#define NAQS_SKIP_WITHOUT_MPI_BUILD()                                                      \
  do {                                                                                    \
    if (!::naqs::dist::mpi_built())                                                       \
      GTEST_SKIP() << "this build has no MPI (NAQS_MPI=OFF or libopenmpi-dev missing)";   \
  } while (0)

#define NAQS_SKIP_WITHOUT_SLURM(env)                                                        \
  do {                                                                                     \
    if ((env).empty())                                                                     \
      GTEST_SKIP() << "no Slurm answers (start one: scripts/slurm_local.sh start; "         \
                      "scripts/test.sh does this)";                                         \
  } while (0)
