// Reference unary activations with a smooth or piecewise-linear gate, float:
//   Sigmoid:     y = 1 / (1 + e^-x)
//   HardSigmoid: y = max(0, min(1, alpha·x + beta))       (ONNX defaults alpha 0.2, beta 0.5)
//   HardSwish:   y = x · max(0, min(1, x/6 + 1/2))         (HardSigmoid with alpha 1/6, beta 1/2, times x)
#pragma once
#include <cstdint>

#include "ir/graph.h"

namespace tinyptq::fp32_ref {

enum class ActivationKind { kSigmoid, kHardSigmoid, kHardSwish };

struct ActivationParams {
  ActivationKind kind = ActivationKind::kSigmoid;
  int64_t count = 0;
  float alpha = 0, beta = 0;  // the hard gate's slope and offset (unused by Sigmoid)
};

// Params for a Sigmoid, HardSigmoid or HardSwish node over count elements; throws for other ops.
ActivationParams activation_params(const Node& node, int64_t count);

// y[i] = f(x[i]) for i < count (NaN stays NaN). x and y may alias.
void activation(const ActivationParams& p, const float* x, float* y);

}  // namespace tinyptq::fp32_ref
