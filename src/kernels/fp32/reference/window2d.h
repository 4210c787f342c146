// Sliding-window geometry shared by Conv and the 2-D pools (NCHW). Pads are explicit: auto_pad has been
// resolved beforehand (engine/shape_inference.h, resolved_pads).
#pragma once
#include <cstdint>

#include "ir/graph.h"

namespace tinyptq::fp32_ref {

struct Window2d {
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool ceil_mode = false;  // pools only
};

// Window2d from attributes whose kernel_shape/strides/dilations/pads are explicit and 2-D (empty
// strides/dilations/pads mean 1s/1s/0s). Throws Error on wrong lengths or non-positive sizes.
Window2d window2d_from_attrs(const Attrs& attrs);

// Output length along one axis, with dk = dil·(k−1) + 1 the effective kernel:
//   floor((in + pb + pe − dk) / stride) + 1, or with ceil_mode ceil(...) + 1, where in ceil mode a last
//   window that would start past the input and the begin padding (start ≥ in + pb) is dropped.
// Throws Error when the padded input is shorter than the effective kernel.
int64_t window_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
                           int64_t pad_end, bool ceil_mode);

}  // namespace tinyptq::fp32_ref
