#include "kernels/int8/reference/global_avgpool.h"

#include "kernels/int8/reference/avgpool.h"

namespace tinyptq::int8::ref {

void global_avgpool(const GlobalAvgPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images) {
  const int64_t size = p.image_size, channels = p.channels;
  const int32_t bias = -p.input_zero_point * int32_t(size);
  const AvgPoolStage st = global_avgpool_stage(p);
  for (int64_t n = 0; n < images; ++n) {
    const uint8_t* image = x + n * size * channels;
    for (int64_t c = 0; c < channels; ++c) {
      int32_t acc = bias;
      for (int64_t i = 0; i < size; ++i) acc += image[i * channels + c];
      y[n * channels + c] = uint8_t(pool_output(p.integer, st, p.output, acc));
    }
  }
}

}  // namespace tinyptq::int8::ref
