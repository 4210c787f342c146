// AdaRound (Nagel et al. 2020, "Up or Down? Adaptive Rounding for Post-Training Quantization"): learns,
// per weight, whether to round down or up by minimising the layer's output reconstruction error
//   ‖W̃ Q(x) − W x‖²  +  λ Σ (1 − |2h(V) − 1|^β),   W̃ = s·(clamp(⌊W/s⌋ + h(V) + zp) − zp),
// h(V) = clamp(σ(V)(ζ − γ) + γ, 0, 1) (rectified sigmoid), β annealed from 20 to 2.
#pragma once
#include <map>

#include "quant/quantizer.h"

namespace tinyptq {

QuantizedWeight adaround_weight(const Calibration& calib, const QuantLayer& layer,
                                const std::map<std::string, QParams>& act, const QParams& params, int bits,
                                const QuantRecipe& recipe);

}  // namespace tinyptq
