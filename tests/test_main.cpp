// Shared gtest main for every test tier.
//
// Scratch directories: tests put their files under temp_directory_path()/naqs_test_<what>_<pid>
// (the pid keeps parallel ctest processes apart). When the process's tests are done, every such
// directory of this pid (name ending in "_<pid>" or holding "_<pid>_") is removed, so a test run
// leaves nothing in /tmp; a test that keeps a file for a later process (none does) would have to
// use another name.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace {

class RemoveScratchDirs : public ::testing::Environment {
 public:
  void TearDown() override {
    namespace fs = std::filesystem;
    const std::string pid = "_" + std::to_string(::getpid());
    std::error_code ec;
    const fs::path tmp = fs::temp_directory_path(ec);
    if (ec) return;
    for (const fs::directory_entry& e : fs::directory_iterator(tmp, ec)) {
      const std::string name = e.path().filename().string();
      const bool ours = name.rfind("naqs_test_", 0) == 0 &&
                        ((name.size() >= pid.size() &&
                          name.compare(name.size() - pid.size(), pid.size(), pid) == 0) ||
                         name.find(pid + "_") != std::string::npos);
      if (ours) fs::remove_all(e.path(), ec);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new RemoveScratchDirs);
  return RUN_ALL_TESTS();
}
