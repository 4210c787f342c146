#include "kernels/fp32/reference/window2d.h"

#include <string>

#include "core/error.h"

namespace tinyptq::fp32_ref {

namespace {
std::vector<int64_t> or_default(const std::vector<int64_t>& v, size_t n, int64_t fill, const char* what) {
  if (v.empty()) return std::vector<int64_t>(n, fill);
  check(v.size() == n,
        std::string(what) + " has " + std::to_string(v.size()) + " values, expected " + std::to_string(n));
  return v;
}
}  // namespace

Window2d window2d_from_attrs(const Attrs& attrs) {
  check(attrs.kernel_shape.size() == 2, "kernel_shape has " + std::to_string(attrs.kernel_shape.size()) +
                                            " values; only 2-D windows are supported");
  auto strides = or_default(attrs.strides, 2, 1, "strides");
  auto dilations = or_default(attrs.dilations, 2, 1, "dilations");
  auto pads = or_default(attrs.pads, 4, 0, "pads");
  Window2d w;
  w.kernel_h = attrs.kernel_shape[0];
  w.kernel_w = attrs.kernel_shape[1];
  w.stride_h = strides[0];
  w.stride_w = strides[1];
  w.dilation_h = dilations[0];
  w.dilation_w = dilations[1];
  w.pad_top = pads[0];
  w.pad_left = pads[1];
  w.pad_bottom = pads[2];
  w.pad_right = pads[3];
  w.ceil_mode = attrs.ceil_mode;
  check(w.kernel_h > 0 && w.kernel_w > 0, "kernel_shape must be positive");
  check(w.stride_h > 0 && w.stride_w > 0, "strides must be positive");
  check(w.dilation_h > 0 && w.dilation_w > 0, "dilations must be positive");
  check(w.pad_top >= 0 && w.pad_left >= 0 && w.pad_bottom >= 0 && w.pad_right >= 0,
        "pads must be non-negative");
  constexpr int64_t kMax = int64_t(1) << 24;  // keeps every index product far from overflow
  for (int64_t v : {w.kernel_h, w.kernel_w, w.stride_h, w.stride_w, w.dilation_h, w.dilation_w, w.pad_top,
                    w.pad_left, w.pad_bottom, w.pad_right})
    check(v <= kMax, "window attribute value " + std::to_string(v) + " is too large");
  return w;
}

int64_t window_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
                           int64_t pad_end, bool ceil_mode) {
  const int64_t effective = dilation * (kernel - 1) + 1;
  const int64_t span = in + pad_begin + pad_end - effective;
  check(span >= 0, "padded input length " + std::to_string(in + pad_begin + pad_end) +
                       " is shorter than the effective kernel " + std::to_string(effective));
  int64_t out = span / stride + 1;
  if (ceil_mode) {
    out = (span + stride - 1) / stride + 1;
    if ((out - 1) * stride >= in + pad_begin) --out;
  }
  return out;
}

}  // namespace tinyptq::fp32_ref
