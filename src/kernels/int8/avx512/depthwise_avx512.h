// AVX-512 VNNI depthwise Conv2D (groups = in_c = out_c), bit-exact with ref::conv2d. Call only when
// cpu_runs_avx512_files() (core/cpu_features.h).
//
// One zmm holds 64 byte lanes. Lane l of a block belongs to channel ch(l): l mod C when C divides 64
// ("flat": 64/C adjacent output pixels per vector), else 64·b + l (block b of 64 channels, one pixel).
// Per tap, vpdpbusd(acc_k, x & mask_k, w) with mask_k = byte k of every dword (k = 0..3) adds
// x[4i+k]·w[4i+k] to int32 lane i of acc_k: exact, no shuffle, and acc_k lane i is byte lane 4i + k.
// acc_k = bias + Σ_taps x̃·w − zw·Σ x̃ (x̃ = zx on padded taps), then requantize_float
// (v = float(acc)·M, clamp to [min − zy, max − zy], round half to even, + zy) and
// y = q_0 | q_1 << 8 | q_2 << 16 | q_3 << 24 puts every byte lane back in place.
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::avx512vnni {

// groups == in_c == out_c (channel multiplier 1), any window, stride, dilation and pads.
bool depthwise_supports(const ConvShape& s);

// ref::conv2d_pack's bias folding, then data = int8 [blocks][taps][64 lanes] (w[ch(l)][tap], 0 past C),
// bias, zero_points (if kept) and multipliers = [blocks][k = 0..3][16] (lane 4i + k at [k][i]).
void depthwise_pack(const ConvParams& p, const QuantizedWeights& w, PackedWeights* out);

size_t depthwise_scratch_bytes(const ConvParams& p);  // 0

void depthwise_conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows,
                      void* scratch);

}  // namespace tinyptq::int8::avx512vnni
