// Empirical bias correction (Nagel et al. 2019, §4.2): quantizing weights (and the layer's input)
// shifts the expected output; per output channel c, with x the FP32 input of the layer on the
// calibration images and Q(x) its quantized version,
//   ε[c] = E[(W̃ ∗ Q(x))[c]] − E[(W ∗ x)[c]]   (mean over images and spatial positions),
// and the corrected bias is b[c] − ε[c].
#pragma once
#include <map>

#include "quant/quantizer.h"

namespace tinyptq {

Tensor corrected_bias(const Calibration& calib, const QuantLayer& layer,
                      const std::map<std::string, QParams>& act, const QuantizedWeight& weight);

// Runs one Conv/Gemm node of `g` alone on `input` with the given weight and no bias (float engine).
Tensor run_layer(const Graph& g, const QuantLayer& layer, const Tensor& input, const Tensor& weight);

// Copy of x quantized and dequantized with per-tensor params p.
Tensor fake_quantized(const Tensor& x, const QParams& p);

}  // namespace tinyptq
