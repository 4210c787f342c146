#include "kernels/int8/reference/avgpool.h"

#include <algorithm>

#include "quant/requant.h"

namespace tinyptq::int8::ref {

int64_t avgpool_divisor(const AvgPoolParams& p, int64_t oy, int64_t ox) {
  const PoolShape& s = p.shape;
  const Window2d& win = s.window;
  const int64_t y0 = oy * win.stride_h - win.pad_top, x0 = ox * win.stride_w - win.pad_left;
  int64_t inside = 0, in_padded_extent = 0;
  for (int64_t ky = 0; ky < win.kernel_h; ++ky) {
    const int64_t iy = y0 + ky * win.dilation_h;
    for (int64_t kx = 0; kx < win.kernel_w; ++kx) {
      const int64_t ix = x0 + kx * win.dilation_w;
      if (iy < s.in_h + win.pad_bottom && ix < s.in_w + win.pad_right) ++in_padded_extent;
      inside += iy >= 0 && iy < s.in_h && ix >= 0 && ix < s.in_w;
    }
  }
  return p.count_include_pad ? in_padded_extent : inside;
}

AvgPoolStage avgpool_stage(const AvgPoolParams& p, int64_t oy, int64_t ox) {
  AvgPoolStage st;
  st.divisor = int32_t(avgpool_divisor(p, oy, ox));
  st.multiplier = p.input_scale / (p.output_scale * float(st.divisor));
  st.same_quant = p.input_scale == p.output_scale && p.input_zero_point == p.output.zero_point;
  if (p.integer && !st.same_quant)
    st.fixed = quantize_multiplier(double(p.input_scale) / (double(p.output_scale) * double(st.divisor)));
  return st;
}

AvgPoolStage global_avgpool_stage(const GlobalAvgPoolParams& p) {
  AvgPoolStage st;
  st.divisor = int32_t(p.image_size), st.multiplier = p.multiplier, st.same_quant = p.same_quant, st.fixed = p.fixed;
  return st;
}

int32_t pool_output(bool integer, const AvgPoolStage& st, const OutputStage& o, int32_t sum) {
  if (!integer) return requantize_float(sum, st.multiplier, o.zero_point, o.min, o.max);
  if (st.same_quant) return std::clamp(rounded_average(sum, st.divisor) + o.zero_point, o.min, o.max);
  return requantize_fixed(sum, st.fixed, o.zero_point, o.min, o.max);
}

void avgpool(const AvgPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows) {
  const PoolShape& s = p.shape;
  const Window2d& win = s.window;
  const int64_t channels = s.channels;
  for (int64_t n = 0; n < images; ++n) {
    const uint8_t* image = x + n * s.in_h * s.in_w * channels;
    uint8_t* out_image = y + n * s.out_h * s.out_w * channels;
    for (int64_t oy = rows.begin; oy < rows.end; ++oy) {
      for (int64_t ox = 0; ox < s.out_w; ++ox) {
        const int64_t y0 = oy * win.stride_h - win.pad_top, x0 = ox * win.stride_w - win.pad_left;
        const AvgPoolStage st = avgpool_stage(p, oy, ox);
        for (int64_t c = 0; c < channels; ++c) {
          int32_t sum = 0;
          for (int64_t ky = 0; ky < win.kernel_h; ++ky) {
            const int64_t iy = y0 + ky * win.dilation_h;
            for (int64_t kx = 0; kx < win.kernel_w; ++kx) {
              const int64_t ix = x0 + kx * win.dilation_w;
              if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
              sum += int32_t(image[(iy * s.in_w + ix) * channels + c]) - p.input_zero_point;
            }
          }
          out_image[(oy * s.out_w + ox) * channels + c] = uint8_t(pool_output(p.integer, st, p.output, sum));
        }
      }
    }
  }
}

}  // namespace tinyptq::int8::ref
