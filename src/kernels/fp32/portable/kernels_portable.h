// Portable (baseline ISA) kernels: Gemm and elementwise loops, and preparing a GemmPlan.
#pragma once
#include "kernels/fp32/kernel_table.h"

namespace tinyptq::fp32::portable {

void gemm_run(const GemmPlan& p, const float* a, float* y, int64_t row_begin, int64_t row_end);
void clamp(const float* x, float* y, int64_t count, float lo, float hi);
void add_clamp(const float* a, const float* b, float* y, int64_t count, float lo, float hi);
void plane_mean(const float* x, float* y, int64_t size, int64_t begin, int64_t end);
void transpose2d(const float* x, float* y, int64_t rows, int64_t cols);

}  // namespace tinyptq::fp32::portable

namespace tinyptq::fp32 {

// b: B as given ([K][N], or [N][K] with trans_b); c: C (shape.has_c) or null. Requires !shape.trans_a.
GemmPlan make_gemm_plan(const fp32_ref::GemmParams& shape, const float* b, const float* c);

}  // namespace tinyptq::fp32
