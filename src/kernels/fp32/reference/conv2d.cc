#include "kernels/fp32/reference/conv2d.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace tinyptq::fp32_ref {

Conv2dParams make_conv2d_params(const Shape& x, const Shape& w, const Window2d& window, int64_t group) {
  check(x.size() == 4, "Conv input must be 4-D [N,C,H,W], got " + shape_str(x));
  check(w.size() == 4, "Conv weight must be 4-D [M,C/group,kH,kW], got " + shape_str(w));
  check(group >= 1, "Conv group must be >= 1, got " + std::to_string(group));
  Conv2dParams p;
  p.batch = x[0];
  p.in_channels = x[1];
  p.in_h = x[2];
  p.in_w = x[3];
  p.out_channels = w[0];
  p.group = group;
  check(p.in_channels % group == 0 && p.out_channels % group == 0,
        "Conv channels (input " + std::to_string(p.in_channels) + ", output " +
            std::to_string(p.out_channels) + ") are not divisible by group " + std::to_string(group));
  p.in_per_group = p.in_channels / group;
  p.out_per_group = p.out_channels / group;
  check(w[1] == p.in_per_group, "Conv channel mismatch: input " + shape_str(x) + " has " +
                                    std::to_string(p.in_channels) + " channels but weight " + shape_str(w) +
                                    " with group " + std::to_string(group) + " expects " +
                                    std::to_string(w[1] * group));
  check(w[2] == window.kernel_h && w[3] == window.kernel_w,
        "Conv kernel_shape [" + std::to_string(window.kernel_h) + "," + std::to_string(window.kernel_w) +
            "] does not match weight " + shape_str(w));
  p.window = window;
  p.window.ceil_mode = false;
  p.out_h = window_output_size(p.in_h, window.kernel_h, window.stride_h, window.dilation_h, window.pad_top,
                               window.pad_bottom, false);
  p.out_w = window_output_size(p.in_w, window.kernel_w, window.stride_w, window.dilation_w, window.pad_left,
                               window.pad_right, false);
  num_elements(conv2d_output_shape(p));  // rejects absurd sizes
  return p;
}

Shape conv2d_output_shape(const Conv2dParams& p) { return {p.batch, p.out_channels, p.out_h, p.out_w}; }

namespace {
// Floor division for a possibly negative numerator and positive divisor.
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
}  // namespace

void conv2d(const Conv2dParams& p, const float* x, const float* w, const float* bias, float* y) {
  const Window2d& win = p.window;
  const int64_t in_plane = p.in_h * p.in_w, out_plane = p.out_h * p.out_w;
  const int64_t kernel_size = win.kernel_h * win.kernel_w;
  for (int64_t n = 0; n < p.batch; ++n) {
    for (int64_t m = 0; m < p.out_channels; ++m) {
      const int64_t g = m / p.out_per_group;
      float* yp = y + (n * p.out_channels + m) * out_plane;
      std::fill(yp, yp + out_plane, bias ? bias[m] : 0.0f);
      for (int64_t c = 0; c < p.in_per_group; ++c) {
        const float* xp = x + (n * p.in_channels + g * p.in_per_group + c) * in_plane;
        const float* wp = w + (m * p.in_per_group + c) * kernel_size;
        for (int64_t kh = 0; kh < win.kernel_h; ++kh) {
          for (int64_t kw = 0; kw < win.kernel_w; ++kw) {
            const float wv = wp[kh * win.kernel_w + kw];
            // Output columns whose tap iw = ow·sw − pl + kw·dw lies in [0, W).
            const int64_t shift_w = kw * win.dilation_w - win.pad_left;
            const int64_t ow_begin =
                std::max<int64_t>(0, floor_div(-shift_w + win.stride_w - 1, win.stride_w));
            const int64_t ow_end = std::min(p.out_w, floor_div(p.in_w - 1 - shift_w, win.stride_w) + 1);
            for (int64_t oh = 0; oh < p.out_h; ++oh) {
              const int64_t ih = oh * win.stride_h - win.pad_top + kh * win.dilation_h;
              if (ih < 0 || ih >= p.in_h) continue;
              const float* xr = xp + ih * p.in_w;
              float* yr = yp + oh * p.out_w;
              if (win.stride_w == 1) {  // contiguous taps: lets the compiler vectorize
                for (int64_t ow = ow_begin; ow < ow_end; ++ow) yr[ow] += wv * xr[ow + shift_w];
              } else {
                for (int64_t ow = ow_begin; ow < ow_end; ++ow) yr[ow] += wv * xr[ow * win.stride_w + shift_w];
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace tinyptq::fp32_ref
