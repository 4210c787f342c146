// The matmul kernels with AVX2 + FMA intrinsics (this file alone is compiled with -mavx2 -mfma). Every
// element runs exactly the chain defined in matmul_impl.h with a fused multiply-add; the edge rows and
// columns use the template itself with the same fused multiply-add, so tiling never changes a value.
#include <immintrin.h>

#include "quant/adaround/matmul_impl.h"

namespace tinyptq::adaround {

namespace {

struct FusedMAdd {
  static float apply(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
};

static_assert(impl::kRowTile == 4 && impl::kColTile == 16 && impl::kLanes == 8);
static_assert(impl::kNtRows == 4 && impl::kNtCols == 2);

// 4 rows × 16 columns of C.
void nn_tile(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
             bool accumulate) {
  __m256 acc[4][2];
  for (int r = 0; r < 4; ++r)
    for (int h = 0; h < 2; ++h)
      acc[r][h] = accumulate ? _mm256_loadu_ps(c + r * ldc + 8 * h) : _mm256_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b + p * ldb), b1 = _mm256_loadu_ps(b + p * ldb + 8);
    for (int r = 0; r < 4; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * lda + p);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int h = 0; h < 2; ++h) _mm256_storeu_ps(c + r * ldc + 8 * h, acc[r][h]);
}

// 4 rows of A against 2 rows of B: eight dot products, eight lanes each.
void nt_tile(int64_t l, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
             bool accumulate) {
  const int64_t l8 = l - l % 8;
  __m256 s[4][2];
  for (auto& row : s)
    for (auto& v : row) v = _mm256_setzero_ps();
  for (int64_t q = 0; q < l8; q += 8) {
    const __m256 b0 = _mm256_loadu_ps(b + q), b1 = _mm256_loadu_ps(b + ldb + q);
    for (int r = 0; r < 4; ++r) {
      const __m256 av = _mm256_loadu_ps(a + r * lda + q);
      s[r][0] = _mm256_fmadd_ps(av, b0, s[r][0]);
      s[r][1] = _mm256_fmadd_ps(av, b1, s[r][1]);
    }
  }
  alignas(32) float lanes[8];
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 2; ++j) {
      _mm256_store_ps(lanes, s[r][j]);
      float sum = impl::combine_lanes(lanes);
      for (int64_t q = l8; q < l; ++q) sum = FusedMAdd::apply(a[r * lda + q], b[j * ldb + q], sum);
      c[r * ldc + j] = accumulate ? c[r * ldc + j] + sum : sum;
    }
}

}  // namespace

void matmul_nn_avx2(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                    float* c, int64_t ldc, bool accumulate) {
  const int64_t n_tiled = n - n % 16, m_tiled = m - m % 4;
  for (int64_t j = 0; j < n_tiled; j += 16) {
    for (int64_t i = 0; i < m_tiled; i += 4) nn_tile(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, accumulate);
    for (int64_t i = m_tiled; i < m; ++i)
      impl::nn_row<FusedMAdd>(k, a + i * lda, b + j, ldb, c + i * ldc + j, accumulate);
  }
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = n_tiled; j < n; ++j)
      c[i * ldc + j] = impl::nn_element<FusedMAdd>(k, a + i * lda, b + j, ldb, accumulate ? c[i * ldc + j] : 0.0f);
}

void matmul_nt_avx2(int64_t m, int64_t n, int64_t l, const float* a, int64_t lda, const float* b, int64_t ldb,
                    float* c, int64_t ldc, bool accumulate) {
  const int64_t m_tiled = m - m % 4, n_tiled = n - n % 2;
  for (int64_t i = 0; i < m_tiled; i += 4)
    for (int64_t j = 0; j < n_tiled; j += 2) nt_tile(l, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, accumulate);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = (i < m_tiled ? n_tiled : 0); j < n; ++j) {
      const float sum = impl::nt_element<FusedMAdd>(l, a + i * lda, b + j * ldb);
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
    }
}

}  // namespace tinyptq::adaround
