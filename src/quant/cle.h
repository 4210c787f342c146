// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization
// and Bias Correction"): for consecutive Conv → ReLU → Conv pairs, scale output channel i of the first
// layer by 1/s_i and input channel i of the second by s_i with s_i = √(r1_i / r2_i) / ... so both
// per-channel weight ranges become equal. ReLU is positively homogeneous, so the float function is
// unchanged. Values whose consumers cross a residual Add are left alone (the Add mixes channels of two
// branches that would need the same scaling).
#pragma once
#include "ir/graph.h"

namespace tinyptq {

// Equalizes every eligible pair in a prepared graph (prepare_for_quantization) in place. Returns the
// number of pairs equalized.
int equalize_cross_layer(Graph& g);

}  // namespace tinyptq
