// Round-to-nearest weight quantization, per tensor or per output channel (axis 0), with the range from
// MinMax or from the MSE-optimal clipping search. AdaRound (adaround.h) replaces the rounding step.
#pragma once
#include "quant/qdq_rewrite.h"
#include "quant/recipe.h"

namespace tinyptq {

// Params for a float weight whose axis 0 is the output channel.
QParams weight_qparams(const Tensor& w, const QuantRecipe& recipe, int bits);

// q = clamp(round_half_even(w / s[c]) + zp[c]) for the given params.
QuantizedWeight quantize_weight(const Tensor& w, const QParams& params, int bits);

// Dequantized copy: s[c]·(q − zp[c]).
Tensor dequantize_weight(const QuantizedWeight& w);

}  // namespace tinyptq
