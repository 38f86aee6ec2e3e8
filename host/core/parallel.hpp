// When a CPU loop is worth OpenMP threads. A parallel region costs microseconds on idle cores,
// but on shared (oversubscribed) cores its closing barrier waits until every thread has been
// scheduled, up to a scheduler timeslice (milliseconds), and the idle threads then spin-wait,
// taking CPU from the thread that continues. Memory-bound elementwise loops (elementwise, fill,
// gather, reduce, softmax) gain at most a second core's bandwidth, so they are threaded only
// from 2^20 elements (about a millisecond on one core). Measured with bench/run_naqs_vs_torch.sh
// (local energies at N = 32 run ~10 such ops of 5e5 elements per forward pass).
#pragma once
#include <cstdint>

namespace naqs {

inline constexpr int64_t kMinParallelElements = int64_t{1} << 20;

}  // namespace naqs
