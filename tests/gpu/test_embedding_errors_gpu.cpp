// Errors of the embedding ops on CUDA tensors (host/ops/embedding.hpp): an id outside [0, V) is
// the same one-line error as on the CPU (naming the op, the flat position and the value), and
// the backward writes nothing. Their CUDA vs CPU parity is in the op-case harness
// (tests/op_cases/embedding.cpp, run by tests/gpu/test_op_cases.cpp). Skips (reported as skipped
// by ctest) without a CUDA device.
#include <string>

#include "host/ops/embedding.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using naqs::testing::all_close;

TEST(EmbeddingErrorsGpu, BadIdIsTheSameError) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  Tensor table = Tensor::zeros({5, 2}, DType::f32, gpu);
  Tensor out = Tensor::zeros({2, 2, 2}, DType::f32, gpu);
  Tensor dtable = Tensor::full({5, 2}, 7.0, DType::f32, gpu);
  Tensor ids = Tensor::from_vector<int32_t>({0, 4, 5, -1}, {2, 2}, gpu);
  for (int backward = 0; backward < 2; ++backward) {
    try {
      if (backward)
        ops::embedding_backward(ids, out, dtable);
      else
        ops::embedding_forward(ids, table, out);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(backward ? "embedding_backward: index 5 at flat position 2"
                                  : "embedding_forward: index 5 at flat position 2"),
                std::string::npos)
          << msg;
    }
  }
  EXPECT_TRUE(all_close(dtable, Tensor::full({5, 2}, 7.0, DType::f32), 0, 0))
      << "the backward writes nothing";
}
