#include "kernels/fp32/reference/pool2d_params.h"

#include <string>

#include "core/error.h"

namespace tinyptq::fp32_ref {

namespace {
// True when every output position along one axis has at least one tap o·s − pb + j·d inside [0, in).
bool every_window_hits_input(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t pb) {
  for (int64_t o = 0; o < out; ++o) {
    bool hit = false;
    for (int64_t j = 0; j < k && !hit; ++j) {
      const int64_t i = o * s - pb + j * d;
      hit = i >= 0 && i < in;
    }
    if (!hit) return false;
  }
  return true;
}
}  // namespace

Pool2dParams make_pool2d_params(const Shape& x, const Window2d& window) {
  check(x.size() == 4, "pool input must be 4-D [N,C,H,W], got " + shape_str(x));
  const Window2d& w = window;
  check(w.pad_top < w.kernel_h && w.pad_bottom < w.kernel_h && w.pad_left < w.kernel_w &&
            w.pad_right < w.kernel_w,
        "pool pads must be smaller than the kernel");
  Pool2dParams p;
  p.batch = x[0];
  p.channels = x[1];
  p.in_h = x[2];
  p.in_w = x[3];
  p.window = window;
  p.out_h =
      window_output_size(p.in_h, w.kernel_h, w.stride_h, w.dilation_h, w.pad_top, w.pad_bottom, w.ceil_mode);
  p.out_w =
      window_output_size(p.in_w, w.kernel_w, w.stride_w, w.dilation_w, w.pad_left, w.pad_right, w.ceil_mode);
  num_elements(pool2d_output_shape(p));
  check(every_window_hits_input(p.in_h, p.out_h, w.kernel_h, w.stride_h, w.dilation_h, w.pad_top) &&
            every_window_hits_input(p.in_w, p.out_w, w.kernel_w, w.stride_w, w.dilation_w, w.pad_left),
        "a pooling window of input " + shape_str(x) + " lies entirely in the padding");
  return p;
}

Shape pool2d_output_shape(const Pool2dParams& p) { return {p.batch, p.channels, p.out_h, p.out_w}; }

}  // namespace tinyptq::fp32_ref
