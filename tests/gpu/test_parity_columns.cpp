// CUDA vs CPU parity of put_columns (host/ops/columns.hpp, twin cuda/columns.cu): f32 and f64,
// rows 1, 17, 1025, blocks at the first, a middle and the last columns, alpha 1, -1 and 0.37,
// overwrite and accumulate. Exact: one rounded product and one rounded sum per element on both
// (the kernel uses __fmul_rn, so no fused multiply-add). The rest of dst and the guard region
// after it are untouched. Skipped without a GPU.
#include "host/ops/columns.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using naqs::testing::all_close;
using naqs::testing::Guarded;
using naqs::testing::random_tensor;

TEST(ParityColumns, ExactWithGuards) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  uint64_t seed = 900;
  for (DType dt : {DType::f32, DType::f64})
    for (int64_t rows : {1, 17, 1025})
      for (int64_t col : {0, 5, 30}) {
        const int64_t c = 7, d = 37;
        const Tensor src = random_tensor({rows, c}, dt, ++seed);
        for (double alpha : {1.0, -1.0, 0.37})
          for (bool accumulate : {false, true}) {
            Tensor dst = random_tensor({rows, d}, dt, ++seed);
            Guarded dst_d({rows, d}, dt, gpu);
            dst_d.out.copy_from(dst);
            ops::put_columns(src, dst, col, alpha, accumulate);
            ops::put_columns(src.to(gpu), dst_d.out, col, alpha, accumulate);
            EXPECT_TRUE(all_close(dst_d.out.to(Device::cpu()), dst, 0, 0))
                << dtype_name(dt) << " rows " << rows << " col " << col << " alpha " << alpha;
            EXPECT_TRUE(dst_d.guards_intact());
          }
      }
}
