// AVX2 versions of the int8 elementwise and pooling kernels, bit-exact with the reference ones
// (kernels/int8/reference): the same float operations per element, the reference's NaN behaviour in the
// clamps, cvtps2dq rounding half to even. 8 elements per vector; the Add/Quantize/Dequantize tails
// run the reference code, the pools' channel tails a partial vector.
// Call only when cpu_runs_avx2_files() (core/cpu_features.h).
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::avx2 {

void add(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t count);
void quantize(const QuantizeParams& p, const float* x, uint8_t* y, int64_t count);
void dequantize(const DequantizeParams& p, const uint8_t* x, float* y, int64_t count);
void global_avgpool(const GlobalAvgPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images);
void avgpool(const AvgPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows);

}  // namespace tinyptq::int8::avx2
