// The folder-level include graph (scripts/include_graph.py over this build's `ninja -t deps`)
// has no cycle, at the top-folder level (physics, validation, host, ...) and at two levels
// (physics/vmc, physics/ed, ...; one known cycle allowed, host/core <-> host/ops). The script is
// first shown to find a cycle: a synthetic tree of two folders that include each other, given
// with its dependency text, must fail (exit 1, the cycle named) and pass once one include is
// removed. Skips when the build has no ninja dependency log (another generator).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct ScriptRun {
  int rc = -1;
  std::string output;
};

ScriptRun run_script(const std::string& args) {
  const std::string cmd = std::string("python3 '") + NAQS_SOURCE_DIR +
                          "/scripts/include_graph.py' " + args + " 2>&1";
  ScriptRun r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) r.output += buf;
  const int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(IncludeGraph, FindsASyntheticCycle) {
  const fs::path root = fs::temp_directory_path() / ("naqs_include_graph_" +
                                                     std::to_string(::getpid()));
  fs::remove_all(root);
  write(root / "a/x.cpp", "#include \"b/y.hpp\"\n");
  write(root / "b/y.hpp", "#include \"a/z.hpp\"\n");
  write(root / "a/z.hpp", "// z\n");
  write(root / "deps.txt", "x.o: #deps 3, deps mtime 1 (VALID)\n    " +
                               (root / "a/x.cpp").string() + "\n    " +
                               (root / "b/y.hpp").string() + "\n    " +
                               (root / "a/z.hpp").string() + "\n\n");
  fs::create_directories(root / "build");
  const std::string args = "'" + (root / "build").string() + "' '--root=" + root.string() +
                           "' '--deps=" + (root / "deps.txt").string() + "'";
  const ScriptRun cyclic = run_script(args);
  EXPECT_EQ(cyclic.rc, 1) << cyclic.output;
  EXPECT_NE(cyclic.output.find("CYCLE (level 1): a <-> b"), std::string::npos) << cyclic.output;
  EXPECT_NE(cyclic.output.find("b/y.hpp -> a/z.hpp"), std::string::npos) << cyclic.output;
  write(root / "b/y.hpp", "// no include\n");
  const ScriptRun acyclic = run_script(args);
  EXPECT_EQ(acyclic.rc, 0) << acyclic.output;
  EXPECT_NE(acyclic.output.find("no folder cycle"), std::string::npos) << acyclic.output;
  fs::remove_all(root);
}

TEST(IncludeGraph, NoFolderCycle) {
  if (!fs::exists(fs::path(NAQS_BINARY_DIR) / ".ninja_deps"))
    GTEST_SKIP() << "no ninja dependency log in " << NAQS_BINARY_DIR;
  // host/core <-> host/ops is known: Tensor's copies call ops::copy (docs/ARCHITECTURE.md).
  const ScriptRun r = run_script(std::string("'") + NAQS_BINARY_DIR + "' '--root=" +
                                 NAQS_SOURCE_DIR + "' '--allow=host/core<->host/ops'");
  EXPECT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("no folder cycle"), std::string::npos) << r.output;
}

}  // namespace
