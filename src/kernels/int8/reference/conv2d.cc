#include "kernels/int8/reference/conv2d.h"

#include "quant/requant.h"

namespace tinyptq::int8::ref {

void conv2d_pack(const ConvParams& p, const QuantizedWeights& w, PackedWeights* out) {
  const ConvShape& s = p.shape;
  const int64_t kernel_h = s.window.kernel_h, kernel_w = s.window.kernel_w;
  const int64_t in_per_group = s.in_per_group(), taps = s.taps();
  const int64_t input_zero_point = p.input_zero_point;

  out->data.assign(s.out_c * taps, 0);
  out->bias.assign(s.out_c, 0);
  if (w.fixed)
    out->fixed.assign(w.fixed, w.fixed + s.out_c);
  else
    out->multipliers.assign(w.multipliers, w.multipliers + s.out_c);
  bool symmetric = true;
  for (int64_t oc = 0; oc < s.out_c; ++oc) symmetric = symmetric && w.zero_points[oc] == 0;
  if (symmetric)
    out->zero_points.clear();
  else
    out->zero_points.assign(w.zero_points, w.zero_points + s.out_c);

  for (int64_t oc = 0; oc < s.out_c; ++oc) {
    int64_t weight_sum = 0;
    for (int64_t ic = 0; ic < in_per_group; ++ic)
      for (int64_t ky = 0; ky < kernel_h; ++ky)
        for (int64_t kx = 0; kx < kernel_w; ++kx) {
          const int8_t v = w.data[((oc * in_per_group + ic) * kernel_h + ky) * kernel_w + kx];
          out->data[((oc * kernel_h + ky) * kernel_w + kx) * in_per_group + ic] = v;
          weight_sum += v;
        }
    const int64_t bias = w.bias ? w.bias[oc] : 0;
    const int64_t weight_zero_point = w.zero_points[oc];
    out->bias[oc] =
        int32_t(bias - input_zero_point * weight_sum + taps * input_zero_point * weight_zero_point);
  }
}

size_t conv2d_scratch_bytes(const ConvParams&) { return 0; }

void conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows, void*) {
  const ConvShape& s = p.shape;
  const Window2d& win = s.window;
  const int64_t in_h = s.in_h, in_w = s.in_w, in_c = s.in_c;
  const int64_t out_h = s.out_h, out_w = s.out_w, out_c = s.out_c;
  const int64_t in_per_group = s.in_per_group(), out_per_group = s.out_per_group();
  const int32_t input_zero_point = p.input_zero_point;
  const PackedWeights& pw = *p.weights;
  const bool has_weight_zero_points = !pw.zero_points.empty();
  const bool integer = !pw.fixed.empty();
  const OutputStage& o = p.output;

  for (int64_t n = 0; n < images; ++n) {
    const uint8_t* image = x + n * in_h * in_w * in_c;
    uint8_t* out_image = y + n * out_h * out_w * out_c;
    for (int64_t oy = rows.begin; oy < rows.end; ++oy) {
      for (int64_t ox = 0; ox < out_w; ++ox) {
        const int64_t y0 = oy * win.stride_h - win.pad_top, x0 = ox * win.stride_w - win.pad_left;
        for (int64_t oc = 0; oc < out_c; ++oc) {
          const int64_t group = oc / out_per_group;
          const int8_t* filter = pw.data.data() + oc * s.taps();
          int32_t acc = pw.bias[oc];
          int32_t input_sum = 0;  // Σ x̃, needed only when zw ≠ 0
          for (int64_t ky = 0; ky < win.kernel_h; ++ky) {
            const int64_t iy = y0 + ky * win.dilation_h;
            for (int64_t kx = 0; kx < win.kernel_w; ++kx) {
              const int64_t ix = x0 + kx * win.dilation_w;
              const int8_t* tap = filter + (ky * win.kernel_w + kx) * in_per_group;
              const bool inside = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
              const uint8_t* pixel =
                  inside ? image + (iy * in_w + ix) * in_c + group * in_per_group : nullptr;
              for (int64_t ic = 0; ic < in_per_group; ++ic) {
                const int32_t xv = inside ? pixel[ic] : input_zero_point;  // padding holds real 0
                acc += xv * int32_t(tap[ic]);
                input_sum += xv;
              }
            }
          }
          if (has_weight_zero_points) acc -= pw.zero_points[oc] * input_sum;
          out_image[(oy * out_w + ox) * out_c + oc] =
              uint8_t(integer ? requantize_fixed(acc, pw.fixed[oc], o.zero_point, o.min, o.max)
                              : requantize_float(acc, pw.multipliers[oc], o.zero_point, o.min, o.max));
        }
      }
    }
  }
}

}  // namespace tinyptq::int8::ref
