// host/dist/reduce_blocks.hpp: the rank-independent block sums.
// - default_blocks and the SampleSplit slices/chunks on hand-computed cases;
// - reduce_blocks on one rank equals a hand-written recursive pairwise tree over the blocks,
//   bitwise (the tree is the contract), and differs in the last bits from the sequential sum
//   (so the test can tell the two apart);
// - the same sum with the blocks spread over R = 1..7 simulated ranks (threads sharing an
//   in-memory communicator) is bitwise equal to the one-rank sum on every rank, including ranks
//   that own no block.
#include <gtest/gtest.h>

#include <barrier>
#include <cmath>
#include <cstring>
#include <thread>

#include "host/dist/reduce_blocks.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

using dist::Slice;

// R ranks as threads: collectives meet at a barrier and exchange through shared slots.
class ThreadGroup {
 public:
  explicit ThreadGroup(int n) : n_(n), sync_(n), slots_(static_cast<std::size_t>(n)) {}

  class Comm final : public dist::Communicator {
   public:
    Comm(ThreadGroup& g, int rank) : g_(g), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return g_.n_; }
    int local_rank() const override { return rank_; }
    std::string description() const override { return "threads"; }
    void all_reduce_sum(void* data, int64_t n, dist::Elem t) override {
      const std::size_t bytes = static_cast<std::size_t>(n) * (t == dist::Elem::f32 ? 4 : 8);
      publish(data, bytes);
      std::vector<unsigned char> sum(bytes, 0);
      for (int r = 0; r < g_.n_; ++r) {  // rank order, like reduce-to-root
        const unsigned char* p = g_.slots_[r].data();
        for (int64_t i = 0; i < n; ++i) add(sum.data(), p, i, t);
      }
      g_.sync_.arrive_and_wait();
      std::memcpy(data, sum.data(), bytes);
      g_.sync_.arrive_and_wait();
    }
    void all_gather_bytes(const void* send, void* recv,
                          const std::vector<int64_t>& bytes) override {
      publish(send, static_cast<std::size_t>(bytes[rank_]));
      auto* out = static_cast<unsigned char*>(recv);
      for (int r = 0; r < g_.n_; ++r) {
        if (bytes[r] > 0) std::memcpy(out, g_.slots_[r].data(), static_cast<std::size_t>(bytes[r]));
        out += bytes[r];
      }
      g_.sync_.arrive_and_wait();
    }
    void broadcast_bytes(void* data, int64_t n, int root) override {
      publish(data, static_cast<std::size_t>(n));
      std::memcpy(data, g_.slots_[root].data(), static_cast<std::size_t>(n));
      g_.sync_.arrive_and_wait();
    }
    void barrier() override { g_.sync_.arrive_and_wait(); }

   private:
    void publish(const void* data, std::size_t bytes) {
      const auto* p = static_cast<const unsigned char*>(data);
      g_.slots_[rank_].assign(p, p + bytes);
      g_.sync_.arrive_and_wait();
    }
    template <class T>
    static void add_as(unsigned char* acc, const unsigned char* x, int64_t i) {
      reinterpret_cast<T*>(acc)[i] += reinterpret_cast<const T*>(x)[i];
    }
    static void add(unsigned char* acc, const unsigned char* x, int64_t i, dist::Elem t) {
      if (t == dist::Elem::f64) add_as<double>(acc, x, i);
      if (t == dist::Elem::f32) add_as<float>(acc, x, i);
      if (t == dist::Elem::i64) add_as<int64_t>(acc, x, i);
    }
    ThreadGroup& g_;
    int rank_;
  };

  // Runs body(comm) on n threads, one per rank.
  template <class F>
  void run(F body) {
    std::vector<std::thread> threads;
    for (int r = 0; r < n_; ++r)
      threads.emplace_back([this, r, &body] {
        Comm c(*this, r);
        body(c);
      });
    for (std::thread& t : threads) t.join();
  }

 private:
  int n_;
  std::barrier<> sync_;
  std::vector<std::vector<unsigned char>> slots_;
};

// Block b's partial of the test data: the sequential sum of its rows of x (rows, P).
std::vector<double> block_sum(const std::vector<double>& x, int64_t P, Slice rows) {
  std::vector<double> s(static_cast<std::size_t>(P), 0.0);
  for (int64_t r = rows.first; r < rows.first + rows.count; ++r)
    for (int64_t k = 0; k < P; ++k) s[k] += x[r * P + k];
  return s;
}

// The contract, written out: node (level, index) = left child + right child, over [0, K).
std::vector<double> tree(const dist::SampleSplit& sp, const std::vector<double>& x, int64_t P,
                         int level, int64_t index) {
  if (level == 0) return block_sum(x, P, sp.block_rows(index));
  std::vector<double> left = tree(sp, x, P, level - 1, 2 * index);
  if ((2 * index + 1) << (level - 1) >= sp.n_blocks()) return left;  // no right child
  const std::vector<double> right = tree(sp, x, P, level - 1, 2 * index + 1);
  for (int64_t k = 0; k < P; ++k) left[k] += right[k];
  return left;
}

std::vector<double> tree_sum(const dist::SampleSplit& sp, const std::vector<double>& x,
                             int64_t P) {
  int level = 0;
  while ((int64_t{1} << level) < sp.n_blocks()) ++level;
  return tree(sp, x, P, level, 0);
}

