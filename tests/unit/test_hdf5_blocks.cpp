// Bulk u8 / i32 datasets of host/io/hdf5.hpp: chunked + deflate on write, hyperslab reads
// (vectors and straight into tensors), the row appender, the errors (file, dataset, range),
// h5py's view of them, and the layout of data/atari/pong.h5 when it exists (skipped otherwise).
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "host/core/error.hpp"
#include "host/io/hdf5.hpp"
#include "tests/support/cmd_dir.hpp"

namespace naqs {
namespace {

class Hdf5BlocksTest : public ::testing::Test {
 protected:
  void TearDown() override { dir_.remove(); }
  std::string file(const std::string& name) const { return dir_.path(name); }
  testing::CmdDir dir_{cat("naqs_test_hdf5_blocks_", ::getpid())};
};

// A synthetic "frames" array (E, T, H, W) whose every value encodes its index.
std::vector<uint8_t> frames(int64_t n) {
  std::vector<uint8_t> v(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = uint8_t((i * 7 + i / 251) & 255);
  return v;
}

// The block [start, start + count) of a row-major array of `dims`, by plain index arithmetic.
template <class T>
std::vector<T> slice(const std::vector<T>& all, const std::vector<int64_t>& dims,
                     const std::vector<int64_t>& start, const std::vector<int64_t>& count) {
  std::vector<T> out;
  std::vector<int64_t> idx(dims.size(), 0);
  int64_t n = 1;
  for (int64_t c : count) n *= c;
  for (int64_t k = 0; k < n; ++k) {
    int64_t rem = k, flat = 0;
    for (std::size_t d = dims.size(); d-- > 0;) {
      idx[d] = start[d] + rem % count[d];
      rem /= count[d];
    }
    for (std::size_t d = 0; d < dims.size(); ++d) flat = flat * dims[d] + idx[d];
    out.push_back(all[static_cast<std::size_t>(flat)]);
  }
  return out;
}

// Chunk dims and whether the deflate filter is on, through the C API.
std::pair<std::vector<int64_t>, bool> chunking(const H5File& file, const std::string& name) {
  const hid_t d = H5Dopen2(file.id(), name.c_str(), H5P_DEFAULT);
  const hid_t p = H5Dget_create_plist(d);
  std::vector<int64_t> chunk;
  if (H5Pget_layout(p) == H5D_CHUNKED) {
    hsize_t c[8];
    const int rank = H5Pget_chunk(p, 8, c);
    chunk.assign(c, c + rank);
  }
  bool deflate = false;
  for (int i = 0; i < H5Pget_nfilters(p); ++i) {
    unsigned flags = 0;
    size_t n_values = 0;
    deflate |= H5Pget_filter2(p, unsigned(i), &flags, &n_values, nullptr, 0, nullptr, nullptr) ==
               H5Z_FILTER_DEFLATE;
  }
  H5Pclose(p);
  H5Dclose(d);
  return {chunk, deflate};
}

TEST(Hdf5Blocks, DefaultChunk) {
  EXPECT_EQ(default_chunk({120, 501, 40, 40}, 1), (std::vector<int64_t>{1, 40, 40, 40}));
  EXPECT_EQ(default_chunk({120, 500}, 4), (std::vector<int64_t>{32, 500}));
  EXPECT_EQ(default_chunk({100000}, 4), (std::vector<int64_t>{16384}));
  EXPECT_EQ(default_chunk({3, 2}, 1), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(default_chunk({2, 1000, 1000}, 1), (std::vector<int64_t>{1, 65, 1000}));
}

TEST_F(Hdf5BlocksTest, RoundTripChunkedAndCompressed) {
  const std::string path = file("data.h5");
  const std::vector<int64_t> dims{3, 17, 40, 40};
  const std::vector<uint8_t> f = frames(3 * 17 * 40 * 40);
  std::vector<int32_t> actions;
  for (int i = 0; i < 3 * 17; ++i) actions.push_back(i % 2 ? -i * 1000 : i);
  {
    H5File h = H5File::create_exclusive(path);
    h.write_u8("/frames", f, dims);
    h.write_i32("/actions", actions, {3, 17}, {2, 5});
    h.write_u8("/zeros", std::vector<uint8_t>(1 << 20, 0), {1 << 20});
  }
  H5File h = H5File::open_read(path);
  EXPECT_EQ(h.element_type("/frames"), "uint8");
  EXPECT_EQ(h.element_type("/actions"), "int32");
  EXPECT_EQ(h.dims("/frames"), dims);
  EXPECT_EQ(h.read_u8_block("/frames", {0, 0, 0, 0}, dims), f);
  EXPECT_EQ(h.read_i32_block("/actions", {0, 0}, {3, 17}), actions);
  EXPECT_EQ(chunking(h, "/frames"), std::make_pair(default_chunk(dims, 1), true));
  EXPECT_EQ(chunking(h, "/actions"), std::make_pair(std::vector<int64_t>{2, 5}, true));
  // deflate works: a MiB of zeros takes a few KiB
  EXPECT_LT(std::filesystem::file_size(path), 200u * 1024) << "not compressed";
  // rewriting replaces
  h.close();
  H5File w = H5File::open_rw(file("data.h5"));
  w.write_i32("/actions", {1, 2}, {2});
  EXPECT_EQ(w.read_i32_block("/actions", {0}, {2}), (std::vector<int32_t>{1, 2}));
}

TEST_F(Hdf5BlocksTest, HyperslabEqualsTheSliceOfTheWhole) {
  const std::string path = file("data.h5");
  const std::vector<int64_t> dims{5, 23, 6, 7};
  const std::vector<uint8_t> f = frames(5 * 23 * 6 * 7);
  {
    H5File h = H5File::create_exclusive(path);
    h.write_u8("/frames", f, dims, {1, 4, 6, 7});  // windows cross chunk borders
  }
  H5File h = H5File::open_read(path);
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> blocks = {
      {{2, 3, 0, 0}, {1, 5, 6, 7}},  // an episode's time window
      {{0, 0, 0, 0}, {5, 23, 6, 7}},  // all
      {{4, 22, 5, 6}, {1, 1, 1, 1}},  // the last element
      {{1, 7, 2, 1}, {3, 9, 3, 5}},   // inside every dim
      {{3, 23, 0, 0}, {1, 0, 6, 7}},  // empty, at the end
  };
  for (const auto& [start, count] : blocks) {
    const std::vector<uint8_t> want = slice(f, dims, start, count);
    EXPECT_EQ(h.read_u8_block("/frames", start, count), want);
    // straight into tensors: u8, converted to f32, and into a row of a batch
    Tensor t = Tensor::zeros({int64_t(want.size())}, DType::u8);
    h.read_block("/frames", start, count, t);
    EXPECT_EQ(t.to_vector<uint8_t>(), want);
    Tensor tf = Tensor::zeros({int64_t(want.size())}, DType::f32);
    h.read_block("/frames", start, count, tf);
    const std::vector<float> got = tf.to_vector<float>();
    EXPECT_EQ(std::vector<float>(want.begin(), want.end()), got);
  }
  Tensor batch = Tensor::full({3, 5, 6, 7}, 9, DType::u8);
  h.read_block("/frames", {2, 3, 0, 0}, {1, 5, 6, 7}, batch.narrow(0, 1, 1));
  const std::vector<uint8_t> b = batch.to_vector<uint8_t>();
  const int64_t row = 5 * 6 * 7;
  EXPECT_EQ(std::vector<uint8_t>(b.begin() + row, b.begin() + 2 * row),
            slice(f, dims, {2, 3, 0, 0}, {1, 5, 6, 7}));
  EXPECT_EQ(std::vector<uint8_t>(b.begin(), b.begin() + row), std::vector<uint8_t>(row, 9));
}

// Runs f, expects an Error whose message contains every piece.
template <class F>
void expect_error(F f, const std::vector<std::string>& pieces) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    for (const std::string& p : pieces) EXPECT_NE(m.find(p), std::string::npos) << p << " in " << m;
  }
}

TEST_F(Hdf5BlocksTest, Errors) {
  const std::string path = file("data.h5");
  {
    H5File h = H5File::create_exclusive(path);
    h.write_u8("/frames", frames(4 * 10 * 3), {4, 10, 3});
    h.write_i32("/actions", std::vector<int32_t>(40, 1), {4, 10});
  }
  H5File h = H5File::open_read(path);
  expect_error([&] { h.read_u8_block("/framez", {0, 0, 0}, {1, 1, 1}); }, {path, "/framez"});
  expect_error([&] { h.read_u8_block("/frames", {1, 7, 0}, {1, 5, 3}); },
               {path, "/frames", "[7, 12)", "dim 1", "4x10x3", "[0, 10)"});
  expect_error([&] { h.read_u8_block("/frames", {-1, 0, 0}, {1, 1, 1}); }, {"[-1, 0)", "dim 0"});
  expect_error([&] { h.read_u8_block("/frames", {0, 0}, {1, 1}); }, {"/frames", "rank 3"});
  expect_error([&] { h.read_u8_block("/actions", {0, 0}, {1, 1}); },
               {"/actions", "int32, not uint8"});
  expect_error([&] { h.read_i32_block("/frames", {0, 0, 0}, {1, 1, 1}); },
               {"/frames", "uint8, not int32"});
  Tensor wrong = Tensor::zeros({4}, DType::u8);
  expect_error([&] { h.read_block("/frames", {0, 0, 0}, {1, 1, 3}, wrong); }, {"/frames"});
  expect_error([&] { h.element_type("/nothing"); }, {path, "/nothing"});
}

TEST_F(Hdf5BlocksTest, RowAppenderContinues) {
  const std::string path = file("rollouts.h5");
  const std::vector<uint8_t> all = frames(7 * 2 * 4 * 4);
  auto rows = [&](int64_t r0, int64_t n) {
    const int64_t row = 2 * 4 * 4;
    std::vector<uint8_t> v(all.begin() + r0 * row, all.begin() + (r0 + n) * row);
    return Tensor::from_vector(v, {n, 2, 4, 4});
  };
  {
    H5File h = H5File::create_exclusive(path);
    H5RowAppender a(h, "/rollouts/frames", DType::u8, {2, 4, 4}, 2);
    a.append(rows(0, 3));
    a.append(rows(3, 0));
    a.append(rows(3, 1));
    EXPECT_EQ(a.rows(), 4);
    expect_error([&] { a.append(Tensor::zeros({1, 2, 4, 5}, DType::u8)); }, {"/rollouts/frames"});
    expect_error([&] { H5RowAppender(h, "/rollouts/frames", DType::u8, {2, 4, 5}); },
                 {"/rollouts/frames", "uint8 4x2x4x4", "2x4x5"});
  }
  {
    H5File h = H5File::open_rw(path);
    H5RowAppender a(h, "/rollouts/frames", DType::u8, {2, 4, 4});
    EXPECT_EQ(a.rows(), 4);
    a.append(rows(4, 3));
    H5RowAppender ids(h, "/rollouts/actions", DType::i32, {3});
    ids.append(Tensor::from_vector(std::vector<int32_t>{1, -2, 3, 4, 5, 6}, {2, 3}));
  }
  H5File h = H5File::open_read(path);
  EXPECT_EQ(h.dims("/rollouts/frames"), (std::vector<int64_t>{7, 2, 4, 4}));
  EXPECT_EQ(h.read_u8_block("/rollouts/frames", {0, 0, 0, 0}, {7, 2, 4, 4}), all);
  EXPECT_EQ(h.read_i32_block("/rollouts/actions", {0, 0}, {2, 3}),
            (std::vector<int32_t>{1, -2, 3, 4, 5, 6}));
  EXPECT_EQ(chunking(h, "/rollouts/frames"),
            std::make_pair(std::vector<int64_t>{2, 2, 4, 4}, true));
  EXPECT_EQ(chunking(h, "/rollouts/actions").first, (std::vector<int64_t>{5461, 3}));
}

// h5py sees uint8 / int32, gzip, the chunks, and an extendible first dim.
TEST_F(Hdf5BlocksTest, H5pyReadsThem) {
  const std::string path = file("data.h5");
  {
    H5File h = H5File::create_exclusive(path);
    h.write_u8("/frames", frames(2 * 3 * 4), {2, 3, 4});
    h.write_i32("/actions", {-7, 8}, {2});
    H5RowAppender a(h, "/gen", DType::u8, {4});
    a.append(Tensor::from_vector(std::vector<uint8_t>{1, 2, 3, 4}, {1, 4}));
  }
  const std::string script = file("check.py");
  std::ofstream(script) << R"PY(
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
fr = f["frames"]
assert fr.dtype == np.uint8 and fr.shape == (2, 3, 4) and fr.compression == "gzip", fr
assert fr.chunks == (2, 3, 4), fr.chunks
assert int(fr[1, 2, 3]) == (23 * 7) % 256
a = f["actions"]
assert a.dtype == np.int32 and list(a[:]) == [-7, 8] and a.compression == "gzip"
g = f["gen"]
assert g.maxshape == (None, 4) and g.dtype == np.uint8 and list(g[0]) == [1, 2, 3, 4]
print("h5py ok")
)PY";
  FILE* p = ::popen(("/usr/bin/python3 '" + script + "' '" + path + "' 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  EXPECT_EQ(::pclose(p), 0) << out;
  EXPECT_EQ(out, "h5py ok\n");
}

// The collected Pong data (scripts/collect_pong.py), when this checkout has it: the layout
// naqs diffusion train reads. Skipped otherwise (tests never need the download).
TEST(Hdf5Blocks, PongDataLayout) {
  const std::string path = NAQS_SOURCE_DIR "/data/atari/pong.h5";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not collected";
  H5File h = H5File::open_read(path);
  const std::vector<int64_t> d = h.dims("/frames");
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[2], 40);
  EXPECT_EQ(d[3], 40);
  EXPECT_EQ(h.element_type("/frames"), "uint8");
  EXPECT_EQ(h.element_type("/actions"), "int32");
  EXPECT_EQ(h.dims("/actions"), (std::vector<int64_t>{d[0], d[1] - 1}));
  const std::vector<uint8_t> window = h.read_u8_block("/frames", {d[0] - 1, 0, 0, 0}, {1, 4, 40, 40});
  EXPECT_EQ(window.size(), 4u * 1600);
  EXPECT_EQ(std::get<std::string>(h.get_attr("/", "game")), "pong");
}

}  // namespace
}  // namespace naqs
