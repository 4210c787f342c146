// Reference DequantizeLinear: uint8 → float.
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::ref {

// y = float(x − zp) · scale.
void dequantize(const DequantizeParams& p, const uint8_t* x, float* y, int64_t count);

}  // namespace tinyptq::int8::ref
