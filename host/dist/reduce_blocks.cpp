// Rank-independent block sums (host/dist/reduce_blocks.hpp).
#include "host/dist/reduce_blocks.hpp"

#include <algorithm>

#include "host/core/error.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"

namespace naqs::dist {
namespace {

// A node of the fixed tree: blocks [index 2^level, (index+1) 2^level) ∩ [0, n_blocks).
struct Node {
  int level = 0;
  int64_t index = 0;
  Tensor value;  // undefined while only the tree's shape is being traced
};

// The pairwise fold: pushes `node` onto the stack, first merging it with its left sibling on
// top of the stack (left + right) and promoting it past right siblings that hold no block, as
// long as either applies. With values undefined only the nodes' positions are traced.
void push(std::vector<Node>& stack, Node node, int64_t n_blocks) {
  for (;;) {
    const int64_t width = int64_t{1} << node.level;
    if (node.index == 0 && width >= n_blocks) break;  // the root
    if (node.index % 2 == 1) {
      if (stack.empty() || stack.back().level != node.level ||
          stack.back().index != node.index - 1)
        break;
      Node left = std::move(stack.back());
      stack.pop_back();
      if (left.value.defined()) {
        ops::axpby(1.0, node.value, 1.0, left.value);  // left <- left + right
        node.value = std::move(left.value);
      }
    } else if ((node.index + 1) * width >= n_blocks) {
      // the right sibling holds no block: the parent has this node's value
    } else {
      break;
    }
    ++node.level;
    node.index /= 2;
  }
  stack.push_back(std::move(node));
}

// The nodes a rank owning `blocks` is left with after folding all of them (positions only).
std::vector<Node> rank_nodes(Slice blocks, int64_t n_blocks) {
  std::vector<Node> stack;
  for (int64_t b = blocks.first; b < blocks.first + blocks.count; ++b)
    push(stack, Node{0, b, Tensor()}, n_blocks);
  return stack;
}

}  // namespace

int64_t default_blocks(int64_t n_units, int64_t unit_size) {
  NAQS_CHECK(n_units >= 0 && unit_size >= 1, "default_blocks: ", n_units, " units of ",
             unit_size, " rows");
  if (n_units == 0) return 0;
  const int64_t by_size = std::max<int64_t>(1, n_units * unit_size / kMinBlockRows);
  return std::min({n_units, kMaxBlocks, by_size});
}

SampleSplit::SampleSplit(Communicator& comm, int64_t n_units, int64_t unit_size, int64_t n_blocks)
    : comm_(&comm), n_units_(n_units), unit_size_(unit_size), n_blocks_(n_blocks) {
  NAQS_CHECK(n_units >= 0 && unit_size >= 1 &&
                 (n_units == 0 ? n_blocks == 0 : n_blocks >= 1 && n_blocks <= n_units),
             "SampleSplit: ", n_units, " units of ", unit_size, " rows in ", n_blocks, " blocks");
}

SampleSplit SampleSplit::whole(int64_t n_rows) {
  return SampleSplit(serial(), n_rows, 1, n_rows > 0 ? 1 : 0);
}

Slice SampleSplit::block_units(int64_t block) const {
  return block_slice(n_units_, static_cast<int>(block), static_cast<int>(n_blocks_));
}

Slice SampleSplit::block_rows(int64_t block) const {
  const Slice u = block_units(block);
  return {u.first * unit_size_, u.count * unit_size_};
}

Slice SampleSplit::rank_blocks(int rank) const {
  if (n_blocks_ == 0) return {};
  return block_slice(n_blocks_, rank, comm_->size());
}

Slice SampleSplit::my_units() const {
  const Slice b = my_blocks();
  if (b.count == 0) return {b.first < n_blocks_ ? block_units(b.first).first : n_units_, 0};
  const Slice first = block_units(b.first), last = block_units(b.first + b.count - 1);
  return {first.first, last.first + last.count - first.first};
}

Slice SampleSplit::my_rows() const {
  const Slice u = my_units();
  return {u.first * unit_size_, u.count * unit_size_};
}

std::vector<Slice> SampleSplit::my_chunks(int64_t max_rows) const {
  NAQS_CHECK(max_rows >= 1, "SampleSplit::my_chunks: max_rows ", max_rows);
  std::vector<Slice> chunks;
  const Slice blocks = my_blocks();
  Slice open{my_rows().first, 0};  // the chunk being filled with whole blocks
  for (int64_t b = blocks.first; b < blocks.first + blocks.count; ++b) {
    const Slice rows = block_rows(b);
    if (open.count > 0 && open.count + rows.count > max_rows) {
      chunks.push_back(open);
      open = {rows.first, 0};
    }
    if (rows.count <= max_rows) {
      open.count += rows.count;
      continue;
    }
    for (int64_t first = rows.first; first < rows.first + rows.count; first += max_rows)
      chunks.push_back({first, std::min(max_rows, rows.first + rows.count - first)});
    open = {rows.first + rows.count, 0};
  }
  if (open.count > 0) chunks.push_back(open);
  return chunks;
}

void reduce_blocks(const SampleSplit& split, Tensor& out, const BlockPartial& compute) {
  check_defined("dist::reduce_blocks", out, "out");
  NAQS_CHECK(out.dtype() == DType::f32 || out.dtype() == DType::f64,
             "dist::reduce_blocks: only f32 and f64, got ", out.str());
  const int64_t K = split.n_blocks();
  if (K == 0) {
    ops::fill(out, 0.0);
    return;
  }
  Communicator& comm = split.comm();
  const Slice mine = split.my_blocks();
  const int64_t row0 = split.my_rows().first;
  std::vector<Node> stack;
  for (int64_t b = mine.first; b < mine.first + mine.count; ++b) {
    const Slice rows = split.block_rows(b);
    Tensor partial = Tensor::empty(out.shape(), out.dtype(), out.device());
    compute(b, Slice{rows.first - row0, rows.count}, partial);
    push(stack, Node{0, b, std::move(partial)}, K);
  }
  if (comm.size() > 1) {
    // Every rank's leftover nodes, in rank (= block) order, folded the same way everywhere.
    const int64_t n = out.numel();
    Tensor packed = Tensor::empty({static_cast<int64_t>(stack.size()), n}, out.dtype(),
                                  out.device());
    for (std::size_t k = 0; k < stack.size(); ++k)
      packed.narrow(static_cast<int64_t>(k), 1).copy_from(stack[k].value.reshape({1, n}));
    const Tensor all = all_gather_rows(comm, packed);
    stack.clear();
    int64_t row = 0;
    for (int r = 0; r < comm.size(); ++r)
      for (Node node : rank_nodes(split.rank_blocks(r), K)) {
        node.value = all.narrow(row++, 1).clone().reshape(out.shape());
        push(stack, std::move(node), K);
      }
    NAQS_CHECK(row == all.size(0), "dist::reduce_blocks: ", all.size(0), " gathered nodes, ",
               row, " expected");
  }
  NAQS_CHECK(stack.size() == 1 && stack[0].index == 0, "dist::reduce_blocks: the tree over ",
             K, " blocks did not fold to its root (", stack.size(), " nodes left)");
  out.copy_from(stack[0].value);
}

}  // namespace naqs::dist
