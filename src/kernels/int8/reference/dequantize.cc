#include "kernels/int8/reference/dequantize.h"

namespace tinyptq::int8::ref {

void dequantize(const DequantizeParams& p, const uint8_t* x, float* y, int64_t count) {
  for (int64_t i = 0; i < count; ++i) y[i] = float(int32_t(x[i]) - p.zero_point) * p.scale;
}

}  // namespace tinyptq::int8::ref
