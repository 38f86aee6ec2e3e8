#include "host/ops/ed_matvec.hpp"

#include "host/core/cuda_runtime.hpp"
#include "host/core/error.hpp"

namespace naqs::ops {

void ed_matvec_device([[maybe_unused]] const SpinOperatorView& terms,
                      [[maybe_unused]] const EdSectorView& sector, [[maybe_unused]] const double* x,
                      [[maybe_unused]] double* y, Device device) {
  NAQS_CHECK(device.is_cuda(), "ed_matvec_device: ", device.str(), " is not a CUDA device");
  NAQS_CUDA_BRANCH("ed_matvec", (cuda_rt::set_device(device.index),
                                 detail::ed_matvec_cuda(terms, sector, x, y)));
}

}  // namespace naqs::ops
