// AVX-VNNI Conv2D (VEX-encoded ymm vpdpbusd: u8 × s8 → int32, exact, no int16 saturation) for CPUs with
// AVX-VNNI but no AVX-512: NHWC uint8 activations × int8 weights, groups = 1, any kernel, stride, dilation
// and padding. Bit-exact with ref::conv2d. It reads the VNNI kernel's weight layout and padded source
// (avx512/conv2d_vnni.h: pack, scratch and supports are avx512vnni::conv2d_pack/_scratch_bytes/_supports):
// one 64-byte line per (16 output channels, tap, quad) is two ymm of 8 channels × 4 input bytes.
// Call only when cpu_runs_avxvnni_files() (core/cpu_features.h; kernel_table.cc checks).
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::avxvnni {

// Shapes avx512vnni::conv2d_supports rejects (groups > 1) are packed and run as ref::conv2d does.
void conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows, void* scratch);

}  // namespace tinyptq::int8::avxvnni
