// AVX2 Conv2D: NHWC uint8 activations × int8 weights, groups = 1, bit-exact with ref::conv2d. Products are
// formed exactly by vpmaddwd on int16 values (no vpmaddubsw int16 saturation), on the padded source and
// tiles shared with the AVX-VNNI kernel (conv2d_ymm_tiles.h); scratch and supports are
// avx512vnni::conv2d_scratch_bytes/_supports. Call run only when cpu_runs_avx2_files()
// (kernel_table.cc does); pack is plain C++.
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::avx2 {

// bias, zero_points and multipliers exactly as ref::conv2d_pack (same folding). data holds int16 weights
// (little-endian, 2 bytes each), 128 bytes per (16 output channels, tap, quad of input channels):
// [ceil(out_c/16)][kh·kw][ceil(in_c/4)][2][16][2] — half 0 holds channel c's weights for inputs
// (4q, 4q + 2), half 1 for (4q + 1, 4q + 3), the pairs vpmaddwd meets with the input words the kernel
// makes from the broadcast quad (bytes 0, 2 and 1, 3). Padded channels hold 0. groups > 1: ref layout.
void conv2d_pack(const ConvParams& p, const QuantizedWeights& w, PackedWeights* out);

void conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows, void* scratch);

}  // namespace tinyptq::int8::avx2
