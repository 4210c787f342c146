#include "kernels/fp32/portable/kernels_portable.h"

#include "kernels/fp32/portable/loops_impl.h"

namespace tinyptq::fp32 {

namespace portable {

void gemm_run(const GemmPlan& p, const float* a, float* y, int64_t row_begin, int64_t row_end) {
  gemm_loop(p, a, y, row_begin, row_end);
}
void clamp(const float* x, float* y, int64_t count, float lo, float hi) { clamp_loop(x, y, count, lo, hi); }
void add_clamp(const float* a, const float* b, float* y, int64_t count, float lo, float hi) {
  add_clamp_loop(a, b, y, count, lo, hi);
}
void plane_mean(const float* x, float* y, int64_t size, int64_t begin, int64_t end) {
  plane_mean_loop(x, y, size, begin, end);
}
void transpose2d(const float* x, float* y, int64_t rows, int64_t cols) { transpose2d_loop(x, y, rows, cols); }

}  // namespace portable

GemmPlan make_gemm_plan(const fp32_ref::GemmParams& shape, const float* b, const float* c) {
  GemmPlan p;
  p.shape = shape;
  const int64_t n = shape.n, k = shape.k;
  p.packed_b.resize(size_t(n * k));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < k; ++i) p.packed_b[j * k + i] = shape.trans_b ? b[j * k + i] : b[i * n + j];
  if (shape.has_c && shape.beta != 0.0f && c) {
    p.c_per_row = shape.c_row_stride != 0;
    const int64_t rows = p.c_per_row ? shape.m : 1;
    p.c.resize(size_t(rows * n));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < n; ++j)
        p.c[i * n + j] = shape.beta * c[i * shape.c_row_stride + j * shape.c_col_stride];
  }
  return p;
}

}  // namespace tinyptq::fp32
