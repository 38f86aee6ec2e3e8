// When and how CPU loops use more than one thread.
//
// Elementwise loops (elementwise, fill, gather, reduce, softmax) use OpenMP from
// kMinParallelElements = 2^20 elements (about a millisecond on one core): they are memory-bound
// and gain at most a second core's bandwidth, while an OpenMP region on shared (oversubscribed)
// cores can cost a scheduler timeslice (its closing barrier waits until every thread of the team
// has been scheduled, and libgomp's idle threads spin-wait, taking CPU from the thread that
// continues). Measured with bench/run_naqs_vs_torch.sh (local energies at N = 32 run ~10 such
// ops of 5e5 elements per forward pass).
//
// GEMM-based convolutions (host/ops/conv1d.cpp, conv2d.cpp) split their work into chunks fixed
// by the sizes alone and run them with parallel_chunks from kMinParallelMacs = 2^22
// multiply-adds (~0.4 ms on one core). parallel_chunks is not an OpenMP region: the calling
// thread works through the chunks itself, and helper threads (sleeping, never spinning) take
// chunks only while they are running, so the caller never waits for a helper that the
// scheduler has not run; it waits only for chunks a helper has already started. Why: the naive
// sampler of bench/bench_naqs_sampling.cpp runs ~1500 convolutions of 6e6 multiply-adds per
// second (its batch is 8192/N, so every N gives the same size). Under the old OpenMP rule (from
// 2^24) they never used the second core, even on an idle machine (N = 256: 33 samples/s on 1 or
// 2 threads while PyTorch went from 25 to 44). As OpenMP regions from 2^22 they made two
// threads 10x slower than one on a 2-core machine with one other busy process (3.1 against 36
// samples/s, load 2). With parallel_chunks from 2^22, under the same load: 37-41 on two
// threads, 35-39 on one (no free core to gain from, and no collapse). Results never depend on
// the thread count: each chunk's arithmetic is the same whichever thread runs it.
#pragma once
#include <cstdint>
#include <functional>

namespace naqs {

inline constexpr int64_t kMinParallelElements = int64_t{1} << 20;
inline constexpr int64_t kMinParallelMacs = int64_t{1} << 22;

// Threads parallel_chunks may use, the caller included: omp_get_max_threads() (so OMP_NUM_THREADS
// and omp_set_num_threads govern both kinds of threading).
int parallel_slots();

// Runs body(chunk, slot) for every chunk in [0, n_chunks), each exactly once, on the calling
// thread and up to slots - 1 helper threads; slot in [0, slots) names the thread running the
// chunk (0 = the caller; per-slot scratch needs no locking) and never exceeds slots - 1. Returns
// when every chunk has finished. slots <= 1, n_chunks <= 1, or a call made while another
// parallel_chunks is running (nested or from a second host thread) runs serially on the caller.
// body must not throw. Helpers are started on first use and live until the process exits.
void parallel_chunks(int64_t n_chunks, int slots,
                     const std::function<void(int64_t chunk, int slot)>& body);

}  // namespace naqs
