// Reference Softmax (ONNX opset-13 semantics: normalizes along one axis), float.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace tinyptq::fp32_ref {

struct SoftmaxParams {
  int64_t outer = 0, axis_size = 0, inner = 0;  // x viewed as [outer, axis_size, inner]
};

// axis in [−rank, rank−1]; negative counts from the end. Throws Error otherwise.
SoftmaxParams make_softmax_params(const Shape& x, int64_t axis);

// y = exp(x − max) / Σ exp(x − max) along the axis (max over the axis: numerically stable). exp is
// evaluated in float, the sum accumulated in double.
void softmax(const SoftmaxParams& p, const float* x, float* y);

}  // namespace tinyptq::fp32_ref
