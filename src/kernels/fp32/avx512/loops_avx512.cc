// The shared loops (portable/loops_impl.h) compiled for AVX-512.
#include "kernels/fp32/avx512/kernels_avx512.h"
#include "kernels/fp32/portable/loops_impl.h"

namespace tinyptq::fp32::avx512 {

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

}  // namespace tinyptq::fp32::avx512
