// Reference QuantizeLinear: float → uint8.
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::ref {

// y = clamp(round_half_even(x / scale) + zp, min, max); NaN → zp (as fp32_ref::quantize_linear).
void quantize(const QuantizeParams& p, const float* x, uint8_t* y, int64_t count);

}  // namespace tinyptq::int8::ref
