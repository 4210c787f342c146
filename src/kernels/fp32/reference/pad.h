// Reference Pad (ONNX): out dim d = in_d + begin_d + end_d; y[i] = x[i − begin] where that is inside x,
// else by mode: constant → value; edge → x at the clamped index; reflect → x mirrored about the edge
// (index −j ↦ j, in_d − 1 + j ↦ in_d − 1 − j, the edge itself not repeated). Negative pads crop.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace tinyptq::fp32_ref {

struct PadParams {
  Shape in_shape, out_shape;
  std::vector<int64_t> begins;  // per dimension
  PadMode mode = PadMode::kConstant;
  float value = 0.0f;
};

// amounts = [begin_1..begin_r, end_1..end_r]. Throws Error for a wrong count, an empty or negative output
// dimension, negative pads outside constant mode, reflect pads ≥ the dimension, or edge/reflect padding of
// an empty dimension.
PadParams make_pad_params(const Shape& x, const std::vector<int64_t>& amounts, PadMode mode, float value);

void pad(const PadParams& p, const float* x, float* y);

}  // namespace tinyptq::fp32_ref
