// Running the built naqs executable ($NAQS_EXE, set by ctest) from tests: exit status, stdout and
// stderr apart, a start with a SIGTERM already pending, and file hashes to prove that nothing was
// changed.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace naqs::testing {

inline std::string naqs_exe() {
  const char* e = std::getenv("NAQS_EXE");
  return e ? e : "";
}

struct ExeRun {
  int status = 0;  // raw wait status
  int rc = -1;     // exit code, or -signal when killed
  std::string out, err;
};

inline std::string read_text(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// In a forked child: replaces it by naqs `args` (args[0] = subcommand); exit 127 if exec fails.
[[noreturn]] inline void exec_naqs(const std::vector<std::string>& args) {
  const std::string exe = naqs_exe();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const std::string& s : args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  execv(exe.c_str(), argv.data());
  _exit(127);
}

// Starts `args` (args[0] = naqs subcommand; the executable is prepended) in `cwd` with stdout
// and stderr to files; returns the pid.
inline pid_t spawn_naqs(const std::vector<std::string>& args, const std::string& out_file,
                        const std::string& err_file, const std::string& cwd = "") {
  const pid_t pid = fork();
  if (pid == 0) {
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) _exit(126);
    const int o = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    exec_naqs(args);
  }
  return pid;
}

inline ExeRun finish_naqs(pid_t pid, const std::string& out_file, const std::string& err_file) {
  ExeRun r;
  waitpid(pid, &r.status, 0);
  r.rc = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -WTERMSIG(r.status);
  r.out = read_text(out_file);
  r.err = read_text(err_file);
  std::filesystem::remove(out_file);
  std::filesystem::remove(err_file);
  return r;
}

// Runs naqs with `args` in `cwd` (logs go to `scratch`, a directory outside the one under test).
inline ExeRun run_naqs_args(const std::vector<std::string>& args, const std::string& scratch,
                            const std::string& cwd = "") {
  static int counter = 0;
  const std::string base = scratch + "/run" + std::to_string(::getpid()) + "_" +
                           std::to_string(counter++);
  const pid_t pid = spawn_naqs(args, base + ".out", base + ".err", cwd);
  return finish_naqs(pid, base + ".out", base + ".err");
}

// Runs naqs with `args` (args[0] = subcommand) and a SIGTERM already pending when it starts:
// blocked and raised in the child before exec, so it survives exec (the earliest possible stop
// signal). stdout and stderr go to `log` (empty: inherited). Returns the raw wait status.
inline int run_naqs_with_pending_sigterm(const std::vector<std::string>& args,
                                         const std::string& log = "") {
  const pid_t pid = fork();
  if (pid == 0) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    raise(SIGTERM);  // pending across exec
    if (!log.empty()) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
    }
    exec_naqs(args);
  }
  int status = -1;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

inline int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// FNV-1a 64 of a file's bytes.
inline uint64_t file_hash(const std::string& p) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : read_text(p)) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Every regular file under `dir` (recursively, symlinks not followed) -> hash; a symlink -> 0.
inline std::map<std::string, uint64_t> tree_hashes(const std::string& dir) {
  std::map<std::string, uint64_t> m;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const auto st = it->symlink_status(ec);
    if (std::filesystem::is_symlink(st)) {
      m[it->path().string()] = 0;
    } else if (std::filesystem::is_regular_file(st)) {
      m[it->path().string()] = file_hash(it->path().string());
    }
  }
  return m;
}

// Runs `naqs ARGS` through the shell (ARGS is one command-line string, quoted as for sh) with
// stdout and stderr together; rc is the exit code, or -1 when killed.
struct CliRun {
  int rc;
  std::string out;
};
inline CliRun run_naqs(const std::string& args) {
  const std::string cmd = (naqs_exe().empty() ? std::string("naqs") : naqs_exe()) + " " + args +
                          " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  std::array<char, 4096> buf;
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace naqs::testing
