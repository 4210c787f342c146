// Brings a float graph into the canonical form the quantizer works on: canonicalize() (identities
// removed, BatchNormalization folded into Conv, MatMul+Add → Gemm, constants folded), then every Gemm as
// Y = X·Wᵀ + C with alpha = beta = 1 and transB = 1 (weight [N, K], output channel on axis 0), and a
// MatMul with a constant 2-D weight as such a Gemm without bias.
#pragma once
#include "ir/graph.h"

namespace tinyptq {

Graph prepare_for_quantization(const Graph& model);

}  // namespace tinyptq
