// The byte-level transformer (ml/transformer/model.hpp) on CUDA against the CPU: the full
// inference forward, the cached decode (prefill + one token per step) and the training forward
// and backward, f32 and f64, MHA / MQA-CLA2 / GQA2-CLA3.
// Tolerances: CUDA's linear layers are cuBLAS (another summation order than the CPU's fixed-order
// rows and OpenBLAS) and its attention sums in another order with FMA; through 4 layers of
// C = 32 this leaves ~1e-5 relative in f32 (1e-4 allowed: logits ~1, K = 32..64 terms per
// product, errors grow through the residual stream) and ~1e-13 in f64 (1e-11 allowed).
#include <gtest/gtest.h>

#include <vector>

#include "ml/transformer/model.hpp"
#include "tests/support/testing.hpp"

namespace naqs::testing {
namespace {

using ml::KvCache;
using ml::TrainState;
using ml::Transformer;
using ml::TransformerConfig;

TEST(ParityTransformer, DecodeForwardAndBackwardMatchCpu) {
  NAQS_SKIP_WITHOUT_GPU();
  struct Variant {
    int64_t heads, kv_heads, kv_share;
  };
  for (DType dt : {DType::f32, DType::f64})
    for (const Variant& v : {Variant{4, 4, 1}, Variant{4, 1, 2}, Variant{4, 2, 3}}) {
      const double tol = dt == DType::f32 ? 1e-4 : 1e-11;
      TransformerConfig c;
      c.head_dim = 8;
      c.heads = v.heads;
      c.kv_heads = v.kv_heads;
      c.d_model = 32;
      c.layers = 4;
      c.kv_share = v.kv_share;
      c.context = 24;
      c.ffn_hidden = 64;
      Transformer cpu(c, dt, Device::cpu()), gpu(c, dt, Device::cuda(0));
      cpu.init(5);
      Tensor gflat = gpu.params().flat();
      gflat.copy_from(cpu.params().flat());
      const int64_t b = 3, t = 17;
      std::vector<int32_t> ids;
      for (int64_t i = 0; i < b * t; ++i) ids.push_back(static_cast<int32_t>((i * 37 + 11) % 256));
      const Tensor tokens = Tensor::from_vector(ids, {b, t});
      const Tensor tokens_gpu = tokens.to(Device::cuda(0));
      // full inference forward
      KvCache cc(c, b, t, dt, Device::cpu()), gc(c, b, t, dt, Device::cuda(0));
      Tensor lc = Tensor::zeros({b, t, 256}, dt), lg = Tensor::zeros({b, t, 256}, dt, Device::cuda(0));
      cpu.infer(tokens, 0, cc, lc);
      gpu.infer(tokens_gpu, 0, gc, lg);
      EXPECT_TRUE(all_close(lg.to(Device::cpu()), lc, tol, tol)) << "full forward";
      // cached decode on the GPU vs the CPU's full forward
      KvCache dc(c, b, t, dt, Device::cuda(0));
      Tensor pre = Tensor::zeros({b, 2, 256}, dt, Device::cuda(0));
      gpu.infer(tokens.narrow(1, 0, 2).contiguous().to(Device::cuda(0)), 0, dc, pre);
      EXPECT_TRUE(all_close(pre.to(Device::cpu()), lc.narrow(1, 0, 2).contiguous(), tol, tol));
      for (int64_t pos = 2; pos < t; ++pos) {
        Tensor step = Tensor::zeros({b, 1, 256}, dt, Device::cuda(0));
        gpu.infer(tokens.narrow(1, pos, 1).contiguous().to(Device::cuda(0)), pos, dc, step);
        ASSERT_TRUE(all_close(step.to(Device::cpu()), lc.narrow(1, pos, 1).contiguous(), tol, tol))
            << "decode position " << pos;
      }
      // training forward and backward
      TrainState sc, sg;
      cpu.forward_train(tokens, sc);
      gpu.forward_train(tokens_gpu, sg);
      EXPECT_TRUE(all_close(sg.logits.to(Device::cpu()), sc.logits, tol, tol));
      const Tensor dl = random_tensor({b, t, 256}, dt, 9, -1e-2, 1e-2);
      ParameterSet gcpu = cpu.params().like(dt, Device::cpu());
      ParameterSet ggpu = gpu.params().like(dt, Device::cuda(0));
      cpu.backward(sc, dl, gcpu);
      gpu.backward(sg, dl.to(Device::cuda(0)), ggpu);
      EXPECT_TRUE(all_close(ggpu.flat().to(Device::cpu()), gcpu.flat(), tol, tol)) << "gradients";
    }
}

}  // namespace
}  // namespace naqs::testing
