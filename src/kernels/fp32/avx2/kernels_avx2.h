// AVX2 + FMA kernels (files *_avx2.cc, compiled with the AVX2 flags). Call only when
// cpu_runs_avx2_files() (core/cpu_features.h; kernel_table.cc checks).
#pragma once
#include "kernels/fp32/kernel_table.h"

namespace tinyptq::fp32::avx2 {

inline constexpr int kConvMr = 6;  // output channels per tile
inline constexpr int kConvNv = 1;  // one 16-pixel word = two ymm: 12 accumulators

void conv_run(const ConvPlan& p, const float* x, const float* residual, float* y, int64_t images,
              int64_t item_begin, int64_t item_end, const float* planes, float* scratch);
// Phase planes (PhasePlanesFn): the same bits as the portable build_phase_planes.
void phase_planes(const ConvPlan& p, const float* x, float* planes, int64_t c_begin, int64_t c_end);
void gemm_run(const GemmPlan& p, const float* a, float* y, int64_t row_begin, int64_t row_end);
void clamp(const float* x, float* y, int64_t count, float lo, float hi);
void add_clamp(const float* a, const float* b, float* y, int64_t count, float lo, float hi);
void plane_mean(const float* x, float* y, int64_t size, int64_t begin, int64_t end);
void transpose2d(const float* x, float* y, int64_t rows, int64_t cols);

}  // namespace tinyptq::fp32::avx2
