// Batched strided GEMM at attention shapes: ops::matmul on permuted views against the contiguous
// ops::gemm_batched and against calling OpenBLAS directly, measured in the same run.
//   Q K^T: Q, K are (B,H,T,Dh) views of (B,T,H,Dh) buffers (row stride H*Dh, K read through
//          k.transpose(-1, -2)); S (B,H,T,T) dense.
//   P V:   P (B,H,T,T) dense, V the (B,H,T,Dh) view of a (B,T,H,Dh) buffer; O (B,H,T,Dh) dense.
// 2*B*H*T*T*Dh flops per product. Columns (GFLOP/s, best time per call, calls alternating so
// background load hits all alike):
//   strided      ops::matmul on the views (no copy)
//   contiguous   ops::gemm_batched on (B*H,T,Dh) tensors that are already dense (no copy)
//   copy+contig  contiguous() of the views, then gemm_batched (what refusing strides would cost)
//   openblas     a plain loop of cblas_{s,d}gemm over the B*H products on the views' memory,
//                OpenBLAS's own threading
// CUDA (when a device is present): strided vs contiguous through cuBLAS.
// Prints a table and one CSV line per row, with commit, device, threads and the 1-minute load
// average. Never asserts anything about timing.
// Usage: bench_matmul [f32|f64] [B*H as B H] (default f32, B = 4, H = 16)
#include <cblas.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "host/core/build_info.hpp"
#include "host/core/device.hpp"
#include "host/core/tensor.hpp"
#include "host/ops/gemm.hpp"

using namespace naqs;

namespace {

Tensor random_tensor(const Shape& shape, DType dtype, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(-1, 1);
  Tensor t = Tensor::empty(shape, dtype);
  dispatch_float(dtype, "bench_matmul", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(dist(gen));
  });
  return t;
}

// c (m,n) = a @ op(b) on raw row-major memory, OpenBLAS with its own threads.
void cblas_product(DType dt, bool trans_b, int m, int n, int k, const void* a, int lda,
                   const void* b, int ldb, void* c, int ldc) {
  const auto tb = trans_b ? CblasTrans : CblasNoTrans;
  if (dt == DType::f32)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, m, n, k, 1.0f, static_cast<const float*>(a), lda,
                static_cast<const float*>(b), ldb, 0.0f, static_cast<float*>(c), ldc);
  else
    cblas_dgemm(CblasRowMajor, CblasNoTrans, tb, m, n, k, 1.0, static_cast<const double*>(a), lda,
                static_cast<const double*>(b), ldb, 0.0, static_cast<double*>(c), ldc);
}

struct Row {
  std::string backend, product;
  int64_t t, dh;
  double strided, contiguous, copy_contig, openblas;  // GFLOP/s; < 0: not measured
};

struct Sizes {
  int64_t b, h, t, dh;
  double flops() const { return 2.0 * b * h * t * t * dh; }
};

// One product at one size on one device: the columns above.
Row measure(const char* product, DType dt, const Sizes& s, Device dev) {
  const bool qk = std::strcmp(product, "QK^T") == 0;
  const int64_t bh = s.b * s.h;
  const Shape bthd{s.b, s.t, s.h, s.dh};
  Tensor x = random_tensor(bthd, dt, 1).to(dev);  // Q or P's partner V, as stored
  Tensor y = random_tensor(bthd, dt, 2).to(dev);  // K
  Tensor p = random_tensor({s.b, s.h, s.t, s.t}, dt, 3).to(dev);
  const Tensor x_view = x.permute({0, 2, 1, 3});  // (B,H,T,Dh)
  const Tensor y_view = y.permute({0, 2, 1, 3});
  // Dense copies for the contiguous column, made once (not timed).
  const Tensor x_dense = x_view.contiguous().reshape({bh, s.t, s.dh});
  const Tensor y_dense = y_view.contiguous().reshape({bh, s.t, s.dh});
  const Tensor p_dense = p.reshape({bh, s.t, s.t});
  Tensor out = qk ? Tensor::empty({s.b, s.h, s.t, s.t}, dt, dev)
                  : Tensor::empty({s.b, s.h, s.t, s.dh}, dt, dev);
  Tensor out3 = out.reshape({bh, s.t, qk ? s.t : s.dh});

  std::vector<std::function<void()>> fns;
  if (qk) {
    fns.push_back([&] { ops::matmul(x_view, y_view.transpose(-1, -2), out); });
    fns.push_back([&] { ops::gemm_batched(x_dense, y_dense, out3, false, true); });
    fns.push_back([&] {
      ops::gemm_batched(x_view.contiguous().reshape({bh, s.t, s.dh}),
                        y_view.contiguous().reshape({bh, s.t, s.dh}), out3, false, true);
    });
  } else {
    fns.push_back([&] { ops::matmul(p, x_view, out); });
    fns.push_back([&] { ops::gemm_batched(p_dense, x_dense, out3); });
    fns.push_back([&] {
      ops::gemm_batched(p_dense, x_view.contiguous().reshape({bh, s.t, s.dh}), out3);
    });
  }
  if (dev.is_cpu()) {
    const std::size_t es = dtype_size(dt);
    const int t = static_cast<int>(s.t), dh = static_cast<int>(s.dh);
    const int ld_view = static_cast<int>(s.h * s.dh);
    fns.push_back([&, es, t, dh, ld_view] {
      const char* px = static_cast<const char*>(x.raw_data());
      const char* py = static_cast<const char*>(y.raw_data());
      const char* pp = static_cast<const char*>(p.raw_data());
      char* po = static_cast<char*>(out.raw_data());
      for (int64_t b = 0; b < s.b; ++b)
        for (int64_t h = 0; h < s.h; ++h) {
          const std::size_t view_off = static_cast<std::size_t>((b * s.t * s.h + h) * s.dh) * es;
          const int64_t i = b * s.h + h;
          if (qk)
            cblas_product(dt, true, t, t, dh, px + view_off, ld_view, py + view_off, ld_view,
                          po + static_cast<std::size_t>(i * s.t * s.t) * es, t);
          else
            cblas_product(dt, false, t, dh, t, pp + static_cast<std::size_t>(i * s.t * s.t) * es,
                          t, px + view_off, ld_view,
                          po + static_cast<std::size_t>(i * s.t * s.dh) * es, dh);
        }
    });
  }
  const std::function<void()> sync = [dev] { synchronize(dev); };
  const std::vector<double> sec = bench::best_seconds(fns, sync, 0.2);
  Row r{dev.is_cpu() ? "cpu" : "cuda", product, s.t, s.dh, 0, 0, 0, -1};
  r.strided = s.flops() / sec[0] * 1e-9;
  r.contiguous = s.flops() / sec[1] * 1e-9;
  r.copy_contig = s.flops() / sec[2] * 1e-9;
  if (sec.size() > 3) r.openblas = s.flops() / sec[3] * 1e-9;
  return r;
}

