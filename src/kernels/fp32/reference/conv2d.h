// Reference 2-D convolution, NCHW, float.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "kernels/fp32/reference/window2d.h"

namespace tinyptq::fp32_ref {

struct Conv2dParams {
  int64_t batch = 0, in_channels = 0, in_h = 0, in_w = 0;
  int64_t out_channels = 0, out_h = 0, out_w = 0;
  int64_t group = 1, in_per_group = 0, out_per_group = 0;  // C/G and M/G
  Window2d window;
};

// x: [N, C, H, W], w: [M, C/group, kH, kW] with kH, kW equal to the window's kernel. Output [N, M, OH, OW]
// with OH = floor((H + pt + pb − dh·(kH−1) − 1)/sh) + 1 (same along W). Throws Error on inconsistent shapes.
Conv2dParams make_conv2d_params(const Shape& x, const Shape& w, const Window2d& window, int64_t group);
Shape conv2d_output_shape(const Conv2dParams& p);

// y[n,m,oh,ow] = bias[m] + Σ_{c<C/G, kh, kw} x[n, g·C/G + c, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw] ·
// w[m,c,kh,kw] with g = m / (M/G); taps outside the input contribute 0; bias may be null (0). The sum starts
// from the bias and runs in float, in the order c, kh, kw.
void conv2d(const Conv2dParams& p, const float* x, const float* w, const float* bias, float* y);

}  // namespace tinyptq::fp32_ref
