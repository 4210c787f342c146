// Reference Relu, float.
#pragma once
#include <cstdint>

namespace tinyptq::fp32_ref {

// y[i] = max(x[i], 0) for i < count (NaN stays NaN). x and y may alias.
void relu(int64_t count, const float* x, float* y);

}  // namespace tinyptq::fp32_ref
