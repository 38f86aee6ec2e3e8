// Output ownership (host/io/ownership.hpp), checked sizes (host/core/checked.hpp), the
// allocator's refusal of impossible sizes, and plain error text (host/core/error_text.hpp).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "host/core/allocator.hpp"
#include "host/core/checked.hpp"
#include "host/core/error_text.hpp"
#include "host/core/tensor.hpp"
#include "host/io/ownership.hpp"

namespace naqs {
namespace {

namespace fs = std::filesystem;

class Ownership : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("naqs_test_ownership_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  int n_files() const {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) n += e.path().filename() != "" ? 1 : 0;
    return n;
  }
  fs::path dir_;
};

// A pid that has certainly exited (a child we reaped).
long dead_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

void touch(const std::string& p, const std::string& text = "x") { std::ofstream(p) << text; }

TEST_F(Ownership, TempNamesParseAndStaleOnesOfDeadProcessesAreRemoved) {
  const std::string target = path("run.h5");
  const std::string mine = temp_path_for(target);
  long pid = 0;
  std::string host;
  ASSERT_TRUE(parse_temp_name(fs::path(mine).filename(), "run.h5", &pid, &host));
  EXPECT_EQ(pid, ::getpid());
  EXPECT_EQ(host, this_host());
  EXPECT_FALSE(parse_temp_name("run.h5.tmp.", "run.h5", &pid, &host));
  EXPECT_FALSE(parse_temp_name("run.h5.tmp.12x", "run.h5", &pid, &host));
  EXPECT_FALSE(parse_temp_name("other.h5.tmp.12", "run.h5", &pid, &host));

  const long dead = dead_pid();
  const std::string stale = cat(target, ".tmp.", dead, "@", this_host());
  const std::string stale_old_form = cat(target, ".tmp.", dead);
  const std::string alive = cat(target, ".tmp.", ::getppid(), "@", this_host());
  const std::string foreign = cat(target, ".tmp.", dead, "@another-host");
  const std::string unrelated = path("run.h5.tmp.notapid");
  for (const auto& p : {stale, stale_old_form, alive, foreign, unrelated}) touch(p);
  EXPECT_EQ(remove_stale_temps(target), 2);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(stale_old_form));
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_TRUE(fs::exists(foreign));
  EXPECT_TRUE(fs::exists(unrelated));
}

TEST_F(Ownership, WriteNewAtomicallyNeverReplacesAndCleansStaleTemps) {
  const std::string p = path("result.h5");
  const std::string stale = cat(p, ".tmp.", dead_pid(), "@", this_host());
  touch(stale);
  write_new_atomically(p, [](H5File& f) { f.set_attr("/", "who", std::string("first")); });
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_THROW(write_new_atomically(
                   p, [](H5File& f) { f.set_attr("/", "who", std::string("second")); }),
               UsageError);
  EXPECT_EQ(std::get<std::string>(H5File::open_read(p).get_attr("/", "who")), "first");
  EXPECT_EQ(n_files(), 1);  // no temp left behind
  // A failing fill leaves nothing.
  EXPECT_THROW(write_new_atomically(path("b.h5"), [](H5File&) { throw Error("boom"); }), Error);
  EXPECT_EQ(n_files(), 1);
}

TEST_F(Ownership, OfTwoConcurrentWritersExactlyOneWins) {
  const std::string p = path("race.h5");
  for (int round = 0; round < 5; ++round) {
    fs::remove(p);
    std::vector<pid_t> kids;
    for (int k = 0; k < 4; ++k) {
      const pid_t pid = fork();
      if (pid == 0) {
        try {
          write_new_atomically(p, [&](H5File& f) { f.set_attr("/", "writer", int64_t{k}); });
          _exit(0);
        } catch (const UsageError&) {
          _exit(2);
        } catch (...) {
          _exit(1);
        }
      }
      kids.push_back(pid);
    }
    int winners = 0, losers = 0;
    for (pid_t pid : kids) {
      int status = 0;
      waitpid(pid, &status, 0);
      ASSERT_TRUE(WIFEXITED(status));
      winners += WEXITSTATUS(status) == 0;
      losers += WEXITSTATUS(status) == 2;
    }
    EXPECT_EQ(winners, 1);
    EXPECT_EQ(losers, 3);
    EXPECT_EQ(n_files(), 1);
  }
}

