// Sums over samples that do not depend on the number of MPI ranks (DESIGN.md §7: results
// independent of the rank count), bitwise.
//
// A floating-point sum depends on how its terms are grouped. A sum over the samples of one step
// (a gradient, SR's S v products, column means) is therefore cut into a fixed set of reduction
// BLOCKS of global rows, fixed by the batch alone, never by the rank count:
//   - the rows are n_units units of unit_size consecutive global rows (a unit is one sample, or
//     one Metropolis chain with its samples chain-major);
//   - unit u belongs to block b when u is in block_slice(n_units, b, n_blocks);
//   - rank r of R owns the whole blocks block_slice(n_blocks, r, R), so a block never straddles
//     two ranks and a rank's rows are one contiguous range of global rows.
// Each block's partial sum is computed by one rank with the same computation (same rows, same
// shapes, same sub-chunks) whatever the rank count. reduce_blocks() then adds the partials along
// one fixed pairwise tree over the blocks: node (level l, index i) covers blocks
// [i 2^l, (i+1) 2^l) and its value is value(left child) + value(right child) (a node whose right
// child would hold no block takes its left child's value). Every rank folds the nodes that lie
// wholly inside its own blocks while it goes (a stack of at most log2(n_blocks)+1 partials),
// all-gathers those few nodes (at most 2 log2(n_blocks) per rank, typically 1) and folds the
// rest of the same tree; so every rank and every rank count compute the same additions in the
// same order: one rank, `mpirun -np 1` and any number of ranks give the same bits.
// Cost: one partial per block and one all-gather of a few (P)-vectors per reduction instead of
// one all-reduce; the blocks bound how small the units of work get (see default_blocks()).
//
// Tests: tests/unit/test_reduce_blocks.cpp (tree sum equals a hand-written pairwise tree,
// bitwise equal for every simulated split of the blocks over ranks, slices and chunks);
// tests/cluster/test_mpi.cpp (the same on 2 real ranks), tests/cluster/test_mpi_vmc.cpp
// (`naqs vmc` traces bitwise equal for 1 and 2 ranks).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "host/core/tensor.hpp"
#include "host/dist/comm.hpp"

namespace naqs::dist {

// Blocks never hold fewer than kMinBlockRows rows when the batch allows (smaller units of work
// cost throughput: a first-order gradient runs one backward pass per block), and there are at
// most kMaxBlocks of them (the most ranks a batch can be shared by).
inline constexpr int64_t kMinBlockRows = 32;
inline constexpr int64_t kMaxBlocks = 64;

// The number of blocks for n_units units of unit_size rows: as many as possible up to
// kMaxBlocks, but blocks of at least kMinBlockRows rows (at least one block, at most n_units).
int64_t default_blocks(int64_t n_units, int64_t unit_size);

class SampleSplit {
 public:
  // n_units units of unit_size rows in n_blocks blocks (1 <= n_blocks <= n_units unless
  // n_units == 0), shared by the ranks of comm. comm must outlive the split.
  SampleSplit(Communicator& comm, int64_t n_units, int64_t unit_size, int64_t n_blocks);
  // One rank, one block of n_rows single-row units.
  static SampleSplit whole(int64_t n_rows);

  Communicator& comm() const { return *comm_; }
  int64_t n_rows() const { return n_units_ * unit_size_; }
  int64_t n_units() const { return n_units_; }
  int64_t unit_size() const { return unit_size_; }
  int64_t n_blocks() const { return n_blocks_; }

  Slice block_units(int64_t block) const;  // units of a block
  Slice block_rows(int64_t block) const;   // global rows of a block
  Slice rank_blocks(int rank) const;       // blocks of a rank
  Slice my_blocks() const { return rank_blocks(comm_->rank()); }
  Slice my_units() const;                  // this rank's units
  Slice my_rows() const;                   // this rank's global rows (its blocks' union)
  // This rank's rows as consecutive chunks of at most max_rows global rows that never straddle
  // a block: consecutive whole blocks while they fit, a larger block cut into pieces of
  // max_rows from its start. Fixed by global rows, so a block is cut the same way on any rank.
  std::vector<Slice> my_chunks(int64_t max_rows) const;

 private:
  Communicator* comm_;
  int64_t n_units_, unit_size_, n_blocks_;
};

// out <- sum over every block b of partial(b), through the fixed tree above; identical on every
// rank. out: any shape, f32 or f64, any device. Each rank calls
//   compute(block, local_rows, partial)
// once for each of its blocks in increasing order; local_rows are the block's rows relative to
// my_rows().first, and compute must overwrite `partial` (out's shape, dtype and device) with the
// block's sum. Collective: every rank of split.comm() must call it.
using BlockPartial = std::function<void(int64_t block, Slice local_rows, Tensor& partial)>;
void reduce_blocks(const SampleSplit& split, Tensor& out, const BlockPartial& compute);

}  // namespace naqs::dist
