// Empirical bias correction (Nagel et al. 2019, §4.2): quantizing weights (and the layer's input)
// shifts the expected output; per output channel c, with x the FP32 input of the layer on the
// calibration images and x̂ its quantized counterpart,
//   ε[c] = E[(W̃ ∗ x̂)[c]] − E[(W ∗ x)[c]]   (mean over images and spatial positions),
// and the corrected bias is b[c] − ε[c]. The layer is linear in its input, so for Conv/Gemm
//   ε = W̃·m̂ − W·m,   m̂, m = the mean im2col columns of x̂ and x
// (no convolution needed). x̂ is either Q(x) (the FP32 input fake-quantized) or, better, the input the
// already-quantized preceding layers produce, which also corrects their accumulated shift.
#pragma once
#include <map>

#include "quant/quantizer.h"

namespace tinyptq {

// x̂ = Q(x) from the calibration cache.
Tensor corrected_bias(const Calibration& calib, const QuantLayer& layer,
                      const std::map<std::string, QParams>& act, const QuantizedWeight& weight);

// x_hat, x: the layer's quantized and FP32 inputs on the same images; weight: the dequantized W̃.
Tensor corrected_bias(const Graph& g, const QuantLayer& layer, const Tensor& x_hat, const Tensor& x,
                      const Tensor& weight);

// Runs one Conv/Gemm node of `g` alone on `input` with the given weight and no bias (float engine).
Tensor run_layer(const Graph& g, const QuantLayer& layer, const Tensor& input, const Tensor& weight);

// Copy of x quantized and dequantized with per-tensor params p.
Tensor fake_quantized(const Tensor& x, const QParams& p);

}  // namespace tinyptq
