// The seam in the build (CMakeLists.txt, "the layers, one target each"): each layer compiles
// against include roots that link only the folders it may include. This test compiles the seam
// probes of this build tree (cmake --build --target NAME): every seam_probe_bad_* includes a
// header across the seam and must fail to compile, naming that header (not found, or a CUDA
// toolkit header stopped by the poison stubs of CMakeLists.txt); every
// seam_probe_ok_* includes only what its layer may and must compile (so a broken probe set-up
// cannot pass as "failed for the right reason").
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct BuildResult {
  int status;
  std::string output;
};

BuildResult build_target(const std::string& target) {
  const std::string cmd = std::string("'") + NAQS_CMAKE + "' --build '" + NAQS_BINARY_DIR +
                          "' --target " + target + " 2>&1";
  BuildResult r{-1, ""};
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) r.output += buf;
  r.status = ::pclose(p);
  return r;
}

// The header a probe includes, from its generated source's include line.
std::string included_header(const std::string& probe) {
  const std::string path = std::string(NAQS_BINARY_DIR) + "/seam_probes/" + probe + ".cpp";
  FILE* f = std::fopen(path.c_str(), "r");
  std::string header;
  if (!f) return header;
  char line[512];
  while (std::fgets(line, sizeof line, f)) {
    std::string s = line;
    if (s.rfind("#include ", 0) == 0) header = s.substr(10, s.find_last_not_of("\">\n") - 9);
  }
  std::fclose(f);
  return header;
}

TEST(Seam, IncludesAcrossTheSeamFailToCompile) {
  std::vector<std::string> probes;
  std::stringstream list(NAQS_SEAM_PROBES);
  for (std::string p; std::getline(list, p, ',');) probes.push_back(p);
  ASSERT_GE(probes.size(), 9u) << "the seam probes are missing from CMakeLists.txt";
  int bad = 0, ok = 0;
  for (const std::string& probe : probes) {
    const BuildResult r = build_target(probe);
    if (probe.rfind("seam_probe_ok_", 0) == 0) {
      ++ok;
      EXPECT_EQ(r.status, 0) << probe << " (allowed includes only) failed:\n" << r.output;
    } else {
      ++bad;
      const std::string header = included_header(probe);
      ASSERT_FALSE(header.empty()) << probe;
      EXPECT_NE(r.status, 0) << probe << " compiled, but it includes " << header
                             << " across the seam";
      const bool not_found = r.output.find(header + ": No such file") != std::string::npos;
      const bool poisoned =
          r.output.find("<" + header + "> is a CUDA toolkit header") != std::string::npos;
      EXPECT_TRUE(not_found || poisoned)
          << probe << " failed for another reason than the refused " << header << ":\n"
          << r.output;
    }
  }
  EXPECT_GE(ok, 2);
  EXPECT_GE(bad, 7);
}

}  // namespace
