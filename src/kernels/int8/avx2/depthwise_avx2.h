// AVX2 depthwise Conv2D (groups = in_c = out_c): 16 channels per step, bit-exact with ref::conv2d.
// Per output pixel and channel block, acc = bias + Σ_taps x̃·w in int32, two taps per vpmaddwd (x̃ of taps
// 2q and 2q + 1 interleaved per channel; each product exact: |x̃·w| ≤ 255·128), minus zw·Σ x̃ when some
// weight zero point is not 0, then requantize_float
// (v = float(acc)·M, clamp to [min − zy, max − zy], round half to even, + zy), as every int8 kernel.
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::avx2 {

// groups == in_c == out_c (channel multiplier 1), any window, stride, dilation and pads.
bool depthwise_supports(const ConvShape& s);

// ref::conv2d_pack's bias folding, then data = int16 [Cp/16][tap pairs][2][8 × (w_2q, w_2q+1)], Cp = out_c
// rounded up to 16, each 16-channel block in vpmaddwd lane order ([0..3 | 8..11], [4..7 | 12..15]);
// bias, zero_points (if kept) and multipliers in the same order, padded to Cp with zeros.
void depthwise_pack(const ConvParams& p, const QuantizedWeights& w, PackedWeights* out);

size_t depthwise_scratch_bytes(const ConvParams& p);  // 0

void depthwise_conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows,
                      void* scratch);

}  // namespace tinyptq::int8::avx2
