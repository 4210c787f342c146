#include "kernels/int8/reference/add.h"

#include <cmath>

#include "quant/requant.h"

namespace tinyptq::int8::ref {

void add(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t count) {
  if (p.integer) {
    constexpr int32_t kShift = int32_t{1} << kAddLeftShift;
    for (int64_t i = 0; i < count; ++i) {
      const int32_t sa = multiply_by_quantized_multiplier((int32_t(a[i]) - p.a_zero_point) * kShift, p.a_fixed);
      const int32_t sb = multiply_by_quantized_multiplier((int32_t(b[i]) - p.b_zero_point) * kShift, p.b_fixed);
      y[i] = uint8_t(requantize_fixed(sa + sb, p.out_fixed, p.output.zero_point, p.output.min, p.output.max));
    }
    return;
  }
  const float lo = float(p.output.min - p.output.zero_point), hi = float(p.output.max - p.output.zero_point);
  for (int64_t i = 0; i < count; ++i) {
    float v = p.a_multiplier * float(int32_t(a[i]) - p.a_zero_point) +
              p.b_multiplier * float(int32_t(b[i]) - p.b_zero_point);
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    y[i] = uint8_t(int32_t(std::nearbyint(v)) + p.output.zero_point);
  }
}

}  // namespace tinyptq::int8::ref
