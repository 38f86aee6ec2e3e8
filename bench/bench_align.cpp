// Mutual k-NN (ml/align/align.hpp) against the numpy reference (tests/align_reference.py), timed
// in the same run: N in {1024, 4096, 16384} paired inputs, D = 512 features per model, k = 10,
// quantile 0.95, 1 and 2 threads. One timed call = the whole score from raw features: the
// outlier clamp and row normalisation of both models, both neighbour lists (C++: Gram row
// blocks by ops::matmul + ops::topk_rows, float64; numpy: the dense N x N Gram, float64, and a
// stable argsort per row), the overlap. Best of 3 calls (1 at N = 16384).
// Every configuration runs in a child process (fork for naqs, python3 for numpy) so that its
// peak resident memory (wait4's ru_maxrss) is its own; threads: OMP_NUM_THREADS /
// OPENBLAS_NUM_THREADS for numpy, omp_set_num_threads + openblas_set_num_threads for naqs.
// Prints a table and one CSV line per row with commit, load average. Never asserts timings.
// Usage: bench_align [max_N] [--no-numpy]   (default 16384)
#include <cblas.h>
#include <omp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "host/core/build_info.hpp"
#include "ml/align/align.hpp"

using namespace naqs;
using namespace naqs::ml::align;

namespace {

constexpr int64_t kD = 512, kK = 10;
constexpr double kQuantile = 0.95;

struct Result {
  double seconds = -1, score = -1, peak_mib = -1;
};

std::vector<float> gaussian(int64_t n, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> g;
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& e : v) e = g(gen);
  return v;
}

double naqs_once(const Tensor& a, const Tensor& b, double* score_out) {
  const auto t0 = std::chrono::steady_clock::now();
  const Layer la = make_layer(preprocess(a, kQuantile), kK);
  const Layer lb = make_layer(preprocess(b, kQuantile), kK);
  *score_out = score(Metric::mutual_knn, la, lb);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Runs fn in a child process; fn writes "seconds score" to the pipe.
Result in_child(const std::function<void(int fd)>& fn) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    fn(fds[1]);
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  char buf[256] = {0};
  ssize_t got = 0, r;
  while ((r = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0) got += r;
  close(fds[0]);
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  Result res;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
      std::sscanf(buf, "%lf %lf", &res.seconds, &res.score) == 2)
    res.peak_mib = double(ru.ru_maxrss) / 1024.0;
  else
    res.seconds = -1;
  return res;
}

Result run_naqs(int64_t n, int threads) {
  return in_child([=](int fd) {
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    const Tensor a = Tensor::from_vector(gaussian(n * kD, 1), {n, kD});
    const Tensor b = Tensor::from_vector(gaussian(n * kD, 2), {n, kD});
    double best = 1e300, s = 0;
    for (int rep = 0; rep < (n >= 16384 ? 1 : 3); ++rep) best = std::min(best, naqs_once(a, b, &s));
    dprintf(fd, "%.9f %.9f\n", best, s);
  });
}

Result run_numpy(int64_t n, int threads) {
  return in_child([=](int fd) {
    const std::string t = std::to_string(threads);
    setenv("OMP_NUM_THREADS", t.c_str(), 1);
    setenv("OPENBLAS_NUM_THREADS", t.c_str(), 1);
    const std::string script = std::string(
        "import sys, time, os\n"
        "sys.path.insert(0, '" NAQS_SOURCE_DIR "/tests')\n"
        "import numpy as np\n"
        "import align_reference as ref\n"
        "n, reps = ") + std::to_string(n) + ", " + (n >= 16384 ? "1" : "3") +
        "\nrng = np.random.default_rng(1)\n"
        "a = rng.standard_normal((n, 512), dtype=np.float32)\n"
        "b = rng.standard_normal((n, 512), dtype=np.float32)\n"
        "best = 1e300\n"
        "for _ in range(reps):\n"
        "    t0 = time.perf_counter(); s = ref.time_mutual_knn(a, b, 10, 0.95)\n"
        "    best = min(best, time.perf_counter() - t0)\n"
        "os.write(" + std::to_string(fd) + ", ('%.9f %.9f\\n' % (best, s)).encode())\n";
    const char* py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    execlp(py, py, "-c", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  });
}

}  // namespace

int main(int argc, char** argv) {
  int64_t max_n = 16384;
  bool numpy = true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-numpy") == 0) numpy = false;
    else max_n = std::atoll(argv[i]);
  }
  std::printf("bench_align  commit %s%s  mutual k-NN, D = %lld, k = %lld, quantile %.2f, float64\n",
              git_commit(), git_dirty() ? " (dirty)" : "", static_cast<long long>(kD),
              static_cast<long long>(kK), kQuantile);
  std::printf("%6s %7s %12s %12s %8s %12s %12s %8s %6s\n", "N", "threads", "naqs_s", "numpy_s",
              "speedup", "naqs_MiB", "numpy_MiB", "score", "load");
  std::vector<std::string> csv;
  for (int64_t n : {1024, 4096, 16384}) {
    if (n > max_n) break;
    for (int threads : {1, 2}) {
      const double load = bench::load_average();
      const Result a = run_naqs(n, threads);
      const Result b = numpy ? run_numpy(n, threads) : Result{};
      std::printf("%6lld %7d %12.3f %12.3f %8.2f %12.0f %12.0f %8.5f %6.2f\n",
                  static_cast<long long>(n), threads, a.seconds, b.seconds,
                  b.seconds > 0 && a.seconds > 0 ? b.seconds / a.seconds : -1.0, a.peak_mib,
                  b.peak_mib, a.score, load);
      std::fflush(stdout);
      char line[512];
      std::snprintf(line, sizeof line,
                    "csv,bench_align,%s,%lld,%d,%.6f,%.6f,%.1f,%.1f,%.6f,%.6f,%.2f",
                    git_commit(), static_cast<long long>(n), threads, a.seconds, b.seconds,
                    a.peak_mib, b.peak_mib, a.score, b.score, load);
      csv.push_back(line);
    }
  }
  std::printf("csv,bench,commit,n,threads,naqs_seconds,numpy_seconds,naqs_peak_mib,"
              "numpy_peak_mib,naqs_score,numpy_score,load\n");
  for (const std::string& l : csv) std::printf("%s\n", l.c_str());
  return 0;
}
