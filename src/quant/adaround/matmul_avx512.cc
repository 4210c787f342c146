// The matmul kernels with AVX-512F (this file alone is compiled with the AVX-512 flags). Every element runs
// exactly the chain of matmul_impl.h with a fused multiply-add, as in matmul_avx2.cc: the wider tiles only
// compute more elements at once, so the results equal the AVX2 variant's bit for bit.
#include <immintrin.h>

#include "quant/adaround/matmul_impl.h"

namespace tinyptq::adaround {

namespace {

struct FusedMAdd {
  static float apply(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
};

static_assert(impl::kColTile == 16 && impl::kLanes == 8);

// 4 rows × (16·H) columns of C; per inner index one broadcast of a[r, p] per row.
template <int H>
void nn_tile(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
             bool accumulate) {
  __m512 acc[4][H];
  for (int r = 0; r < 4; ++r)
    for (int h = 0; h < H; ++h)
      acc[r][h] = accumulate ? _mm512_loadu_ps(c + r * ldc + 16 * h) : _mm512_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    __m512 bv[H];
    for (int h = 0; h < H; ++h) bv[h] = _mm512_loadu_ps(b + p * ldb + 16 * h);
    for (int r = 0; r < 4; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * lda + p]);
      for (int h = 0; h < H; ++h) acc[r][h] = _mm512_fmadd_ps(av, bv[h], acc[r][h]);
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int h = 0; h < H; ++h) _mm512_storeu_ps(c + r * ldc + 16 * h, acc[r][h]);
}

// 4 rows of A against 2·P rows of B. Each zmm holds two dot products' eight lanes (rows j, j+1 of B in
// its low and high halves); a[r, q…q+7] is broadcast to both halves.
template <int P>
void nt_tile(int64_t l, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
             bool accumulate) {
  const int64_t l8 = l - l % 8;
  __m512 s[4][P];
  for (auto& row : s)
    for (auto& v : row) v = _mm512_setzero_ps();
  for (int64_t q = 0; q < l8; q += 8) {
    __m512 bv[P];
    for (int p = 0; p < P; ++p)
      bv[p] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(b + (2 * p) * ldb + q)),
                                 _mm256_loadu_ps(b + (2 * p + 1) * ldb + q), 1);
    for (int r = 0; r < 4; ++r) {
      const __m512 av = _mm512_broadcast_f32x8(_mm256_loadu_ps(a + r * lda + q));
      for (int p = 0; p < P; ++p) s[r][p] = _mm512_fmadd_ps(av, bv[p], s[r][p]);
    }
  }
  alignas(64) float lanes[16];
  for (int r = 0; r < 4; ++r)
    for (int p = 0; p < P; ++p) {
      _mm512_store_ps(lanes, s[r][p]);
      for (int half = 0; half < 2; ++half) {
        const int j = 2 * p + half;
        float sum = impl::combine_lanes(lanes + 8 * half);
        for (int64_t q = l8; q < l; ++q) sum = FusedMAdd::apply(a[r * lda + q], b[j * ldb + q], sum);
        c[r * ldc + j] = accumulate ? c[r * ldc + j] + sum : sum;
      }
    }
}

}  // namespace

void matmul_nn_avx512(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                      float* c, int64_t ldc, bool accumulate) {
  const int64_t n_tiled = n - n % 16, m_tiled = m - m % 4;
  for (int64_t j = 0; j < n_tiled;) {
    const int width = j + 32 <= n_tiled ? 32 : 16;
    for (int64_t i = 0; i < m_tiled; i += 4) {
      if (width == 32)
        nn_tile<2>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, accumulate);
      else
        nn_tile<1>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, accumulate);
    }
    for (int64_t i = m_tiled; i < m; ++i)
      for (int64_t jj = j; jj < j + width; jj += 16)
        impl::nn_row<FusedMAdd>(k, a + i * lda, b + jj, ldb, c + i * ldc + jj, accumulate);
    j += width;
  }
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = n_tiled; j < n; ++j)
      c[i * ldc + j] = impl::nn_element<FusedMAdd>(k, a + i * lda, b + j, ldb, accumulate ? c[i * ldc + j] : 0.0f);
}

void matmul_nt_avx512(int64_t m, int64_t n, int64_t l, const float* a, int64_t lda, const float* b, int64_t ldb,
                      float* c, int64_t ldc, bool accumulate) {
  const int64_t m_tiled = m - m % 4, n_tiled = n - n % 2;
  for (int64_t i = 0; i < m_tiled; i += 4)
    for (int64_t j = 0; j < n_tiled;) {
      if (j + 4 <= n_tiled) {
        nt_tile<2>(l, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, accumulate);
        j += 4;
      } else {
        nt_tile<1>(l, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, accumulate);
        j += 2;
      }
    }
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = (i < m_tiled ? n_tiled : 0); j < n; ++j) {
      const float sum = impl::nt_element<FusedMAdd>(l, a + i * lda, b + j * ldb);
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
    }
}

}  // namespace tinyptq::adaround