// reduce_blocks over this rank's blocks of x (rows, P); result on the host.
std::vector<double> reduce(const dist::SampleSplit& sp, const std::vector<double>& x, int64_t P) {
  Tensor out = Tensor::empty({P}, DType::f64);
  const int64_t row0 = sp.my_rows().first;
  dist::reduce_blocks(sp, out, [&](int64_t b, Slice local, Tensor& partial) {
    EXPECT_EQ(local.first + row0, sp.block_rows(b).first);
    EXPECT_EQ(local.count, sp.block_rows(b).count);
    const std::vector<double> s = block_sum(x, P, sp.block_rows(b));
    partial.copy_from(Tensor::from_vector(s, {P}));
  });
  return out.to_vector<double>();
}

TEST(ReduceBlocks, DefaultBlocksAndSlices) {
  EXPECT_EQ(dist::default_blocks(0, 1), 0);
  EXPECT_EQ(dist::default_blocks(10, 1), 1);    // fewer rows than one minimum block
  EXPECT_EQ(dist::default_blocks(64, 1), 2);    // 32 rows each
  EXPECT_EQ(dist::default_blocks(100000, 1), dist::kMaxBlocks);
  EXPECT_EQ(dist::default_blocks(3, 100), 3);   // at most one block per unit (chain)

  const dist::SampleSplit sp(dist::serial(), 10, 3, 4);  // 10 chains of 3 rows, 4 blocks
  EXPECT_EQ(sp.n_rows(), 30);
  EXPECT_EQ(sp.block_units(0).count, 3);  // 3,3,2,2 chains
  EXPECT_EQ(sp.block_rows(1).first, 9);
  EXPECT_EQ(sp.block_rows(3).first, 24);
  EXPECT_EQ(sp.block_rows(3).count, 6);
  EXPECT_EQ(sp.my_rows().count, 30);
  // Chunks of at most 10 rows: blocks of 9, 9, 6, 6 rows -> 9 | 9 | 6 | 6 (two 6s exceed 10);
  // at most 13: 9 | 9 | 6 | 6 as well; at most 12: 9 | 9 | 12; at most 4: pieces of each block.
  auto counts = [&](int64_t max_rows) {
    std::vector<int64_t> c;
    for (const Slice& s : sp.my_chunks(max_rows)) c.push_back(s.count);
    return c;
  };
  EXPECT_EQ(counts(10), (std::vector<int64_t>{9, 9, 6, 6}));
  EXPECT_EQ(counts(12), (std::vector<int64_t>{9, 9, 12}));
  EXPECT_EQ(counts(18), (std::vector<int64_t>{18, 12}));
  EXPECT_EQ(counts(4), (std::vector<int64_t>{4, 4, 1, 4, 4, 1, 4, 2, 4, 2}));
  EXPECT_EQ(sp.my_chunks(4)[2].first, 8);
  EXPECT_THROW(dist::SampleSplit(dist::serial(), 3, 1, 4), Error);  // more blocks than units
}

TEST(ReduceBlocks, OneRankIsTheFixedTree) {
  const int64_t P = 5;
  for (const int64_t K : {1, 2, 3, 5, 8, 13, 64}) {
    const int64_t rows = 7 * K + 3;
    const dist::SampleSplit sp(dist::serial(), rows, 1, K);
    const std::vector<double> x =
        testing::random_tensor({rows, P}, DType::f64, 70 + K).to_vector<double>();
    EXPECT_EQ(reduce(sp, x, P), tree_sum(sp, x, P)) << K << " blocks";
  }
  // The tree is not the sequential sum (so the checks above can fail): 1 + 1e-16 + ... .
  const std::vector<double> x{1.0, 1e-16, 1e-16, 1e-16};
  const dist::SampleSplit sp(dist::serial(), 4, 1, 4);
  const double seq = ((1.0 + 1e-16) + 1e-16) + 1e-16;
  EXPECT_EQ(seq, 1.0);
  EXPECT_EQ(reduce(sp, x, 1)[0], 1.0 + 2e-16);  // (1 + 1e-16) + (1e-16 + 1e-16)
}

TEST(ReduceBlocks, SameBitsOnAnyNumberOfRanks) {
  const int64_t P = 3;
  for (const int64_t K : {1, 2, 5, 6, 11, 64}) {
    const int64_t units = 3 * K + 1, unit_size = 2, rows = units * unit_size;
    const std::vector<double> x =
        testing::random_tensor({rows, P}, DType::f64, 90 + K).to_vector<double>();
    const std::vector<double> want =
        reduce(dist::SampleSplit(dist::serial(), units, unit_size, K), x, P);
    for (int R = 1; R <= 7; ++R) {
      ThreadGroup g(R);
      std::vector<std::vector<double>> got(static_cast<std::size_t>(R));
      std::vector<Slice> mine(static_cast<std::size_t>(R));
      g.run([&](dist::Communicator& c) {
        const dist::SampleSplit sp(c, units, unit_size, K);
        mine[c.rank()] = sp.my_rows();
        got[c.rank()] = reduce(sp, x, P);
      });
      int64_t next = 0;  // the ranks' rows tile [0, rows) in rank order
      for (int r = 0; r < R; ++r) {
        EXPECT_EQ(got[r], want) << K << " blocks, rank " << r << " of " << R;
        EXPECT_EQ(mine[r].first, next);
        next += mine[r].count;
      }
      EXPECT_EQ(next, rows);
    }
  }
}

}  // namespace
}  // namespace naqs
