// Geometry of the 2-D pools (AveragePool, MaxPool), NCHW, float.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "kernels/fp32/reference/window2d.h"

namespace tinyptq::fp32_ref {

struct Pool2dParams {
  int64_t batch = 0, channels = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  Window2d window;
};

// x: [N, C, H, W]. OH = floor((H + pt + pb − dh·(kH−1) − 1)/sh) + 1 (ceil with ceil_mode, see
// window_output_size). Throws Error on bad shapes, and when a pad is not smaller than the kernel or some
// window holds no input element (its output would be undefined).
Pool2dParams make_pool2d_params(const Shape& x, const Window2d& window);
Shape pool2d_output_shape(const Pool2dParams& p);

}  // namespace tinyptq::fp32_ref
