// The shared loops (portable/loops_impl.h) compiled for AVX2.
#include "kernels/fp32/avx2/kernels_avx2.h"
#include "kernels/fp32/portable/loops_impl.h"

namespace tinyptq::fp32::avx2 {

void gemm_run(const GemmPlan& p, const float* a, float* y, int64_t row_begin, int64_t row_end) {
  gemm_loop(p, a, y, row_begin, row_end);
}
void clamp(const float* x, float* y, int64_t count, float lo, float hi) { clamp_loop(x, y, count, lo, hi); }
void add_clamp(const float* a, const float* b, float* y, int64_t count, float lo, float hi) {
  add_clamp_loop(a, b, y, count, lo, hi);
}

}  // namespace tinyptq::fp32::avx2
