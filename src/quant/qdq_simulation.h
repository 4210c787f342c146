// Float simulation of a QDQ model on the fast FP32 kernels.
#pragma once
#include "ir/graph.h"

namespace tinyptq {

// g with every DequantizeLinear whose inputs are all initializers (quantized weights and biases) replaced
// by an initializer holding its float result w = (q − zero_point) · scale. Activation Q/DQ pairs stay, so
// running the result in Fp32Engine computes the same function as g, with Conv/Gemm on constant weights.
Graph fold_constant_dequantize(Graph g);

}  // namespace tinyptq