TEST_F(Ownership, PathChecksBeforeWork) {
  EXPECT_THROW(check_distinct_paths({{"--out", path("x.h5")}, {"--checkpoint", path("x.h5")}}),
               UsageError);
  EXPECT_THROW(check_distinct_paths(
                   {{"--out", path("x.h5")}, {"--checkpoint", dir_.string() + "/./x.h5"}}),
               UsageError);
  fs::create_symlink(path("x.h5"), path("link.h5"));
  EXPECT_THROW(check_distinct_paths({{"--out", path("x.h5")}, {"--checkpoint", path("link.h5")}}),
               UsageError);
  EXPECT_THROW(check_distinct_paths(
                   {{"--out", path("x.h5")}, {"--checkpoint", path("x.h5.tmp.77@h")}}),
               UsageError);
  EXPECT_NO_THROW(check_distinct_paths({{"--out", path("x.h5")}, {"--checkpoint", path("x.h5.ckpt")}}));
  EXPECT_NO_THROW(check_distinct_paths({{"--out", path("x.h5")}, {"--checkpoint", ""}}));

  EXPECT_THROW(check_output_path("--out", dir_.string(), false), UsageError);  // a directory
  EXPECT_THROW(check_output_path("--out", path("no/such/dir/x.h5"), false), UsageError);
  touch(path("exists.h5"));
  EXPECT_THROW(check_output_path("--out", path("exists.h5"), true), UsageError);
  EXPECT_NO_THROW(check_output_path("--out", path("exists.h5"), false));
  if (::geteuid() != 0) {  // root may write anywhere
    fs::create_directories(path("ro"));
    fs::permissions(path("ro"), fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_THROW(check_output_path("--checkpoint", path("ro/x.ckpt"), false), UsageError);
    fs::permissions(path("ro"), fs::perms::owner_all);
  }
}

TEST_F(Ownership, RunIdentityRoundTrip) {
  const std::string a = new_run_id(), b = new_run_id();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  const RunIdentity id{"0123456789abcdef", a};
  write_new_atomically(path("r.h5"), [&](H5File& f) { write_run_identity(f, id); });
  const auto back = read_run_identity(H5File::open_read(path("r.h5")));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, id);
  write_new_atomically(path("plain.h5"), [](H5File& f) { f.set_attr("/", "x", int64_t{1}); });
  EXPECT_FALSE(read_run_identity(H5File::open_read(path("plain.h5"))).has_value());
}

TEST(CheckedSizes, OverflowIsAUsageErrorNotAWrap) {
  EXPECT_EQ(checked_mul(int64_t{1} << 31, int64_t{1} << 31, "n"), int64_t{1} << 62);
  EXPECT_THROW(checked_mul(int64_t{1} << 32, int64_t{1} << 31, "n"), UsageError);
  EXPECT_THROW(checked_mul(-1, 5, "n"), UsageError);
  EXPECT_THROW(checked_add(INT64_MAX, 1, "n"), UsageError);
  EXPECT_THROW(checked_bytes(int64_t{1} << 62, 8, "n"), UsageError);
  // A tensor whose element count or byte count does not fit is refused before allocating.
  EXPECT_THROW(Tensor::empty({int64_t{1} << 40, int64_t{1} << 30}, DType::f64, Device::cpu()),
               UsageError);
  EXPECT_THROW(Tensor::empty({int64_t{1} << 61}, DType::f64, Device::cpu()), UsageError);
}

TEST(CheckedSizes, AllocatorRefusesImpossibleSizesWithAMessage) {
  CachingAllocator a(Device::cpu());
  for (std::size_t bytes : {kMaxAllocationBytes + 1, std::size_t{1} << 63, ~std::size_t{0}}) {
    try {
      a.allocate(bytes);
      ADD_FAILURE() << bytes << " bytes were allocated";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("impossible"), std::string::npos) << e.what();
    }
  }
  void* p = a.allocate(1000);  // still works
  a.deallocate(p, 1000);
}

TEST(ErrorText, SourceLocationsAreStripped) {
  EXPECT_EQ(strip_source_locations("H5Fopen failed on 'x': bad [host/io/hdf5.cpp:270]"),
            "H5Fopen failed on 'x': bad");
  EXPECT_EQ(strip_source_locations("a [x.cu:1] b (c [d/e.hpp:22])"), "a b (c)");
  EXPECT_EQ(strip_source_locations("batch [1, 4096] and [t:3]"), "batch [1, 4096] and [t:3]");
}

}  // namespace
}  // namespace naqs
