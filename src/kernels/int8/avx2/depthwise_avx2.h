// AVX2 depthwise Conv2D (groups = in_c = out_c): 16 channels per step, bit-exact with ref::conv2d.
// Per output pixel and channel block, acc = bias + Σ_taps x̃·w in int32 (x̃·w is exact in int16:
// |x̃·w| ≤ 255·128 = 32640), minus zw·Σ x̃ when some weight zero point is not 0, then requantize_float
// (v = float(acc)·M, clamp to [min − zy, max − zy], round half to even, + zy), as every int8 kernel.
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::avx2 {

// groups == in_c == out_c (channel multiplier 1), any window, stride, dilation and pads.
bool depthwise_supports(const ConvShape& s);

// ref::conv2d_pack's bias folding, then data = [kh·kw][Cp] with Cp = out_c rounded up to 16 (channels
// innermost; padding channels 0); bias, zero_points (if kept) and multipliers padded to Cp with zeros.
void depthwise_pack(const ConvParams& p, const QuantizedWeights& w, PackedWeights* out);

size_t depthwise_scratch_bytes(const ConvParams& p);  // 0

void depthwise_conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows,
                      void* scratch);

}  // namespace tinyptq::int8::avx2
