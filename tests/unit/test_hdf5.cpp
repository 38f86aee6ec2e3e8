// HDF5 layer (host/io/hdf5.hpp): round trips, no clobbering, traces that survive SIGKILL,
// atomic replacement, provenance, clear errors, and h5py reading what we write.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <hdf5.h>

#include "host/core/build_info.hpp"
#include "host/core/error.hpp"
#include "host/io/hdf5.hpp"

using namespace naqs;

namespace {

// A fresh directory per test, removed afterwards.
class Hdf5Test : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/naqs_test_hdf5_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string dir_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// Runs `f` and returns the message of the naqs::Error (or subclass E) it throws.
template <class E = Error, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

}  // namespace

TEST_F(Hdf5Test, DatasetsRoundTrip) {
  const std::vector<double> d = {1.5, -2.25, 3e-300, 1e300, -0.0, 6.0};
  const std::vector<int64_t> i = {0, -1, INT64_MAX, INT64_MIN};
  const std::vector<float> f = {0.5f};
  {
    H5File h = H5File::create_exclusive(file("a.h5"));
    h.write_dataset("/results/energy", d, {2, 3});
    h.write_dataset("/results/counts", i, {4});
    h.write_dataset("/scalar", f, {});
    h.write_dataset("/empty", std::vector<double>{}, {0});
    h.write_dataset("/replaced", std::vector<double>{1, 2, 3}, {3});
    h.write_dataset("/replaced", std::vector<double>{4, 5}, {2});  // new shape
    EXPECT_TRUE(h.exists("/results"));
    EXPECT_TRUE(h.exists("/results/energy"));
    EXPECT_FALSE(h.exists("/results/nothing"));
    EXPECT_FALSE(h.exists("/nothing/deeper"));
    EXPECT_FALSE(h.exists("/results/energy/below_a_dataset"));
    EXPECT_TRUE(h.exists("/"));
    h.close();
  }
  H5File h = H5File::open_read(file("a.h5"));
  EXPECT_EQ(h.read_doubles("/results/energy"), d);
  EXPECT_EQ(h.dims("/results/energy"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(h.read_int64s("/results/counts"), i);
  EXPECT_EQ(h.read_floats("/scalar"), f);
  EXPECT_EQ(h.dims("/scalar"), std::vector<int64_t>{});
  EXPECT_EQ(h.read_doubles("/empty"), std::vector<double>{});
  EXPECT_EQ(h.dims("/empty"), std::vector<int64_t>{0});
  EXPECT_EQ(h.read_doubles("/replaced"), (std::vector<double>{4, 5}));
  EXPECT_EQ(h.read_doubles("/results/counts")[1], -1.0);  // numeric conversion on read
  // Shape mismatch is refused.
  H5File w = H5File::create_exclusive(file("b.h5"));
  EXPECT_THROW(w.write_dataset("/x", d, {4}), Error);
}

TEST_F(Hdf5Test, StringsAndAttributesRoundTrip) {
  const std::string utf8 = "E = -20.4 ± 0.01, ψ(σ), ⟨m_z²⟩";
  const std::string multiline = "lattice = chain\nL = 16\n\nh = 1\n";
  {
    H5File h = H5File::create_exclusive(file("a.h5"));
    h.write_string("/config/text", multiline);
    h.write_string("/empty", "");
    h.write_string("/utf8", utf8);
    h.write_dataset("/results/energy", std::vector<double>{1.0}, {1});
    h.set_attr("/", "count", int64_t{-42});
    h.set_attr("/", "big", int64_t{INT64_MAX});
    h.set_attr("/", "ratio", 0.1);
    h.set_attr("/", "label", utf8);
    h.set_attr("/", "empty", std::string());
    h.set_attr("/results/energy", "units", std::string("Pauli"));
    h.set_attr("/system", "n_sites", int64_t{16});  // creates the group /system
    h.set_attr("/", "changes_type", int64_t{1});
    h.set_attr("/", "changes_type", std::string("now a string"));
  }
  H5File h = H5File::open_read(file("a.h5"));
  EXPECT_EQ(h.read_string("/config/text"), multiline);
  EXPECT_EQ(h.read_string("/empty"), "");
  EXPECT_EQ(h.read_string("/utf8"), utf8);
  EXPECT_EQ(std::get<int64_t>(h.get_attr("/", "count")), -42);
  EXPECT_EQ(std::get<int64_t>(h.get_attr("/", "big")), INT64_MAX);
  EXPECT_EQ(std::get<double>(h.get_attr("/", "ratio")), 0.1);
  EXPECT_EQ(std::get<std::string>(h.get_attr("/", "label")), utf8);
  EXPECT_EQ(std::get<std::string>(h.get_attr("/", "empty")), "");
  EXPECT_EQ(std::get<std::string>(h.get_attr("/results/energy", "units")), "Pauli");
  EXPECT_EQ(std::get<int64_t>(h.get_attr("/system", "n_sites")), 16);
  EXPECT_EQ(std::get<std::string>(h.get_attr("/", "changes_type")), "now a string");
  EXPECT_TRUE(h.has_attr("/", "count"));
  EXPECT_FALSE(h.has_attr("/", "nope"));
  EXPECT_FALSE(h.has_attr("/no/such/object", "count"));
  // Wrong kind of read.
  EXPECT_THROW(h.read_doubles("/utf8"), Error);
  EXPECT_THROW(h.read_string("/results/energy"), Error);
}

// copy_object (naqs sweep copies each task's groups into its result file): a group with its
// datasets and attributes, recursively, into another file under a new name whose parents are
// created; a missing source or an existing destination is an Error naming both.
TEST_F(Hdf5Test, CopyObjectCopiesAGroupWithItsAttributes) {
  {
    H5File src = H5File::create_exclusive(file("src.h5"));
    src.write_dataset("/results/energy_mean", std::vector<double>{-1.25}, {});
    src.write_dataset("/results/zz/corr", std::vector<double>{1, 0.5, 0.25}, {3});
    src.set_attr("/results", "units", std::string("Pauli"));
    src.set_attr("/results/zz/corr", "n", int64_t{3});
    H5File dst = H5File::create_exclusive(file("dst.h5"));
    src.copy_object("/results", dst, "/runs/naqs/results");
    EXPECT_THROW(src.copy_object("/results", dst, "/runs/naqs/results"), Error);
    try {
      src.copy_object("/nothing", dst, "/copy");
      ADD_FAILURE() << "no error for a missing source";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("/nothing"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("src.h5"), std::string::npos) << e.what();
    }
  }
  H5File dst = H5File::open_read(file("dst.h5"));
  EXPECT_EQ(dst.read_doubles("/runs/naqs/results/energy_mean"), std::vector<double>{-1.25});
  EXPECT_EQ(dst.read_doubles("/runs/naqs/results/zz/corr"), (std::vector<double>{1, 0.5, 0.25}));
  EXPECT_EQ(std::get<std::string>(dst.get_attr("/runs/naqs/results", "units")), "Pauli");
  EXPECT_EQ(std::get<int64_t>(dst.get_attr("/runs/naqs/results/zz/corr", "n")), 3);
}

TEST_F(Hdf5Test, CreateExclusiveNeverClobbers) {
  const std::string path = file("run.h5");
  {
    H5File h = H5File::create_exclusive(path);
    h.write_dataset("/results/energy", std::vector<double>{-20.4}, {1});
  }
  const std::string before = slurp(path);
  ASSERT_FALSE(before.empty());
  const std::string msg = error_of<UsageError>([&] { H5File::create_exclusive(path); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "exists")) << msg;
  EXPECT_EQ(slurp(path), before);
  EXPECT_EQ(H5File::open_read(path).read_doubles("/results/energy"), std::vector<double>{-20.4});
  // A dangling symlink is not replaced either.
  std::filesystem::create_symlink(file("nowhere"), file("link.h5"));
  EXPECT_THROW(H5File::create_exclusive(file("link.h5")), UsageError);
  EXPECT_FALSE(std::filesystem::exists(file("nowhere")));
}

TEST_F(Hdf5Test, ErrorsNameTheFileTheObjectAndTheCall) {
  const std::string missing = file("missing.h5");
  std::string msg = error_of([&] { H5File::open_read(missing); });
  EXPECT_TRUE(contains(msg, missing)) << msg;
  EXPECT_TRUE(contains(msg, "no such file")) << msg;

  // Not an HDF5 file: the failing call, the path, HDF5's innermost message and file:line.
  std::ofstream(file("text.h5")) << "not hdf5\n";
  msg = error_of([&] { H5File::open_rw(file("text.h5")); });
  EXPECT_TRUE(contains(msg, "H5Fopen")) << msg;
  EXPECT_TRUE(contains(msg, file("text.h5"))) << msg;
  EXPECT_TRUE(contains(msg, "signature")) << msg;  // "file signature not found"
  EXPECT_TRUE(std::regex_search(msg, std::regex("hdf5\\.cpp:[0-9]+\\]"))) << msg;

  H5File h = H5File::create_exclusive(file("a.h5"));
  h.write_dataset("/results/energy", std::vector<double>{1.0}, {1});
  msg = error_of([&] { h.read_doubles("/results/magnetisation"); });
  EXPECT_TRUE(contains(msg, file("a.h5"))) << msg;
  EXPECT_TRUE(contains(msg, "/results/magnetisation")) << msg;
  msg = error_of([&] { h.dims("/nothing/here"); });
  EXPECT_TRUE(contains(msg, "/nothing/here")) << msg;
  msg = error_of([&] { h.get_attr("/results", "units"); });
  EXPECT_TRUE(contains(msg, "units")) << msg;
  EXPECT_TRUE(contains(msg, "/results")) << msg;
  EXPECT_TRUE(contains(msg, file("a.h5"))) << msg;
  // A dataset cannot become a group.
  msg = error_of([&] { h.create_group("/results/energy"); });
  EXPECT_TRUE(contains(msg, "/results/energy")) << msg;
  // Writing into a read-only file reports the HDF5 call.
  h.close();
  H5File r = H5File::open_read(file("a.h5"));
  msg = error_of([&] { r.write_dataset("/x", std::vector<double>{1.0}, {1}); });
  EXPECT_TRUE(contains(msg, "H5Dcreate2")) << msg;
  EXPECT_TRUE(contains(msg, "'/x'")) << msg;
}

TEST_F(Hdf5Test, TraceAppendReopenTruncate) {
  const std::string path = file("run.h5");
  const std::vector<std::string> cols = {"step", "energy_mean", "energy_err"};
  {
    H5File h = H5File::create_exclusive(path);
    H5Trace t(h, "/train", cols);
    EXPECT_EQ(t.rows(), 0);
    for (int s = 0; s < 5; ++s) t.append({double(s), -20.0 - s, 0.1 * s});
    EXPECT_EQ(t.rows(), 5);
    EXPECT_THROW(t.append({1.0, 2.0}), Error);  // wrong row length
    EXPECT_EQ(t.rows(), 5);
    // Read back while open (everything is flushed).
    EXPECT_EQ(h.read_doubles("/train/energy_mean"),
              (std::vector<double>{-20, -21, -22, -23, -24}));
  }
  {
    H5File h = H5File::open_rw(path);
    H5Trace t(h, "/train", cols);
    EXPECT_EQ(t.rows(), 5);  // continues
    t.append({5, -25, 0.5});
    EXPECT_EQ(t.rows(), 6);
    t.truncate_to(3);  // e.g. resuming from the checkpoint at step 3
    EXPECT_EQ(t.rows(), 3);
    EXPECT_THROW(t.truncate_to(4), Error);
    EXPECT_THROW(t.truncate_to(-1), Error);
    t.append({3, -33, 0.3});
    // Continuing with other columns is refused.
    const std::string msg =
        error_of([&] { H5Trace(h, "/train", {"step", "energy_mean", "energy_err", "new"}); });
    EXPECT_TRUE(contains(msg, "step,energy_mean,energy_err")) << msg;
    EXPECT_THROW(H5Trace(h, "/train", {"step", "energy_mean"}), Error);
  }
  H5File h = H5File::open_read(path);
  EXPECT_EQ(h.read_doubles("/train/step"), (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(h.read_doubles("/train/energy_mean"), (std::vector<double>{-20, -21, -22, -33}));
  EXPECT_EQ(h.read_doubles("/train/energy_err")[3], 0.3);
  EXPECT_EQ(std::get<std::string>(h.get_attr("/train", "columns")),
            "step,energy_mean,energy_err");
}

TEST_F(Hdf5Test, TraceReopenDropsAHalfWrittenRow) {
  const std::string path = file("run.h5");
  H5File h = H5File::create_exclusive(path);
  {
    H5Trace t(h, "/train", {"a", "b"});
    for (int s = 0; s < 3; ++s) t.append({double(s), 10.0 + s});
  }
  {  // as if killed after extending column a for row 3 (raw C API)
    const hid_t d = H5Dopen2(h.id(), "/train/a", H5P_DEFAULT);
    ASSERT_GE(d, 0);
    const hsize_t four = 4;
    EXPECT_GE(H5Dset_extent(d, &four), 0);
    EXPECT_GE(H5Dclose(d), 0);
  }
  EXPECT_EQ(h.dims("/train/a"), std::vector<int64_t>{4});
  H5Trace t(h, "/train", {"a", "b"});
  EXPECT_EQ(t.rows(), 3);
  EXPECT_EQ(h.dims("/train/a"), std::vector<int64_t>{3});
  t.append({3, 13});
  EXPECT_EQ(h.read_doubles("/train/a"), (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(h.read_doubles("/train/b"), (std::vector<double>{10, 11, 12, 13}));
}

// A child appends rows as fast as it can, reporting each finished append() through a pipe;
// the parent SIGKILLs it mid-run. Every reported row must be in the file, and the file must
// open (read-only and for continuing).
TEST_F(Hdf5Test, TraceSurvivesSigkill) {
  for (int acks_before_kill : {1, 57, 400}) {
    const std::string path = file("killed_" + std::to_string(acks_before_kill) + ".h5");
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // child: never returns into gtest
      ::close(fds[0]);
      try {
        H5File h = H5File::create_exclusive(path);
        write_provenance(h, "child", "", "cpu", {});
        H5Trace t(h, "/train", {"step", "energy_mean"});
        for (int64_t s = 0;; ++s) {
          t.append({double(s), -0.5 * double(s)});
          const char c = 'r';
          if (::write(fds[1], &c, 1) != 1) ::_exit(3);
        }
      } catch (...) {
        ::_exit(2);
      }
    }
    ::close(fds[1]);
    int acks = 0;
    char c;
    while (acks < acks_before_kill && ::read(fds[0], &c, 1) == 1) ++acks;
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child exited early with status " << status;
    ASSERT_EQ(acks, acks_before_kill);

    std::vector<double> step, energy;
    {
      H5File h = H5File::open_read(path);
      step = h.read_doubles("/train/step");
      energy = h.read_doubles("/train/energy_mean");
      EXPECT_EQ(std::get<int64_t>(h.get_attr("/", "complete")), 0);
    }
    ASSERT_GE(std::min(step.size(), energy.size()), static_cast<std::size_t>(acks));
    for (int s = 0; s < acks; ++s) {
      ASSERT_EQ(step[s], s) << "row " << s;
      ASSERT_EQ(energy[s], -0.5 * s) << "row " << s;
    }
    // The killed run can be continued.
    H5File h = H5File::open_rw(path);
    H5Trace t(h, "/train", {"step", "energy_mean"});
    EXPECT_GE(t.rows(), acks);
    const int64_t n = t.rows();
    t.append({double(n), -0.5 * double(n)});
    EXPECT_EQ(h.read_doubles("/train/step").back(), double(n));
  }
}

TEST_F(Hdf5Test, WriteAtomicallyReplacesOrLeavesTheOldFile) {
  const std::string path = file("checkpoint.h5");
  write_atomically(path, [](H5File& f) { f.write_dataset("/step", std::vector<int64_t>{1}, {}); });
  EXPECT_EQ(H5File::open_read(path).read_int64s("/step"), std::vector<int64_t>{1});
  const std::string before = slurp(path);

  // A fill that throws: the exception propagates, the old file is untouched, no temp remains.
  EXPECT_THROW(write_atomically(path,
                                [](H5File& f) {
                                  f.write_dataset("/step", std::vector<int64_t>{2}, {});
                                  throw UsageError("simulated failure while writing");
                                }),
               UsageError);
  EXPECT_EQ(slurp(path), before);
  EXPECT_EQ(entries(), std::vector<std::string>{"checkpoint.h5"});

  // A fill failing inside HDF5 (reading a missing dataset): same guarantees.
  EXPECT_THROW(write_atomically(path, [](H5File& f) { f.read_doubles("/missing"); }), Error);
  EXPECT_EQ(slurp(path), before);
  EXPECT_EQ(entries(), std::vector<std::string>{"checkpoint.h5"});

  write_atomically(path, [](H5File& f) { f.write_dataset("/step", std::vector<int64_t>{3}, {}); });
  EXPECT_EQ(H5File::open_read(path).read_int64s("/step"), std::vector<int64_t>{3});
  EXPECT_EQ(entries(), std::vector<std::string>{"checkpoint.h5"});
}

TEST_F(Hdf5Test, ProvenanceAttributes) {
  const std::string path = file("run.h5");
  ::setenv("SLURM_JOB_ID", "4242", 1);
  ::setenv("SLURM_ARRAY_JOB_ID", "4200", 1);
  ::setenv("SLURM_ARRAY_TASK_ID", "7", 1);
  {
    H5File h = H5File::create_exclusive(path);
    write_provenance(h, "naqs train --h 1.0", "h = 1\nL = 16\n", "cuda:0 (NVIDIA H200)",
                     {{"seed", int64_t{1234}}, {"mpi_ranks", int64_t{4}}, {"note", "x"}});
    EXPECT_THROW(write_provenance(h, "", "", "", {{"version", "0"}}), Error);
  }
  ::unsetenv("SLURM_JOB_ID");
  ::unsetenv("SLURM_ARRAY_JOB_ID");
  ::unsetenv("SLURM_ARRAY_TASK_ID");
  auto str = [](const H5File& h, const char* n) {
    return std::get<std::string>(h.get_attr("/", n));
  };
  auto i64 = [](const H5File& h, const char* n) { return std::get<int64_t>(h.get_attr("/", n)); };
  const std::regex utc("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z");
  {
    H5File h = H5File::open_rw(path);
    EXPECT_EQ(i64(h, "schema_version"), kSchemaVersion);
    EXPECT_EQ(str(h, "package"), "naqs");
    EXPECT_EQ(str(h, "version"), NAQS_VERSION);
    EXPECT_EQ(str(h, "git_commit"), git_commit());
    EXPECT_EQ(i64(h, "git_dirty"), git_dirty() ? 1 : 0);
    EXPECT_EQ(str(h, "command_line"), "naqs train --h 1.0");
    EXPECT_EQ(str(h, "config"), "h = 1\nL = 16\n");
    EXPECT_EQ(str(h, "device"), "cuda:0 (NVIDIA H200)");
    EXPECT_EQ(str(h, "units"), "Pauli");
    EXPECT_TRUE(std::regex_match(str(h, "created_utc"), utc)) << str(h, "created_utc");
    EXPECT_FALSE(str(h, "hostname").empty());
    EXPECT_FALSE(str(h, "build_type").empty());
    EXPECT_EQ(str(h, "slurm_job_id"), "4242");
    EXPECT_EQ(str(h, "slurm_array_job_id"), "4200");
    EXPECT_EQ(str(h, "slurm_array_task_id"), "7");
    EXPECT_EQ(i64(h, "mpi_ranks"), 4);
    EXPECT_EQ(i64(h, "seed"), 1234);
    EXPECT_EQ(str(h, "note"), "x");
    EXPECT_EQ(i64(h, "complete"), 0);
    EXPECT_FALSE(h.has_attr("/", "finished_utc"));
    finish_provenance(h);
  }
  H5File h = H5File::open_read(path);
  EXPECT_EQ(i64(h, "complete"), 1);
  EXPECT_TRUE(std::regex_match(str(h, "finished_utc"), utc)) << str(h, "finished_utc");
  EXPECT_GE(str(h, "finished_utc"), str(h, "created_utc"));

  // Without Slurm: no slurm_* attributes, one rank.
  H5File plain = H5File::create_exclusive(file("plain.h5"));
  write_provenance(plain, "naqs ed", "", "cpu", {});
  EXPECT_FALSE(plain.has_attr("/", "slurm_job_id"));
  EXPECT_EQ(i64(plain, "mpi_ranks"), 1);
}

// h5py (python3-h5py, installed by scripts/setup.sh) reads our strings as str, our attributes
// and our traces. Fails (never skips) when no python3 with h5py is found.
TEST_F(Hdf5Test, H5pyReadsWhatWeWrite) {
  std::string python;
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    const std::string probe = "'" + std::string(candidate) + "' -c 'import h5py' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) {
      python = candidate;
      break;
    }
  }
  ASSERT_FALSE(python.empty()) << "no python3 with h5py found (scripts/setup.sh installs "
                                  "python3-h5py)";
  const std::string path = file("run.h5");
  {
    H5File h = H5File::create_exclusive(path);
    write_provenance(h, "naqs train --h 1", "h = 1\n", "cpu", {{"seed", int64_t{7}}});
    H5Trace t(h, "/train", {"step", "energy_mean", "energy_err"});
    for (int s = 0; s < 3; ++s) t.append({double(s), -20.0 - s, 0.5});
    h.set_attr("/train", "units", std::string("Pauli"));
    h.write_dataset("/results/energy_per_site", std::vector<double>{-1.2753}, {});
    h.write_dataset("/results/correlations", std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
    h.write_dataset("/system/n_sites", std::vector<int64_t>{16}, {});
    h.write_string("/notes", "E = -20.4 ± 0.01");
    finish_provenance(h);
  }
  const std::string script = file("check.py");
  std::ofstream(script) << R"PY(
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
a = f.attrs
for k in ["command_line", "config", "device", "units", "git_commit", "created_utc",
          "finished_utc", "hostname", "version", "package"]:
    assert isinstance(a[k], str), (k, type(a[k]))
assert a["command_line"] == "naqs train --h 1"
assert a["units"] == "Pauli" and a["package"] == "naqs"
assert int(a["schema_version"]) == 1 and int(a["complete"]) == 1 and int(a["seed"]) == 7
assert f["train"].attrs["columns"] == "step,energy_mean,energy_err"
assert f["train"].attrs["units"] == "Pauli"
assert list(f["train/step"][:]) == [0.0, 1.0, 2.0]
assert list(f["train/energy_mean"][:]) == [-20.0, -21.0, -22.0]
assert f["train/energy_err"].dtype == np.float64 and f["train/energy_err"].maxshape == (None,)
assert f["results/energy_per_site"][()] == -1.2753
c = f["results/correlations"]
assert c.shape == (2, 3) and c.dtype == np.float32 and c[1, 2] == 6
assert f["system/n_sites"][()] == 16 and f["system/n_sites"].dtype == np.int64
n = f["notes"]
assert h5py.check_string_dtype(n.dtype).encoding == "utf-8"
assert n.asstr()[()] == "E = -20.4 \u00b1 0.01", n.asstr()[()]
g = h5py.File(sys.argv[2], "w")
g.attrs["vlen"] = "ψ str"
g.attrs["fixed"] = np.bytes_(b"fixed ascii")
g.attrs.create("vlen_ascii", "ascii", dtype=h5py.string_dtype("ascii"))
g.attrs["i32"] = np.int32(-5)
g.attrs["f32"] = np.float32(0.5)
g["s"] = "dataset ±"
g["fixed_s"] = np.bytes_(b"abc")
g["i16"] = np.arange(6, dtype=np.int16).reshape(2, 3)
g.close()
print("h5py ok")
)PY";
  const std::string from_h5py = file("from_h5py.h5");
  const std::string cmd =
      "'" + python + "' '" + script + "' '" + path + "' '" + from_h5py + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int rc = ::pclose(p);
  EXPECT_EQ(rc, 0) << out;
  ASSERT_EQ(out, "h5py ok\n") << out;

  // And the other way: we read what h5py writes (its default string and integer types).
  H5File g = H5File::open_read(from_h5py);
  EXPECT_EQ(std::get<std::string>(g.get_attr("/", "vlen")), "ψ str");
  EXPECT_EQ(std::get<std::string>(g.get_attr("/", "fixed")), "fixed ascii");
  EXPECT_EQ(std::get<std::string>(g.get_attr("/", "vlen_ascii")), "ascii");
  EXPECT_EQ(std::get<int64_t>(g.get_attr("/", "i32")), -5);
  EXPECT_EQ(std::get<double>(g.get_attr("/", "f32")), 0.5);
  EXPECT_EQ(g.read_string("/s"), "dataset ±");
  EXPECT_EQ(g.read_string("/fixed_s"), "abc");
  EXPECT_EQ(g.read_int64s("/i16"), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(g.dims("/i16"), (std::vector<int64_t>{2, 3}));
}
