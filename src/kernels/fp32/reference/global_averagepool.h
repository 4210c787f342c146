// Reference GlobalAveragePool, float.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace tinyptq::fp32_ref {

struct GlobalAveragePoolParams {
  int64_t batch = 0, channels = 0, inner = 0;  // x viewed as [N, C, inner]
  Shape out_shape;                             // [N, C, 1, ..., 1], same rank as x
};

// x: [N, C, spatial...] with rank >= 3. Throws Error otherwise.
GlobalAveragePoolParams make_global_averagepool_params(const Shape& x);

// y[n,c] = (Σ_i x[n,c,i]) / inner, summed in float in index order.
void global_averagepool(const GlobalAveragePoolParams& p, const float* x, float* y);

}  // namespace tinyptq::fp32_ref
