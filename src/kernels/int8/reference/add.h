// Reference quantized Add of two same-shape uint8 tensors.
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::ref {

// y = clamp(round_half_even(Ma·(a − za) + Mb·(b − zb)) + zy, min, max) in float, Ma = s_a/s_y,
// Mb = s_b/s_y: the float math of ONNX Runtime's QLinearAdd.
void add(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t count);

}  // namespace tinyptq::int8::ref
