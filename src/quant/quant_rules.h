// Per-op quantization rules: each row only *declares* which inputs of an op are activations to
// quantize, which is the weight (quantized per output channel along axis 0 of the canonical layout)
// and which the bias (int32, scale = s_x·s_w). One pass (qdq_rewrite) acts on these declarations.
#pragma once
#include <vector>

#include "ir/graph.h"

namespace tinyptq {

enum class QuantRole {
  kCompute,      // integer op: activation inputs and the output get their own quantization params
  kPassThrough,  // layout op: output reuses the input's params exactly (lossless)
  kFloat,        // stays float (reads dequantized inputs)
};

struct OpRule {
  QuantRole role = QuantRole::kFloat;
  std::vector<int> activation_inputs;  // input indices quantized as activations
  int weight_input = -1;               // input index of the weight initializer, or -1
  int bias_input = -1;                 // input index of the bias initializer, or -1
  bool fuses_relu = false;             // a following Relu/Clip(0,·) is folded into its output clamp
};

// The rule for an op type (kFloat for anything not listed).
OpRule quant_rule(Op op);

// The rule for a concrete node: a compute op whose declared weight is not an initializer, or whose
// activation input is a constant, falls back to kFloat.
OpRule node_rule(const Graph& g, const Node& n);

}  // namespace tinyptq
