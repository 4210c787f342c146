// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization
// and Bias Correction"): for consecutive Conv → ReLU → Conv pairs (or Conv → Conv), scale output channel i
// of the first layer by 1/s_i and input channel i of the second by s_i, with
//   s_i = √(r1_i · r2_i) / r2_i = √(r1_i / r2_i),
// r1_i = max |W1[i, …]| (output channel i of the first layer), r2_i = max |W2[:, i, …]| (input channel i of
// the second), so that both ranges become √(r1_i · r2_i). The bias of the first layer is scaled too
// (b1_i / s_i). ReLU is positively homogeneous (relu(x/s) = relu(x)/s for s > 0), so the float function
// is unchanged. A pair qualifies only when each intermediate value has exactly one consumer and is not
// a graph output (so values feeding a residual Add, or several layers, are left alone), both layers are
// 2-D group-1 Conv nodes with constant weights used by no other node, and the channel counts match.
// Chains (a layer that is the second of one pair and the first of the next) are equalized over several
// rounds until every s_i is within 1e-6 of 1 (at most 20 rounds). Channels with a zero range keep s = 1.
#pragma once
#include "ir/graph.h"

namespace tinyptq {

// Equalizes every eligible pair in a prepared graph (prepare_for_quantization) in place. Returns the
// number of pairs equalized.
int equalize_cross_layer(Graph& g);

}  // namespace tinyptq
