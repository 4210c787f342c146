// AVX2 Conv2D: NHWC uint8 activations × int8 weights, groups = 1, bit-exact with ref::conv2d. Products are
// formed exactly by vpmaddwd on int16-widened values (no vpmaddubsw int16 saturation). Weights use the
// VNNI kernel's layout: pack, scratch and supports are avx512vnni::conv2d_pack/_scratch_bytes/_supports.
// Call only when __builtin_cpu_supports("avx2") (kernel_table.cc does).
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::avx2 {

void conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows, void* scratch);

}  // namespace tinyptq::int8::avx2
