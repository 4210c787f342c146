// AVX-512 VNNI Conv2D (vpdpbusd: u8 × s8 → int32, exact, no int16 saturation): NHWC uint8 activations ×
// int8 weights, groups = 1, any kernel, stride, dilation and padding. Bit-exact with ref::conv2d.
// Call run only when __builtin_cpu_supports avx512f/bw/vl/vnni (kernel_table.cc does).
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::avx512vnni {

inline constexpr int64_t kBlock = 16;  // output channels per vector (16 int32 lanes)
inline constexpr int64_t kQuad = 4;    // input channels per vpdpbusd lane

bool conv2d_supports(const ConvShape& s);  // groups == 1

// bias, zero_points and multipliers exactly as ref::conv2d_pack (same folding). Layout of data:
// [ceil(out_c/16)][kh·kw][ceil(in_c/4)][16][4], element (oc, tap, ic) at
// ((oc/16·kh·kw + tap)·ceil(in_c/4) + ic/4)·64 + (oc%16)·4 + ic%4; padded channels hold 0.
void conv2d_pack(const ConvParams& p, const QuantizedWeights& w, PackedWeights* out);

size_t conv2d_scratch_bytes(const ConvParams& p);  // 0 (scratch may be null)

// Shapes conv2d_supports rejects (groups > 1) are packed and run as ref::conv2d does.
void conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows, void* scratch);

}  // namespace tinyptq::int8::avx512vnni
