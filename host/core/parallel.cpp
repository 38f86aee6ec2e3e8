// parallel_chunks: the caller plus optional, sleeping helper threads (see parallel.hpp).
#include "host/core/parallel.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace naqs {

namespace {

// One call's chunks. The caller and the helpers share it through shared_ptrs, so a helper that
// wakes after the call has returned only finds next >= n_chunks and never touches body.
struct Job {
  const std::function<void(int64_t, int)>* body = nullptr;
  int64_t n_chunks = 0;
  int helpers = 0;                  // helpers allowed to join: slots - 1
  std::atomic<int64_t> next{0};     // next chunk to claim
  std::atomic<int64_t> done{0};     // chunks finished
  std::atomic<int> joined{0};       // helpers that joined (their slots are 1, 2, ...)
};

// Claims and runs chunks until none are left.
void work(Job& job, int slot) {
  for (int64_t i; (i = job.next.fetch_add(1, std::memory_order_relaxed)) < job.n_chunks;) {
    (*job.body)(i, slot);
    if (job.done.fetch_add(1, std::memory_order_acq_rel) + 1 == job.n_chunks)
      job.done.notify_all();
  }
}

class Pool {
 public:
  // Never destroyed: the helpers sleep until the process exits (joining them at exit could hang
  // in a forked child, where they do not exist).
  static Pool& instance() {
    static Pool* pool = new Pool;
    return *pool;
  }

  void run(int64_t n_chunks, int slots, const std::function<void(int64_t, int)>& body) {
    if (slots <= 1 || n_chunks <= 1 || busy_.exchange(true, std::memory_order_acquire)) {
      for (int64_t i = 0; i < n_chunks; ++i) body(i, 0);
      return;
    }
    struct Release {  // the next call may use the helpers once this one has returned
      std::atomic<bool>& busy;
      ~Release() { busy.store(false, std::memory_order_release); }
    } release{busy_};
    auto job = std::make_shared<Job>();
    job->body = &body;
    job->n_chunks = n_chunks;
    job->helpers = slots - 1;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (n_threads_ < job->helpers) {
        const int id = n_threads_;
        std::thread([this, id] { helper(id); }).detach();
        ++n_threads_;
      }
      current_ = job;
      ++generation_;
    }
    wake_.notify_all();
    work(*job, 0);
    for (int64_t d; (d = job->done.load(std::memory_order_acquire)) < n_chunks;)
      job->done.wait(d, std::memory_order_acquire);
    std::lock_guard<std::mutex> lock(mutex_);
    current_.reset();
  }

 private:
  Pool() = default;

  void helper(int id) {
    uint64_t seen = 0;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        job = current_;
      }
      if (!job || id >= job->helpers) continue;
      work(*job, 1 + job->joined.fetch_add(1, std::memory_order_relaxed));
    }
  }

  std::atomic<bool> busy_{false};  // set by the one call running; others run serially
  std::mutex mutex_;  // guards n_threads_, current_, generation_
  std::condition_variable wake_;
  int n_threads_ = 0;
  std::shared_ptr<Job> current_;
  uint64_t generation_ = 0;
};

}  // namespace

int parallel_slots() { return std::max(1, omp_get_max_threads()); }

void parallel_chunks(int64_t n_chunks, int slots,
                     const std::function<void(int64_t chunk, int slot)>& body) {
  Pool::instance().run(n_chunks, slots, body);
}

}  // namespace naqs
