// Reference QuantizeLinear / DequantizeLinear as float simulation (per-tensor or per-axis). Quantized values
// are held widened to int64 (Tensor::i).
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace tinyptq::fp32_ref {

struct QuantParams {
  int64_t outer = 0, axis_size = 1,
          inner = 0;             // x viewed as [outer, axis_size, inner]; per-tensor: axis_size 1
  bool per_axis = false;         // scale/zero point indexed by the axis coordinate
  int64_t qmin = 0, qmax = 255;  // saturation range of the quantized type
};

// scale: scalar or [1] (per-tensor) or [x[axis]] (per-axis, axis in [−r, r−1]); zero_point (nullable) must
// have the scale's shape. qtype: kUint8 / kInt8 (QuantizeLinear output), or also kInt32 for
// DequantizeLinear input. Throws Error on inconsistent shapes.
QuantParams make_quant_params(const Shape& x, const Shape& scale, const Shape* zero_point, int64_t axis,
                              DType qtype);

// q = saturate(round_half_even(x / scale) + zero_point) into [qmin, qmax]; NaN maps to zero_point.
// zero_point may be null (0).
void quantize_linear(const QuantParams& p, const float* x, const float* scale, const int64_t* zero_point,
                     int64_t* y);

// y = (q − zero_point) · scale, in float. zero_point may be null (0).
void dequantize_linear(const QuantParams& p, const int64_t* q, const float* scale, const int64_t* zero_point,
                       float* y);

}  // namespace tinyptq::fp32_ref
