// Reference Gemm: uint8 activations [rows][k] × int8 weights, int32 accumulator, per-column requantization.
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::ref {

// Layout: data = [n][k] (each output's weights contiguous). Folds the constant terms of
//   Σ_k (a − za)(w − zw) = Σ a·w − zw·Σ a − za·Σ w + k·za·zw
// into bias[j] = b[j] − za·Σ_k w[j] + k·za·zw[j]; zero_points is kept only if some zw ≠ 0.
void gemm_pack(const GemmParams& p, const QuantizedWeights& w, PackedWeights* out);

size_t gemm_scratch_bytes(const GemmParams& p);  // 0

// acc[j] = bias[j] + Σ_k a·w[j] − zw[j]·Σ_k a, then requantized (kernel_table.h).
void gemm(const GemmParams& p, const uint8_t* a, uint8_t* y, int64_t rows, void* scratch);

}  // namespace tinyptq::int8::ref
