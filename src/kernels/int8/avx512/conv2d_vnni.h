// AVX-512 VNNI Conv2D (vpdpbusd: u8 × s8 → int32, exact, no int16 saturation): NHWC uint8 activations ×
// int8 weights, groups = 1, any kernel, stride, dilation and padding. Bit-exact with ref::conv2d.
// Call run only when cpu_runs_avx512_files() (core/cpu_features.h; kernel_table.cc checks).
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

// The source the run kernels read: the image with its pads materialized, [rows][cols][c4], c4 = in_c
// rounded up to 4. Padded pixels hold zx in the in_c real channels (real 0) and 0 in the added channels
// (whose weights are 0), so every tap is a plain load and Σ of a window's bytes is the reference's Σ x̃.
// direct: no pads and c4 = in_c, the image itself is that source (no copy, no scratch).
struct PaddedSource {
  int64_t rows = 0, cols = 0, c4 = 0;
  bool direct = false;
};
PaddedSource padded_source(const ConvShape& s);
// The padded source in scratch (conv2d_scratch_bytes long) with padded rows [row_begin, row_end) of one
// NHWC image filled in; returns its first byte. The scratch keeps the source between calls: a header
// records the geometry and zero point whose border it holds, and a call with the same ones copies only
// the interior rows (the border never changes). New scratch must start zeroed (or differ from the header).
const uint8_t* padded_rows(const ConvShape& s, int32_t input_zero_point, const uint8_t* image, void* scratch,
                           int64_t row_begin, int64_t row_end);

size_t conv2d_scratch_bytes(const ConvParams& p);  // header + one padded source (0 when direct)

// Shapes conv2d_supports rejects (groups > 1) are packed and run as ref::conv2d does.
void conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows, void* scratch);

}  // namespace tinyptq::int8::avx512vnni
