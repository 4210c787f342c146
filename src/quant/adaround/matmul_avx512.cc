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

// The eight lane sums of 16 dot products, two per register (8 lanes each), reduced as combine_lanes does
// — ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)), the same adds in the same pairing, only 16 at a time:
//   level 1 pairs (s0+s1, s2+s3, …) of two registers, level 2 the pairs of pairs, level 3 the halves.
// Returns the 16 sums as [x0.lo … x3.lo, x0.hi … x3.hi, x4.lo … x7.lo, x4.hi … x7.hi] (lo/hi: the dot
// product in a register's low/high half).
inline __m512 combine_lanes16(const __m512* x) {
  __m512 u[4], v[2];
  for (int i = 0; i < 4; ++i)
    u[i] = _mm512_add_ps(_mm512_shuffle_ps(x[2 * i], x[2 * i + 1], 0x88), _mm512_shuffle_ps(x[2 * i], x[2 * i + 1], 0xDD));
  for (int i = 0; i < 2; ++i)
    v[i] = _mm512_add_ps(_mm512_shuffle_ps(u[2 * i], u[2 * i + 1], 0x88), _mm512_shuffle_ps(u[2 * i], u[2 * i + 1], 0xDD));
  return _mm512_add_ps(_mm512_shuffle_f32x4(v[0], v[1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(v[0], v[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

// 4 rows of A against 8 rows of B (32 dot products). s[h][j] holds rows 2h (low half) and 2h + 1 (high
// half) of A against row j of B: a[2h, q…q+7] and a[2h+1, q…q+7] share a register, b[j, q…q+7] is
// broadcast to both halves. The lane sums are reduced 16 at a time (combine_lanes16).
void nt_tile_4x8(int64_t l, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                 bool accumulate) {
  const int64_t l8 = l - l % 8;
  __m512 s[2][8];
  for (auto& row : s)
    for (auto& v : row) v = _mm512_setzero_ps();
  for (int64_t q = 0; q < l8; q += 8) {
    __m512 av[2];
    for (int h = 0; h < 2; ++h)
      av[h] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(a + (2 * h) * lda + q)),
                                 _mm256_loadu_ps(a + (2 * h + 1) * lda + q), 1);
    for (int j = 0; j < 8; ++j) {
      const __m512 bv = _mm512_broadcast_f32x8(_mm256_loadu_ps(b + j * ldb + q));
      s[0][j] = _mm512_fmadd_ps(av[0], bv, s[0][j]);
      s[1][j] = _mm512_fmadd_ps(av[1], bv, s[1][j]);
    }
  }
  // Row 2h's eight sums to the low half, row 2h + 1's to the high half.
  const __m512i rows = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15);
  for (int h = 0; h < 2; ++h) {
    const __m512 sum = _mm512_permutexvar_ps(rows, combine_lanes16(s[h]));
    float* c0 = c + (2 * h) * ldc;
    float* c1 = c0 + ldc;
    if (l8 == l) {  // no tail: C ← C + sum or sum, eight columns per row at once
      __m256 lo = _mm512_castps512_ps256(sum), hi = _mm512_extractf32x8_ps(sum, 1);
      if (accumulate) {
        lo = _mm256_add_ps(_mm256_loadu_ps(c0), lo);
        hi = _mm256_add_ps(_mm256_loadu_ps(c1), hi);
      }
      _mm256_storeu_ps(c0, lo);
      _mm256_storeu_ps(c1, hi);
      continue;
    }
    alignas(64) float sums[16];
    _mm512_store_ps(sums, sum);
    for (int half = 0; half < 2; ++half) {
      const int r = 2 * h + half;
      for (int j = 0; j < 8; ++j) {
        float v = sums[8 * half + j];
        for (int64_t q = l8; q < l; ++q) v = FusedMAdd::apply(a[r * lda + q], b[j * ldb + q], v);
        c[r * ldc + j] = accumulate ? c[r * ldc + j] + v : v;
      }
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
  // Rows of B 4 KiB apart (ldb a multiple of 1024 floats) share one L1 set: the 4×8 tile's eight B rows
  // and four A rows would exceed its eight ways, so such B runs 4×4 (callers pad ldb to avoid it).
  const bool wide = ldb % 1024 != 0;
  for (int64_t i = 0; i < m_tiled; i += 4)
    for (int64_t j = 0; j < n_tiled;) {
      if (wide && j + 8 <= n_tiled) {
        nt_tile_4x8(l, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, accumulate);
        j += 8;
      } else if (j + 4 <= n_tiled) {
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