void print_rows(const std::vector<Row>& rows, DType dt, const Sizes& s, double load) {
  std::printf("%-5s %-4s %-5s %5s %4s %9s %11s %12s %9s %9s\n", "dev", "type", "prod", "T", "Dh",
              "strided", "contiguous", "copy+contig", "openblas", "str/cont");
  for (const Row& r : rows) {
    char ob[32] = "-";
    if (r.openblas > 0) std::snprintf(ob, sizeof ob, "%.1f", r.openblas);
    std::printf("%-5s %-4s %-5s %5lld %4lld %9.1f %11.1f %12.1f %9s %9.3f\n", r.backend.c_str(),
                dtype_name(dt), r.product.c_str(), static_cast<long long>(r.t),
                static_cast<long long>(r.dh), r.strided, r.contiguous, r.copy_contig, ob,
                r.strided / r.contiguous);
  }
  for (const Row& r : rows)
    std::printf("csv,bench_matmul,%s,%s,%s,%s,%lld,%lld,%lld,%.3f,%.3f,%.3f,%.3f,%.2f\n",
                git_commit(), r.backend.c_str(), dtype_name(dt), r.product.c_str(),
                static_cast<long long>(s.b * s.h), static_cast<long long>(r.t),
                static_cast<long long>(r.dh), r.strided, r.contiguous, r.copy_contig, r.openblas,
                load);
}

}  // namespace

int main(int argc, char** argv) {
  DType dt = DType::f32;
  Sizes base{4, 16, 0, 0};
  if (argc > 1) dt = parse_dtype(argv[1]);
  if (argc > 3) {
    base.b = std::atoll(argv[2]);
    base.h = std::atoll(argv[3]);
  }
  dispatch_float(dt, "bench_matmul", [](auto) {});
  const int64_t t_list[] = {128, 256, 512};
  const int64_t dh_list[] = {32, 64};

  std::printf("bench_matmul  commit %s%s\n", git_commit(), git_dirty() ? " (dirty)" : "");
  std::printf("cpu: %s, OpenBLAS threads %d, OpenMP threads %d, load average %.2f\n",
              device_name(Device::cpu()).c_str(), openblas_get_num_threads(),
              omp_get_max_threads(), bench::load_average());
  std::printf("B*H = %lld (B %lld, H %lld), %s; GFLOP/s = 2*B*H*T*T*Dh / best time per call\n",
              static_cast<long long>(base.b * base.h), static_cast<long long>(base.b),
              static_cast<long long>(base.h), dtype_name(dt));
  std::printf("csv,bench,commit,backend,dtype,product,bh,t,dh,strided_gflops,contiguous_gflops,"
              "copy_contiguous_gflops,openblas_loop_gflops,load\n");

  std::vector<Row> rows;
  for (const char* product : {"QK^T", "PV"})
    for (int64_t t : t_list)
      for (int64_t dh : dh_list) rows.push_back(measure(product, dt, {base.b, base.h, t, dh},
                                                        Device::cpu()));
  const double load = bench::load_average();
  std::printf("\n[cpu] load average after the runs %.2f\n", load);
  print_rows(rows, dt, base, load);

  if (device_count() == 0) {
    std::printf("\n[cuda] no CUDA device: cuBLAS rows skipped\n");
    return 0;
  }
  const Device gpu = Device::cuda(0);
  std::printf("\n[cuda] device: %s (strided vs contiguous through cuBLAS)\n",
              device_name(gpu).c_str());
  rows.clear();
  for (const char* product : {"QK^T", "PV"})
    for (int64_t t : t_list)
      for (int64_t dh : dh_list) rows.push_back(measure(product, dt, {base.b, base.h, t, dh}, gpu));
  print_rows(rows, dt, base, bench::load_average());
  return 0;
}
