// Gemm on the VNNI Conv2D: Y[rows][n] = A[rows][k] × W[n][k]ᵀ is a 1×1 convolution of a 1 × rows image
// with k channels into n channels, so it shares that kernel's packing, tiles and requantization (and its
// bit-exactness with the reference). Plain C++ wrappers; run only where the VNNI (or AVX2) conv runs.
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::avx512vnni {

void gemm_pack(const GemmParams& p, const QuantizedWeights& w, PackedWeights* out);
bool gemm_supports(const GemmParams& p);  // k % 4 == 0, or k ≤ 4092
size_t gemm_scratch_bytes(const GemmParams& p);  // 0
void gemm(const GemmParams& p, const uint8_t* a, uint8_t* y, int64_t rows, void* scratch);

}  // namespace tinyptq::int8::avx512vnni
