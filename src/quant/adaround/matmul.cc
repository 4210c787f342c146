#include "quant/adaround/matmul.h"

#include "quant/adaround/matmul_impl.h"

namespace tinyptq::adaround {

// Defined in matmul_avx2.cc.
void matmul_nn_avx2(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                    float* c, int64_t ldc, bool accumulate);
void matmul_nt_avx2(int64_t m, int64_t n, int64_t l, const float* a, int64_t lda, const float* b, int64_t ldb,
                    float* c, int64_t ldc, bool accumulate);

namespace {

struct PlainMAdd {
  static float apply(float a, float b, float c) { return a * b + c; }
};

bool use_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

}  // namespace

void matmul_nn(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
               float* c, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (use_avx2()) return matmul_nn_avx2(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
  impl::matmul_nn<PlainMAdd>(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

void matmul_nt(int64_t m, int64_t n, int64_t l, const float* a, int64_t lda, const float* b, int64_t ldb,
               float* c, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (use_avx2()) return matmul_nt_avx2(m, n, l, a, lda, b, ldb, c, ldc, accumulate);
  impl::matmul_nt<PlainMAdd>(m, n, l, a, lda, b, ldb, c, ldc, accumulate);
}

const char* matmul_variant() { return use_avx2() ? "avx2" : "portable"; }

}  // namespace tinyptq::adaround
