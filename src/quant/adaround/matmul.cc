#include "quant/adaround/matmul.h"

#include "core/cpu_features.h"
#include "quant/adaround/matmul_impl.h"

namespace tinyptq::adaround {

// Defined in matmul_avx2.cc and matmul_avx512.cc.
void matmul_nn_avx2(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                    float* c, int64_t ldc, bool accumulate);
void matmul_nt_avx2(int64_t m, int64_t n, int64_t l, const float* a, int64_t lda, const float* b, int64_t ldb,
                    float* c, int64_t ldc, bool accumulate);
void matmul_nn_avx512(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                      float* c, int64_t ldc, bool accumulate);
void matmul_nt_avx512(int64_t m, int64_t n, int64_t l, const float* a, int64_t lda, const float* b, int64_t ldb,
                      float* c, int64_t ldc, bool accumulate);

namespace {

struct PlainMAdd {
  static float apply(float a, float b, float c) { return a * b + c; }
};

}  // namespace

bool matmul_variant_supported(MatmulVariant v) {
  const bool avx2 = cpu_runs_avx2_files(), avx512 = cpu_runs_avx512_files();
  return v == MatmulVariant::kPortable || (v == MatmulVariant::kAvx2 && avx2) || (v == MatmulVariant::kAvx512 && avx512);
}

MatmulVariant best_matmul_variant() {
  static const MatmulVariant v = matmul_variant_supported(MatmulVariant::kAvx512) ? MatmulVariant::kAvx512
                                 : matmul_variant_supported(MatmulVariant::kAvx2) ? MatmulVariant::kAvx2
                                                                                  : MatmulVariant::kPortable;
  return v;
}

void matmul_nn_with(MatmulVariant v, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                    int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  switch (v) {
    case MatmulVariant::kAvx512: return matmul_nn_avx512(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    case MatmulVariant::kAvx2: return matmul_nn_avx2(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    case MatmulVariant::kPortable: return impl::matmul_nn<PlainMAdd>(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
  }
}

void matmul_nt_with(MatmulVariant v, int64_t m, int64_t n, int64_t l, const float* a, int64_t lda, const float* b,
                    int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  switch (v) {
    case MatmulVariant::kAvx512: return matmul_nt_avx512(m, n, l, a, lda, b, ldb, c, ldc, accumulate);
    case MatmulVariant::kAvx2: return matmul_nt_avx2(m, n, l, a, lda, b, ldb, c, ldc, accumulate);
    case MatmulVariant::kPortable: return impl::matmul_nt<PlainMAdd>(m, n, l, a, lda, b, ldb, c, ldc, accumulate);
  }
}

void matmul_nn(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
               float* c, int64_t ldc, bool accumulate) {
  matmul_nn_with(best_matmul_variant(), m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

void matmul_nt(int64_t m, int64_t n, int64_t l, const float* a, int64_t lda, const float* b, int64_t ldb,
               float* c, int64_t ldc, bool accumulate) {
  matmul_nt_with(best_matmul_variant(), m, n, l, a, lda, b, ldb, c, ldc, accumulate);
}

const char* matmul_variant() {
  switch (best_matmul_variant()) {
    case MatmulVariant::kAvx512: return "avx512";
    case MatmulVariant::kAvx2: return "avx2";
    case MatmulVariant::kPortable: break;
  }
  return "portable";
}

}  // namespace tinyptq::adaround
