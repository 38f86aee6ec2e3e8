// Op cases of host/ops/copy.hpp (CUDA twin cuda/copy.cu): strided copies between views of one
// device, every dtype. in[0] is the source buffer, out[0] the destination buffer (initial values
// random); the case copies a view of one into a view of the other, so destination elements
// outside the view must keep their values on both sides. Sources: permuted (B,T,H,Dh) ->
// (B,H,T,Dh), transposes, inner-dim narrows, select, stride-0 broadcast (grouped-query attention),
// rank 6. Tolerance 0: a copy does no arithmetic. Gradient cases (f64, small injective views):
// the copy's gradient is dout read through the destination view, written through the source
// view.
#include <functional>

#include "host/ops/copy.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using View = std::function<Tensor(const Tensor&)>;

struct CopyLayout {
  const char* name;  // a params value: [a-z0-9_]
  Shape src_base, dst_base;
  View src_view, dst_view;
  bool injective;  // the source view reads each element at most once (no broadcast)
};

Tensor same(const Tensor& t) { return t; }

const CopyLayout kLayouts[] = {
    {"transpose", {17, 1025}, {1025, 17}, [](const Tensor& t) { return t.transpose(0, 1); }, same,
     true},
    {"bthd_to_bhtd", {3, 17, 5, 33}, {3, 5, 17, 33},
     [](const Tensor& t) { return t.permute({0, 2, 1, 3}); }, same, true},
    {"into_bthd_view", {3, 5, 17, 33}, {3, 17, 5, 33}, same,
     [](const Tensor& t) { return t.permute({0, 2, 1, 3}); }, true},
    {"narrow_to_narrow", {7, 9, 13}, {7, 11, 13},
     [](const Tensor& t) { return t.narrow(1, 2, 7).narrow(2, 1, 11); },
     [](const Tensor& t) { return t.narrow(1, 3, 7).narrow(2, 0, 11); }, true},
    {"select_to_select", {5, 6, 7}, {7, 2, 6},
     [](const Tensor& t) { return t.select(0, 3).transpose(0, 1); },
     [](const Tensor& t) { return t.select(1, 1); }, true},
    {"gqa_broadcast", {2, 3, 1, 17, 8}, {2, 3, 4, 17, 8},
     [](const Tensor& t) { return t.expand({2, 3, 4, 17, 8}); }, same, false},
    {"rank6", {2, 3, 1, 4, 5, 3}, {3, 5, 2, 4, 1, 3},
     [](const Tensor& t) { return t.permute({5, 4, 0, 3, 2, 1}); },
     [](const Tensor& t) { return t.transpose(0, 5).transpose(0, 5); }, true},
};

NAQS_OP_CASES(copy_cases) {
  const DType all_types[] = {DType::f32, DType::f64, DType::i32, DType::u8};
  uint64_t seed = 10;
  for (DType dt : all_types)
    for (const CopyLayout& l : kLayouts) {
      OpCase c;
      c.op = "copy";
      c.params = OpParams(cat("layout=", l.name));
      c.dtype = dt;
      c.seed = ++seed;
      c.why = "exact: a copy does no arithmetic";
      c.make = [l](const OpCase& c) {
        const bool integer = c.dtype == DType::i32 || c.dtype == DType::u8;
        const double lo = integer ? 0 : -1, hi = integer ? 100 : 1;
        return OpTensors{{random_tensor(l.src_base, c.dtype, c.seed, lo, hi)},
                         {random_tensor(l.dst_base, c.dtype, c.seed + 1, lo, hi)}};
      };
      c.run = [l](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
        Tensor dst = l.dst_view(out[0]);
        ops::copy(l.src_view(in[0]), dst);
      };
      // Gradient cases on the small layouts (central differences cost two runs per element).
      if (dt == DType::f64 && l.injective && l.src_base.numel() <= 1000) {
        c.grad_of = {0};
        c.backward = [l](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
          Tensor d = Tensor::zeros(in[0].shape(), DType::f64);
          Tensor d_src = l.src_view(d);
          ops::copy(l.dst_view(dout[0]), d_src);
          return std::vector<Tensor>{d};
        };
      }
      cases.push_back(c);
    }
}

}  // namespace
}  // namespace naqs::testing
