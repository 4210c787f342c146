#include "kernels/fp32/reference/activation.h"

#include <cmath>

#include "core/error.h"

namespace tinyptq::fp32_ref {

ActivationParams activation_params(const Node& node, int64_t count) {
  switch (node.op) {
    case Op::kSigmoid: return {ActivationKind::kSigmoid, count, 0, 0};
    case Op::kHardSigmoid:
      return {ActivationKind::kHardSigmoid, count, node.attrs.hard_alpha, node.attrs.hard_beta};
    case Op::kHardSwish: return {ActivationKind::kHardSwish, count, 1.0f / 6.0f, 0.5f};
    default: throw Error(std::string(op_name(node.op)) + " is not an activation");
  }
}

namespace {
// 1/(1+e^-x) without overflow: for x < 0 use e^x/(1+e^x).
float sigmoid(float x) {
  if (x >= 0) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}
// max(0, min(1, alpha·x + beta)); NaN propagates (comparisons with NaN are false).
float hard_gate(float x, float alpha, float beta) {
  float v = alpha * x + beta;
  if (v < 0) v = 0;
  if (v > 1) v = 1;
  return v;
}
}  // namespace

void activation(const ActivationParams& p, const float* x, float* y) {
  switch (p.kind) {
    case ActivationKind::kSigmoid:
      for (int64_t i = 0; i < p.count; ++i) y[i] = sigmoid(x[i]);
      return;
    case ActivationKind::kHardSigmoid:
      for (int64_t i = 0; i < p.count; ++i) y[i] = hard_gate(x[i], p.alpha, p.beta);
      return;
    case ActivationKind::kHardSwish:
      for (int64_t i = 0; i < p.count; ++i) y[i] = x[i] * hard_gate(x[i], p.alpha, p.beta);
      return;
  }
}

}  // namespace tinyptq::fp32_ref
