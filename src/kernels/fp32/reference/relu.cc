#include "kernels/fp32/reference/relu.h"

namespace tinyptq::fp32_ref {

void relu(int64_t count, const float* x, float* y) {
  for (int64_t i = 0; i < count; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

}  // namespace tinyptq::fp32_ref
