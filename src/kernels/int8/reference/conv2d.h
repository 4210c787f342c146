// Reference Conv2D: NHWC uint8 activations × int8 weights, int32 accumulator, per-channel requantization.
// Any stride, dilation, asymmetric padding and group count (depthwise included).
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::ref {

// Layout: data = OHWI [out_c][kh][kw][in_c/groups]. Folds the constant terms of
//   Σ (x̃ − zx)(w − zw) = Σ x̃·w − zw·Σ x̃ − zx·Σ w + K·zx·zw      (K = taps, x̃ = zx on padded taps)
// into bias[c] = b[c] − zx·Σ_taps w[c] + K·zx·zw[c]; zero_points is kept (non-empty) only if some zw ≠ 0.
void conv2d_pack(const ConvParams& p, const QuantizedWeights& w, PackedWeights* out);

size_t conv2d_scratch_bytes(const ConvParams& p);  // 0

// acc[c] = bias[c] + Σ_taps x̃·w[c] − zw[c]·Σ_taps x̃, then requantized (kernel_table.h).
void conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows, void* scratch);

}  // namespace tinyptq::int8::ref
