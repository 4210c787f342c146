#include "kernels/int8/reference/global_avgpool.h"

#include <algorithm>

#include "quant/requant.h"

namespace tinyptq::int8::ref {

void global_avgpool(const GlobalAvgPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images) {
  const int64_t size = p.image_size, channels = p.channels;
  const int32_t bias = -p.input_zero_point * int32_t(size);
  for (int64_t n = 0; n < images; ++n) {
    const uint8_t* image = x + n * size * channels;
    for (int64_t c = 0; c < channels; ++c) {
      int32_t acc = bias;
      for (int64_t i = 0; i < size; ++i) acc += image[i * channels + c];
      const OutputStage& o = p.output;
      y[n * channels + c] =
          uint8_t(!p.integer     ? requantize_float(acc, p.multiplier, o.zero_point, o.min, o.max)
                  : p.same_quant ? std::clamp(rounded_average(acc, int32_t(size)) + o.zero_point, o.min, o.max)
                                 : requantize_fixed(acc, p.fixed, o.zero_point, o.min, o.max));
    }
  }
}

}  // namespace tinyptq::int8::ref
