// Per-tensor fake quantization of activations for the layer runner, bit-identical to qparams.h's
// fake_quantize (ONNX QuantizeLinear then DequantizeLinear): x ← (clamp(round_half_even(x / s) + zp,
// qmin, qmax) − zp)·s, NaN ↦ 0. The AVX2 variant divides and rounds in registers (vroundps with an
// explicit round-to-nearest-even, independent of the floating-point environment) and is chosen at run
// time; the portable one calls quantize_value.
#pragma once
#include <span>

#include "quant/qparams.h"

namespace tinyptq::adaround {

// Throws Error unless p is a valid per-tensor QParams.
void fake_quantize_tensor(std::span<float> x, const QParams& p);

}  // namespace tinyptq::adaround
