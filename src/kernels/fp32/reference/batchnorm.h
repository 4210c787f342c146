// Reference BatchNormalization (inference mode), float, channel axis 1.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace tinyptq::fp32_ref {

struct BatchNormParams {
  int64_t batch = 0, channels = 0, inner = 0;  // x viewed as [N, C, inner]
  float epsilon = 1e-5f;
};

// x: [N, C, ...] (rank >= 2); scale, bias, mean, var: [C] each. Throws Error on inconsistent shapes.
BatchNormParams make_batchnorm_params(const Shape& x, const Shape& scale, const Shape& bias,
                                      const Shape& mean, const Shape& var, float epsilon);

// y[n,c,i] = (x[n,c,i] − mean[c]) · scale[c] / √(var[c] + ε) + bias[c], evaluated as x·a[c] + b[c] with
// a = scale/√(var+ε), b = bias − mean·a (the per-channel coefficients in float).
void batchnorm(const BatchNormParams& p, const float* x, const float* scale, const float* bias,
               const float* mean, const float* var, float* y);

}  // namespace tinyptq::fp32_ref
